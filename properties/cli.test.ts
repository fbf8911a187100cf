/**
 * The built command line (bin/icspec.js): principal, account-id, replay, simulate's argument
 * checks and drun, their exit codes (0 conforms, 1 divergence, 2 bad input/usage) and their
 * one-line errors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleLedgerTrace, updateAt } from './arbitraries-itf.js';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const FIXTURES = join(ROOT, 'properties', 'fixtures');

/** Newest modification time of any file under src/. */
const newestSrc = (dir: string): number =>
  readdirSync(dir).reduce((m, e) => {
    const p = join(dir, e);
    const st = statSync(p);
    return Math.max(m, st.isDirectory() ? newestSrc(p) : st.mtimeMs);
  }, 0);

const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'icspec.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);
const noStack = (s: string) => {
  expect(s).not.toMatch(/^\s+at /m);
  expect(s).not.toMatch(/Error:.*\n\s+at /);
};

let dir: string;
const file = (name: string) => join(dir, name);

/** Malformed trace files, each with the JSON pointer its error line must name. */
const BAD: ReadonlyArray<{ name: string; content: (t: unknown) => string; pointer: string }> = [
  { name: 'bad-not-json.itf.json', content: () => '{"vars": [', pointer: '/' },
  { name: 'bad-machine.itf.json', content: (t) => JSON.stringify(updateAt(t, ['#meta', 'machine'], () => 'nns')), pointer: '/#meta/machine' },
  { name: 'bad-range.itf.json', content: (t) => JSON.stringify(updateAt(t, ['states', '1', 'last_action', 'value', 'now'], () => ({ '#bigint': '18446744073709551616' }))), pointer: '/states/1/last_action/value/now' },
  {
    name: 'bad-principal.itf.json',
    content: (t) => JSON.stringify(updateAt(t, ['states', '2', 'last_action', 'value', 'caller'], (s) => (s as string).toUpperCase())),
    pointer: '/states/2/last_action/value/caller',
  },
  { name: 'bad-first-action.itf.json', content: (t) => JSON.stringify(updateAt(t, ['states', '0', 'last_action', 'tag'], () => 'Transfer')), pointer: '/states/0/last_action/tag' },
];

beforeAll(() => {
  const stale = () => !existsSync(MAIN) || statSync(MAIN).mtimeMs < newestSrc(join(ROOT, 'src'));
  if (stale()) {
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
    } catch (e) {
      // tsc still emits on type errors (those are `npm run typecheck`'s to report); fail only on no output
      if (stale()) throw e;
    }
  }
  dir = mkdtempSync(join(tmpdir(), 'icspec-cli-'));
  const t = sampleLedgerTrace();
  writeFileSync(file('good.itf.json'), JSON.stringify(t));
  // one altered value: the total supply after the legacy transfer (step 2)
  writeFileSync(file('diverges.itf.json'), JSON.stringify(updateAt(t, ['states', '2', 'total_supply'], () => ({ '#bigint': '123' }))));
  for (const b of BAD) writeFileSync(file(b.name), b.content(t));
  writeFileSync(file('ignored.json'), 'not a trace, and not *.itf.json');
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('icspec principal / account-id', () => {
  it('[PRN-TEXT.1] [PRN-CLASS.1] [PRN-CANISTER-ID.1] principal prints text, hex and class for text and hex inputs', () => {
    const cases: Array<[string, string, string, string]> = [
      ['ryjl3-tyaaa-aaaaa-aaaba-cai', 'ryjl3-tyaaa-aaaaa-aaaba-cai', '00000000000000020101', 'opaque'],
      ['2vxsx-fae', '2vxsx-fae', '04', 'anonymous'],
      ['aaaaa-aa', 'aaaaa-aa', '', 'management'],
      ['0x04', '2vxsx-fae', '04', 'anonymous'],
      ['abcd01', 'em77e-bvlzu-aq', 'abcd01', 'opaque'],
      ['00000000000000020101', 'ryjl3-tyaaa-aaaaa-aaaba-cai', '00000000000000020101', 'opaque'],
      ['RYJL3-TYAAA-AAAAA-AAABA-CAI', 'ryjl3-tyaaa-aaaaa-aaaba-cai', '00000000000000020101', 'opaque'],
    ];
    for (const [input, text, hex, cls] of cases) {
      const r = run('principal', input);
      expect(r.code, input).toBe(0);
      expect(r.stderr).toBe('');
      const out = lines(r.stdout).map((l) => l.replace(/\s+/g, ' ').trim());
      expect(out).toEqual([`text: ${text}`, `hex: ${hex}`.trim(), `class: ${cls}`]);
    }
  });

  it('[PRN-PARSE.1] [PRN-BYTES.1] an invalid principal exits 2 with one error line and no stack trace', () => {
    for (const input of ['ryjl3-tyaaa-aaaaa-aaaba-caj', 'not a principal', '2vxsxfae', `0x${'00'.repeat(30)}`]) {
      const r = run('principal', input);
      expect(r.code, input).toBe(2);
      expect(r.stdout).toBe('');
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: invalid principal/);
      noStack(r.stderr);
    }
    const usage = run('principal');
    expect(usage.code).toBe(2);
    expect(lines(usage.stderr)).toHaveLength(1);
    noStack(usage.stderr);
  });

  it('[LED-ACCOUNT-ID.1] [LED-ACCOUNT-DEFAULT.1] account-id prints the published account identifiers', () => {
    const anon = run('account-id', '2vxsx-fae');
    expect(anon).toEqual({ code: 0, stdout: '1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc79\n', stderr: '' });
    expect(run('account-id', 'ryjl3-tyaaa-aaaaa-aaaba-cai').stdout.trim()).toBe('883eef7c44be51afe4a4420d4df4beff708f3cf2f5de5efcc9f58680bb0f3690');
    expect(run('account-id', '2vxsx-fae', '--subaccount', `${'00'.repeat(31)}01`).stdout.trim()).toBe('b8fab0be4ad596a3739ab93e7316a8647ee72e167709441da49ce9171828629d');
    expect(run('account-id', '2vxsx-fae', '--subaccount', '00'.repeat(32)).stdout.trim()).toBe('1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc79');
    const badSub = run('account-id', '2vxsx-fae', '--subaccount', '00'.repeat(33));
    expect(badSub.code).toBe(2);
    expect(lines(badSub.stderr)).toHaveLength(1);
    noStack(badSub.stderr);
  });
});

describe('icspec replay', () => {
  it('[TRC-REPLAY.1] [TRC-INIT.1] a valid trace conforms: exit 0, reported as conforms', () => {
    const r = run('replay', file('good.itf.json'), join(FIXTURES, 'ledger-mint-burn.itf.json'));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/good\.itf\.json\s+ledger\s+5\s+conforms/);
    expect(r.stdout).toMatch(/ledger-mint-burn\.itf\.json\s+ledger\s+3\s+conforms/);
    expect(r.stdout).toContain('2 traces, 8 steps: 2 conform, 0 diverge, 0 bad input');
  });

  it('[TRC-DIVERGENCE.1] [TRC-REPLAY.1] a trace with one altered value: exit 1, stdout names the step, action, path, pointer, expected, actual and requirement IDs', () => {
    const r = run('replay', file('good.itf.json'), file('diverges.itf.json'));
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/good\.itf\.json\s+ledger\s+5\s+conforms/);
    expect(r.stdout).toMatch(/diverges\.itf\.json\s+ledger\s+5\s+DIVERGES at step 2/);
    const block = r.stdout.slice(r.stdout.indexOf('DIVERGENCE in'));
    expect(block).toContain(`DIVERGENCE in ${file('diverges.itf.json')}`);
    expect(block).toMatch(/step 2: Transfer \(view\)/);
    expect(block).toMatch(/path:\s+total_supply\n/);
    expect(block).toMatch(/pointer:\s+\/states\/2\/total_supply\n/);
    expect(block).toMatch(/expected:\s+\{"#bigint":"123"\}\n/);
    expect(block).toMatch(/actual:\s+\{"#bigint":"\d+"\}\n/);
    expect(block).not.toMatch(/actual:\s+\{"#bigint":"123"\}/);
    expect(block).toMatch(/requirements:.*LED-LEGACY-TRANSFER\.1/);
    expect(r.stdout).toContain('2 traces, 10 steps: 1 conform, 1 diverge, 0 bad input');
  });

  it('[TRC-PARALLEL.1] replay on a pool of worker threads prints the same report, in the same order, with the same exit code', () => {
    // good, diverging and malformed files, and committed traces of every machine
    const args = [dir, join(ROOT, 'traces', 'execution', 'regressions'), join(ROOT, 'traces', 'consensus', 'regressions')];
    const one = run('replay', ...args, '--jobs', '1');
    const two = run('replay', ...args, '--jobs', '2');
    expect(one.code).toBe(2);
    expect(two.code).toBe(one.code);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stderr).toBe(one.stderr);
    expect(one.stdout).toMatch(/DIVERGENCE in .*diverges\.itf\.json/);
    const json1 = run('replay', ...args, '--jobs', '1', '--json');
    const json2 = run('replay', ...args, '--jobs', '2', '--json');
    expect(json2.stdout).toBe(json1.stdout);
    const bad = run('replay', dir, '--jobs', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--jobs must be at least 1/);
  });

  it('[TRC-SHARD.1] --shard i/n: the shards cover the files exactly once, and a bad shard is a usage error', () => {
    const corpus = join(ROOT, 'traces');
    const all = run('replay', corpus, '--json');
    const names = (o: string): string[] => (JSON.parse(o) as { reports: Array<{ file: string }> }).reports.map((r) => r.file);
    const whole = names(all.stdout);
    const parts = [1, 2, 3].map((i) => run('replay', corpus, '--json', '--shard', `${i}/3`));
    for (const p of parts) expect(p.code).toBe(0);
    const shards = parts.map((p) => names(p.stdout));
    expect(shards.flat().sort()).toEqual([...whole].sort());
    expect(new Set(shards.flat()).size).toBe(whole.length);
    // every third file, from the i-th
    expect(shards[1]).toEqual(whole.filter((_f, k) => k % 3 === 1));
    expect(lines(run('replay', corpus, '--shard', '2/3').stdout).at(-1)).toMatch(/\(shard 2\/3: \d+ of \d+ files\)$/);
    for (const v of ['0/3', '4/3', '3', 'a/b']) {
      const r = run('replay', corpus, '--shard', v);
      expect(r.code, v).toBe(2);
      expect(r.stderr).toMatch(/--shard needs i\/n with 1 ≤ i ≤ n/);
      noStack(r.stderr);
    }
  });

  it('[TRC-BAD-INPUT.1] [TRC-RANGE.1] [TRC-MACHINE.1] [TRC-VOCAB.1] malformed files: exit 2, exactly one error line per file naming it and a JSON pointer; the other traces are still replayed', () => {
    const r = run('replay', dir, join(FIXTURES, 'bad-unknown-action.itf.json'));
    expect(r.code, r.stdout + r.stderr).toBe(2);
    noStack(r.stderr);
    const errs = lines(r.stderr);
    expect(errs).toHaveLength(BAD.length + 1);
    for (const l of errs) expect(l).toMatch(/^error: \S+\.itf\.json: \/\S*: \S.*$/);
    for (const b of BAD) {
      const mine = errs.filter((l) => l.startsWith(`error: ${file(b.name)}: `));
      expect(mine, b.name).toHaveLength(1);
      expect(mine[0]!.slice(`error: ${file(b.name)}: `.length).split(': ')[0]).toBe(b.pointer);
    }
    const fx = errs.filter((l) => l.includes('bad-unknown-action.itf.json'));
    expect(fx).toHaveLength(1);
    expect(fx[0]).toContain(': /states/1/last_action/tag: ');
    // the valid and the diverging trace are still replayed and reported; ignored.json is not read
    expect(r.stdout).toMatch(/good\.itf\.json\s+ledger\s+5\s+conforms/);
    expect(r.stdout).toMatch(/diverges\.itf\.json\s+ledger\s+5\s+DIVERGES at step 2/);
    expect(r.stdout).toContain(`2 traces, 10 steps: 1 conform, 1 diverge, ${BAD.length + 1} bad input`);
    expect(r.stdout + r.stderr).not.toContain('ignored.json');
    for (const b of BAD) expect(r.stdout).not.toContain(b.name);
  });

  it('[TRC-BAD-INPUT.1] a missing path and a usage error exit 2 with one line each', () => {
    const missing = run('replay', file('nope.itf.json'));
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual([`error: ${file('nope.itf.json')}: /: no such file or directory`]);
    const usage = run('replay');
    expect(usage.code).toBe(2);
    expect(lines(usage.stderr)).toHaveLength(1);
    noStack(usage.stderr);
    const unknown = run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(lines(unknown.stderr)).toHaveLength(1);
  });

  it('[TRC-DIVERGENCE.1] [TRC-BAD-INPUT.1] --json reports the same verdicts as data', () => {
    const r = run('replay', '--json', file('good.itf.json'), file('diverges.itf.json'), file('bad-range.itf.json'));
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout) as { traces: number; conforming: number; diverging: number; badInput: Array<{ file: string; pointer: string }>; reports: Array<{ file: string; divergence?: { step: number; pointer: string; reqs: string[] } }> };
    expect(j).toMatchObject({ traces: 2, conforming: 1, diverging: 1 });
    expect(j.badInput).toEqual([expect.objectContaining({ file: file('bad-range.itf.json'), pointer: '/states/1/last_action/value/now' })]);
    const d = j.reports.find((x) => relative(dir, x.file) === 'diverges.itf.json')!.divergence!;
    expect(d).toMatchObject({ step: 2, pointer: '/states/2/total_supply' });
    expect(d.reqs).toContain('LED-LEGACY-TRANSFER.1');
  });
});

describe('icspec usage errors and help', () => {
  it('[TRC-BAD-INPUT.1] a usage error is one line `error: … (see icspec --help)`, exit 2, in icspec\'s wording', () => {
    const cases: Array<[string[], string]> = [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['--frob'], 'unknown command "--frob"'],
      [['replay', '--bogus', file('good.itf.json')], 'unknown option --bogus'],
      [['replay', '--json=1', file('good.itf.json')], 'unknown option --json=1'],
      [['replay'], 'replay needs at least one file or directory'],
      [['principal', 'a', 'b'], 'principal takes exactly one argument: <text|hex>'],
      [['account-id'], 'account-id takes one principal'],
      [['account-id', '2vxsx-fae', '--subaccount'], '--subaccount needs a hex value'],
      [['simulate'], 'simulate needs a subsystem: "simulate consensus" (got nothing)'],
      [['simulate', 'ledger'], 'simulate needs a subsystem: "simulate consensus" (got "ledger")'],
      [['simulate', 'consensus', '--nodes', 'x'], '--nodes needs a whole number, got "x"'],
      [['simulate', 'consensus', '--nodes'], '--nodes needs a whole number, got nothing'],
      [['simulate', 'consensus', '--nodes', '4', '--nodes', '4'], '--nodes given twice'],
      [['simulate', 'consensus', '--seed', '4294967296'], '--seed must be between 0 and 4294967295, got 4294967296'],
      [['simulate', 'consensus', '--nodes', '5'], '--nodes must be 3f + 1 (1, 4, 7, 10, 13, …, 28, …, 40), got 5'],
      [['simulate', 'consensus', '--delay-ms', '5-1'], '--delay-ms: need MIN ≤ MAX ≤ 600000, got 5-1'],
      [['simulate', 'consensus', '--strategy', 'nice'], '--strategy must be one of silent, honest, equivocate, split, withhold, delay, got "nice"'],
      [['simulate', 'consensus', '--out', '--json'], '--out needs a file name'],
      [['simulate', 'consensus', '--json=1'], '--json takes no value'],
      [['simulate', 'consensus', '--json', '--json'], '--json given twice'],
      [['simulate', 'consensus', '--faulty', '4', '--nodes', '4'], 'at least one replica must be honest'],
      [['simulate', 'consensus', 'extra'], 'unknown option extra'],
      [['drun'], 'drun takes one script file'],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toBe(`error: ${message} (see icspec --help)\n`);
    }
    // a bad value that is not a usage error keeps its own line
    expect(run('account-id', '2vxsx-fae', '--subaccount', 'zz')).toEqual({ code: 2, stdout: '', stderr: 'error: --subaccount must be at most 32 bytes of hex, got "zz"\n' });
  });

  it('[EXE-DRUN-RUN.1] help: no arguments prints it and exits 2; --help, -h, help and <command> --help exit 0; drun is listed', () => {
    const none = run();
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/^icspec — the executable reference of the Internet Computer\n/);
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = run(...args);
      expect(r, args.join(' ')).toEqual({ code: 0, stdout: none.stdout, stderr: '' });
    }
    for (const cmd of ['replay', 'principal', 'account-id', 'simulate consensus', 'drun', 'cost']) expect(none.stdout).toContain(`\n  icspec ${cmd} `);
    expect(none.stdout).toMatch(/icspec drun <script> \[--out run\.itf\.json\] \[--subnet-type application\|verified_application\|system\]\n/);
    for (const l of ['ingress Completed: Reply: 0x…', 'ingress Err: IC0xxx: …', 'Ok: Reply: 0x…', 'debug.print: …']) expect(none.stdout).toContain(l);
    for (const args of [['drun', '--help'], ['help', 'drun']]) {
      const r = run(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage:\n  icspec drun <script>/);
    }
    expect(run('replay', '--help').stdout).toMatch(/^Usage:\n  icspec replay <file\|dir>\.\.\./);
  });
});

describe('icspec drun', () => {
  const script = (name: string, text: string) => {
    writeFileSync(file(name), text);
    return file(name);
  };

  it('[EXE-DRUN-SYNTAX.1] [EXE-DRUN-BAD-LINE.1] a script of bad lines and comments: each bad line named by its number on stderr, exit 2, no stack trace', () => {
    const s = script(
      'bad.drun',
      [
        '# comment',
        '',
        'frobnicate x',
        'ingress rwlgt-iiaaa-aaaaa-aaaaa-cai bad-name 0x',
        'query rwlgt-iiaaa-aaaaa-aaaaa-cai m 0xabc',
        '#ingress not even parsed',
        'query not-a-principal m 0x',
        'ingress rwlgt-iiaaa-aaaaa-aaaaa-cai m "unterminated',
        'create now',
        '',
      ].join('\n'),
    );
    const r = run('drun', s);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    noStack(r.stderr);
    const errs = lines(r.stderr);
    expect(errs.map((l) => /^error: Line (\d+): /.exec(l)?.[1])).toEqual(['3', '4', '5', '7', '8', '9']);
    expect(errs[0]).toContain('frobnicate x');
    expect(errs[1]).toBe('error: Line 4: Illegal method name: bad-name.');
    expect(errs[2]).toBe('error: Line 5: Illegal hex character sequence abc.');
    expect(errs[3]).toContain('not-a-principal');
    expect(errs[4]).toBe('error: Line 8: Missing string terminator.');
    expect(errs[5]).toContain('create now');
  });

  it('[EXE-DRUN-SYNTAX.1] comments and empty lines alone: nothing printed, exit 0', () => {
    expect(run('drun', script('empty.drun', '# nothing here\n\n#create\n'))).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('[EXE-DRUN-BAD-LINE.1] a Wasm file that cannot be read is a bad line, named by its number', () => {
    const r = run('drun', script('nowasm.drun', '# install without a module\ninstall rwlgt-iiaaa-aaaaa-aaaaa-cai missing.wasm 0x\n'));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: line 2: Could not open wasm file: missing\.wasm/i);
    noStack(r.stderr);
  });

  it('[EXE-DRUN-BAD-LINE.1] [EXE-DRUN-RUN.1] the other lines still run after a bad line', () => {
    const r = run('drun', script('mixed.drun', 'frobnicate\ncreate\n'));
    expect(r.code, r.stderr).toBe(2);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^error: Line 1: /)]);
    expect(lines(r.stdout)).toEqual([expect.stringMatching(/^ingress Completed: Reply: 0x4449444c[0-9a-f]+$/)]);
  });

  it('[EXE-DRUN-BAD-LINE.1] a missing script file: exit 2 with one line', () => {
    const missing = run('drun', file('nope.drun'));
    expect(missing).toEqual({ code: 2, stdout: '', stderr: `error: ${file('nope.drun')}: no such file or directory\n` });
  });

  it('[EXE-TRACE.1] [EXE-DRUN-RUN.1] --out writes the run as a trace that replay accepts', () => {
    const out = run('drun', script('create2.drun', 'create\ncreate\n'), '--out', file('run.itf.json'));
    expect(out.code, out.stderr).toBe(0);
    expect(lines(out.stdout)).toHaveLength(2);
    expect(existsSync(file('run.itf.json'))).toBe(true);
    const r = run('replay', file('run.itf.json'));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/execution\s+\d+\s+conforms/);
    const bad = run('drun', script('create3.drun', 'create\n'), '--out', file('no/such/dir/run.itf.json'));
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toEqual([expect.stringMatching(/^error: .*run\.itf\.json: cannot write \(ENOENT\)$/)]);
  });
});
