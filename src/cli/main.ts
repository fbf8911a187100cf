/**
 * icspec command line (commander). Exit codes: 0 conforming, 1 divergence or safety
 * violated, 2 bad input or usage, 3 internal error. Expected failures print one line each
 * and never a stack trace; usage errors read `error: … (see icspec --help)`.
 */
import { closeSync, openSync, readdirSync, readFileSync, realpathSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Command } from 'commander';
import { fromHex, toHex } from '../core/bytes.js';
import { isPrincipalError, parsePrincipal, principalClass, principalHex } from '../core/principal.js';
import { accountIdBytes } from '../ledger/account.js';
import type { BadInput } from '../trace/load.js';
import type { ReplayReport } from '../trace/replay.js';
import { availableParallelism } from 'node:os';
import Tinypool from 'tinypool';
import { replayFile, type FileResult } from './replay-worker.js';
import { BadValue, configure, HelpShown, UsageError, valueOption } from './args.js';
import { simulateCommand } from './simulate.js';
import { costCommand, natural, oneOf } from './cost.js';
import { SUBNET_KINDS, type SubnetKind } from '../cycles/table.js';
import { serve } from '../http/server.js';
import { servePocketIc } from '../pocketic/server.js';

/** The help of each command, in the order of the full help. */
const USAGE = {
  replay: `  icspec replay <file|dir>... [--json] [--no-invariants] [--jobs N] [--shard I/N]
      Replay ITF traces (*.itf.json; directories are searched recursively) against the
      reference. Prints a table of traces, steps and verdicts and, for each divergence,
      the step, action, path, expected vs actual and the requirement IDs involved.
      --jobs N replays on N worker threads (default: one per core for a corpus of 32 MB or
      more, else none); the report is the same, in the same order. --shard I/N replays only the I-th of N shares of the sorted files
      (every N-th file from the I-th), so that N machines cover a corpus exactly once.
      Exit 0: all conform; 1: a divergence; 2: bad input (other traces are still replayed).`,
  principal: `  icspec principal <text|hex>
      Both forms of a principal and its class. Hex may be 0x-prefixed.`,
  'account-id': `  icspec account-id <principal> [--subaccount <hex>]
      The ICP ledger account identifier (hex) of an ICRC-1 account.`,
  simulate: `  icspec simulate consensus --nodes N --faulty F --rounds R --seed S [--delay-ms MIN-MAX]
                 [--strategy silent|honest|equivocate|split|withhold|delay] [--ingress-rate K]
                 [--dkg-interval D] [--out trace.itf.json] [--json]
      Simulate a subnet of N replicas, F of them Byzantine (the last F; default strategy
      split: equivocation and shares on every block), for R rounds with network delays
      drawn from MIN-MAX ms (default 20-200) and the IC's default delays (unit 1000 ms,
      initial notary 600 ms). Prints rounds, finalized height, finalization rate, ingress
      latency percentiles and the safety verdict; --out writes the run as a trace.
      Exit 0: safety held; 1: safety violated; 2: bad arguments.`,
  drun: `  icspec drun <script> [--out run.itf.json] [--subnet-type application|verified_application|system]
                 [--subnet-size N]
      Run a drun script (the command language of DFINITY's drun: create, install,
      reinstall, upgrade, ingress, query; # comments) against the execution reference,
      every message sent by the anonymous principal; Wasm paths are resolved against the
      working directory, then the script's directory. Prints drun's lines:
      ingress Completed: Reply: 0x…, ingress Completed: Reject: …, ingress Err: IC0xxx: …,
      Ok: Reply: 0x… (queries), Err: IC0xxx: …, and debug.print: … before the result it
      belongs to. A bad line is reported on stderr with its number; the rest still runs.
      --out writes the run as a trace. The subnet is a 13-node system subnet (no fees), as
      with DFINITY's runners, unless --subnet-type and --subnet-size say otherwise.
      Exit 0: every line ran; 2: a line was bad input, or the script cannot be read.`,
  cost: `  icspec cost [--instructions N] [--arg-bytes B] [--method NAME] [--envelope-bytes E]
              [--subnet-size N] [--subnet-type T] [--cost-version V] [--wasm64] [--json]
      The cycles an update message costs on a subnet, as ingress and as an inter-canister
      call, with each fee's formula and figures from the cost table (spec/cycles.md).`,
  'pocket-ic': `  icspec pocket-ic --port-file F [--ttl S]
      PocketIC's JSON API (as PicJS 0.23 uses it) over the execution reference: one
      application subnet per instance. Writes its port to F (created exclusively: if F exists,
      another server owns it and this one exits 0), serves until S seconds (default 60) pass
      without a request or it is terminated, then removes F. \`bin/pocket-ic.js\` is this command
      as a program, for POCKET_IC_BIN.`,
  serve: `  icspec serve [--port N] [--host H] [--seed S] [--subnet-type T] [--round-gap MS]
      Serve the IC's HTTP interface (spec/http.md) over the execution reference, for
      @dfinity/agent and @icp-sdk/core: status, call (v2, v3, v4), query (v2, v3),
      read_state (v2, v3). The root key is derived from the seed (default "icspec"): the
      same seed gives the same key. Rounds run when there is work, at least MS
      milliseconds apart (default 10), and every second when idle. Prints the URL and the
      root key (hex), then serves until interrupted. Exit 2: bad arguments or the port
      cannot be used.`,
} as const;

const HELP = `icspec — the executable reference of the Internet Computer

Usage:
${Object.values(USAGE).join('\n')}
  icspec --help | help [command]`;

/** The help of one command (the full help for the top level and `help`). */
const helpOf = (name: keyof typeof USAGE | undefined) => (): string => (name === undefined ? HELP : `Usage:\n${USAGE[name]}`);

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

/** Trace files under the given paths; unreadable entries become bad input, never a crash. */
const collect = (paths: string[]): { files: string[]; missing: BadInput[] } => {
  const files: string[] = [];
  const missing: BadInput[] = [];
  const seen = new Set<string>();
  const walk = (p: string, top: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      missing.push({ ok: false, file: p, pointer: '', message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      return;
    }
    if (st.isDirectory()) {
      const real = realpathSync(p);
      if (seen.has(real)) return; // a link cycle
      seen.add(real);
      let entries: string[];
      try {
        entries = readdirSync(p).sort();
      } catch (e) {
        missing.push({ ok: false, file: p, pointer: '', message: `cannot list directory (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
        return;
      }
      const before = files.length;
      for (const e of entries) {
        const q = join(p, e);
        if (e.endsWith('.itf.json')) walk(q, false);
        else {
          let sub;
          try {
            sub = statSync(q);
          } catch {
            continue; // not a trace: a dangling link or unreadable non-trace entry is skipped
          }
          if (sub.isDirectory()) walk(q, false);
        }
      }
      if (top && files.length === before) missing.push({ ok: false, file: p, pointer: '', message: 'no *.itf.json traces found in this directory' });
    } else files.push(p);
  };
  paths.forEach((p) => walk(p, true));
  return { files, missing };
};

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** `--shard i/n`: 1 ≤ i ≤ n. */
const shardArg = (v: string): { index: number; count: number } => {
  const m = /^([0-9]+)\/([0-9]+)$/.exec(v);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count || count > 1_000_000) throw new BadValue(`--shard needs i/n with 1 ≤ i ≤ n, got "${v}"`);
  return { index, count };
};

/** [TRC-SHARD.1] the files of shard i of n: every n-th of the list, starting at the i-th. */
export const shardOf = <T>(files: readonly T[], shard: { readonly index: number; readonly count: number } | undefined): T[] =>
  shard === undefined ? [...files] : files.filter((_f, k) => k % shard.count === shard.index - 1);

/**
 * Replay the files, on a pool of worker threads when `jobs` > 1 ([TRC-PARALLEL.1]); the results
 * come back in the order of the files, whatever order the workers finish in.
 */
const replayAll = async (files: readonly string[], invariants: boolean, jobs: number, tty: boolean): Promise<FileResult[]> => {
  if (jobs <= 1 || files.length <= 1)
    return files.map((f, k) => {
      const r = replayFile(f, invariants, tty ? (i, n) => n > 2000 && i % 1000 === 0 && process.stderr.write(`\r[${k + 1}/${files.length}] ${f}: step ${i}/${n}`) : undefined);
      if (tty) process.stderr.write('\r\x1b[K');
      return r;
    });
  const pool = new Tinypool({ filename: new URL('./replay-worker.js', import.meta.url).href, minThreads: 1, maxThreads: Math.min(jobs, files.length) });
  try {
    let done = 0;
    return await Promise.all(
      files.map(async (file) => {
        const r = (await pool.run({ file, invariants })) as FileResult;
        if (tty) process.stderr.write(`\r[${++done}/${files.length}] replayed\x1b[K`);
        return r;
      }),
    );
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
    await pool.destroy();
  }
};

/**
 * Without `--jobs`: a pool of one thread per core for a corpus of at least this many bytes, else
 * the main thread alone. Measured on 2 cores: a worker's start (loading the reference) costs
 * about what replaying 30 MB of ledger traces in one thread saves (20 MB: 2.5 s alone, 3.0 s on
 * two threads; 40 MB: 3.7 s and 3.2 s; 97 MB: 8.2 s and 5.4 s).
 */
export const POOL_BYTES = 32 * 1024 * 1024;

const cmdReplay = async (paths: readonly string[], { json, invariants, jobs: asked, shard }: { readonly json: boolean; readonly invariants: boolean; readonly jobs?: number; readonly shard?: { readonly index: number; readonly count: number } }): Promise<number> => {
  if (paths.length === 0) throw new UsageError('replay needs at least one file or directory');
  const collected = collect([...paths]);
  const files = shardOf(collected.files, shard);
  const jobs = asked ?? (files.reduce((n, f) => n + statSync(f).size, 0) >= POOL_BYTES ? availableParallelism() : 1);
  const bad: BadInput[] = [...collected.missing];
  const reports: ReplayReport[] = [];
  const tty = process.stderr.isTTY && !json;
  let totalSteps = 0;
  for (const r of await replayAll(files, invariants, jobs, tty)) {
    if ('bad' in r) {
      bad.push(r.bad);
      continue;
    }
    totalSteps += r.steps;
    reports.push(r.report);
  }
  const diverged = reports.filter((r) => r.divergence);
  if (json) {
    out(JSON.stringify({ traces: reports.length, steps: totalSteps, conforming: reports.length - diverged.length, diverging: diverged.length, badInput: bad, reports }, null, 2));
  } else {
    out('icspec conformance report');
    out(`${pad('trace', 60)} ${pad('machine', 14)} ${pad('steps', 7)} verdict`);
    for (const r of reports) out(`${pad(r.file, 60)} ${pad(r.machine, 14)} ${pad(String(r.steps), 7)} ${r.divergence ? `DIVERGES at step ${r.divergence.step}` : 'conforms'}`);
    for (const r of diverged) {
      const d = r.divergence!;
      out('');
      out(`DIVERGENCE in ${r.file}`);
      out(`  step ${d.step}: ${d.action} (${d.kind})`);
      out(`  path:     ${d.path}`);
      out(`  pointer:  ${d.pointer}`);
      out(`  expected: ${d.expected}`);
      out(`  actual:   ${d.actual}`);
      out(`  requirements: ${d.reqs.join(', ')}`);
    }
    for (const r of reports) if (r.ignored.length) out(`note: ${r.file}: variables not compared (unknown to ${r.machine}): ${r.ignored.join(', ')}`);
    out('');
    out(`${reports.length} traces, ${totalSteps} steps: ${reports.length - diverged.length} conform, ${diverged.length} diverge, ${bad.length} bad input${shard !== undefined ? ` (shard ${shard.index}/${shard.count}: ${files.length} of ${collected.files.length} files)` : ''}`);
  }
  for (const b of bad) err(`error: ${b.file}: ${b.pointer || '/'}: ${b.message}`);
  return bad.length ? 2 : diverged.length ? 1 : 0;
};

const invalidPrincipal = (input: string, p: { kind: string; length?: number; reason?: string }): number => {
  err(`error: invalid principal "${input}": ${p.kind === 'PrincipalTooLong' ? `${p.length} bytes, more than 29` : p.reason}`);
  return 2;
};

const cmdPrincipal = (args: readonly string[]): number => {
  if (args.length !== 1) throw new UsageError('principal takes exactly one argument: <text|hex>');
  const p = parsePrincipal(args[0]!, true);
  if (isPrincipalError(p)) return invalidPrincipal(args[0]!, p);
  out(`text:  ${p.text}`);
  out(`hex:   ${principalHex(p)}`);
  out(`class: ${principalClass(p)}`);
  return 0;
};

/** --subaccount: at most 32 bytes of hex (0x optional), left-padded with zeros (a big-endian number). */
const subaccount = (h: string): Uint8Array => {
  const b = fromHex(h.startsWith('0x') ? h.slice(2) : h);
  if (b === undefined || b.length > 32) throw new BadValue(`--subaccount must be at most 32 bytes of hex, got "${h}"`, false);
  const sub = new Uint8Array(32);
  sub.set(b, 32 - b.length);
  return sub;
};

const cmdAccountId = (args: readonly string[], { subaccount: sub }: { readonly subaccount?: Uint8Array }): number => {
  if (args.length !== 1) throw new UsageError('account-id takes one principal');
  const p = parsePrincipal(args[0]!, true);
  if (isPrincipalError(p)) return invalidPrincipal(args[0]!, p);
  out(toHex(accountIdBytes(p, sub)));
  return 0;
};

/** `drun <script>`: run the script and exit with its code ([EXE-DRUN-RUN.1]). */
const cmdDrun = async (args: readonly string[], { out: outFile, subnetType, subnetSize }: { readonly out?: string; readonly subnetType?: SubnetKind; readonly subnetSize?: bigint }): Promise<number> => {
  if (args.length !== 1) throw new UsageError('drun takes one script file');
  const script = args[0]!;
  let text: string;
  try {
    text = readFileSync(script, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    err(`error: ${script}: ${code === 'ENOENT' ? 'no such file or directory' : `cannot read (${code ?? 'error'})`}`);
    return 2;
  }
  // loaded on demand: the execution engine is not needed by the other commands
  const { runDrun } = await import('../drun/run.js');
  const { drunTrace } = await import('../drun/trace.js');
  // on a terminal, a progress line on stderr (cleared before each printed line and at the end)
  const tty = process.stderr.isTTY === true;
  let shown = false;
  const clear = (): void => {
    if (shown) process.stderr.write('\r\x1b[K');
    shown = false;
  };
  const progress = (line: number, lines: number): void => {
    if (!tty || lines < 50) return;
    process.stderr.write(`\r[drun] line ${line}/${lines}`);
    shown = true;
  };
  const r = runDrun(text, {
    baseDir: dirname(script),
    out: (l) => (clear(), out(l)),
    err: (l) => (clear(), err(l)),
    progress,
    ...(outFile !== undefined ? { recordDir: dirname(resolvePath(outFile)) } : {}),
    ...(subnetType !== undefined ? { subnet: subnetType } : {}),
    ...(subnetSize !== undefined ? { subnetSize } : {}),
  });
  clear();
  if (outFile !== undefined) {
    // [EXE-TRACE.1] the run as a trace that `icspec replay` accepts
    try {
      writeFileSync(outFile, JSON.stringify(drunTrace(r, script)) + '\n');
    } catch (e) {
      err(`error: ${outFile}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      return 2;
    }
  }
  return r.exitCode;
};

/** [PIC-SERVER.1] PocketIC's server protocol: the port file, the idle timeout, SIGTERM. */
const cmdPocketIc = async (o: { portFile?: string; ttl?: bigint }): Promise<number> => {
  if (o.portFile === undefined) {
    err('error: --port-file is required (see icspec --help)');
    return 2;
  }
  let fd: number;
  try {
    fd = openSync(o.portFile, 'wx');
  } catch (e) {
    // another server owns the port file: the client uses that one
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 0;
    err(`error: ${o.portFile}: cannot create (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return 2;
  }
  const srv = await servePocketIc();
  writeSync(fd, `${srv.port}\n`);
  closeSync(fd);
  const ttl = Number(o.ttl ?? 60n) * 1000;
  await new Promise<void>((done) => {
    const stop = (): void => {
      clearInterval(timer);
      void srv.close().then(done);
    };
    const timer = setInterval(() => {
      if (Date.now() - srv.lastRequest() > ttl) stop();
    }, 1000);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  try {
    unlinkSync(o.portFile);
  } catch {
    // already gone
  }
  return 0;
};

/** [HTTP-SERVE.1] serve until interrupted; 2 if the port cannot be used. */
const cmdServe = async (o: { port?: bigint; host?: string; seed?: string; subnetType?: SubnetKind; roundGap?: bigint }): Promise<number> => {
  try {
    const srv = await serve({
      port: Number(o.port ?? 4943n),
      ...(o.host !== undefined ? { host: o.host } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.subnetType !== undefined ? { subnet: o.subnetType } : {}),
      ...(o.roundGap !== undefined ? { roundGapMs: Number(o.roundGap) } : {}),
    });
    out(`icspec serve: ${srv.url}`);
    out(`root key: ${toHex(srv.rootKey)}`);
    await new Promise<void>((done) => process.once('SIGINT', () => void srv.close().then(done)));
    return 0;
  } catch (e) {
    err(`error: cannot serve: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return 2;
  }
};

const program = (argv: readonly string[], setExitCode: (code: number) => void): Command => {
  const root = configure(new Command('icspec'), { help: helpOf(undefined), unknownOptionIsCommand: true }).helpCommand(false);
  root.addCommand(
    configure(new Command('help'), { help: helpOf(undefined) })
      .description('show the help of icspec or of one command')
      .argument('[command]')
      // as before commander: `help` with anything it does not know prints the full help
      .allowExcessArguments()
      .allowUnknownOption()
      .action((name: string | undefined) => {
        const key = name === 'consensus' ? 'simulate' : name;
        out(key !== undefined && Object.hasOwn(USAGE, key) ? helpOf(key as keyof typeof USAGE)() : HELP);
      }),
  );
  root.addCommand(
    configure(new Command('replay'), { help: helpOf('replay') })
      .description('replay ITF traces against the reference')
      .argument('[paths...]')
      .option('--json', 'print the report as JSON')
      .option('--no-invariants', 'do not check the invariants after each step')
      .addOption(valueOption('--jobs <n>', 'worker threads (default: one per core for 32 MB of traces or more)', natural('--jobs', 1n), '--jobs needs a number'))
      .addOption(valueOption('--shard <i/n>', 'replay the i-th of n shares of the files', shardArg, '--shard needs i/n'))
      .action(async (paths: string[], o: { json?: boolean; invariants: boolean; jobs?: bigint; shard?: { index: number; count: number } }) =>
        setExitCode(await cmdReplay(paths, { json: o.json === true, invariants: o.invariants, ...(o.jobs !== undefined ? { jobs: Number(o.jobs) } : {}), ...(o.shard !== undefined ? { shard: o.shard } : {}) })),
      ),
  );
  root.addCommand(
    configure(new Command('principal'), { help: helpOf('principal') })
      .description('both forms of a principal and its class')
      .argument('[text|hex...]')
      // a principal never starts with "-": such an argument is reported as an invalid principal
      .allowUnknownOption()
      .action((args: string[]) => setExitCode(cmdPrincipal(args))),
  );
  root.addCommand(
    configure(new Command('account-id'), { help: helpOf('account-id') })
      .description('the ICP ledger account identifier of an ICRC-1 account')
      .argument('[principal...]')
      .addOption(valueOption('--subaccount <hex>', 'the subaccount (at most 32 bytes of hex)', subaccount, '--subaccount needs a hex value'))
      .action((args: string[], o: { subaccount?: Uint8Array }) => setExitCode(cmdAccountId(args, o))),
  );
  root.addCommand(simulateCommand({ out, writeErr: (x) => process.stderr.write(x), tty: process.stderr.isTTY === true, argv, setExitCode, help: helpOf('simulate') }));
  root.addCommand(
    configure(new Command('drun'), { help: helpOf('drun') })
      .description('run a drun script against the execution reference')
      .argument('[script...]')
      .addOption(valueOption('--out <file>', 'write the run as an ITF trace', (v: string) => v, '--out needs a file name'))
      .addOption(valueOption('--subnet-type <t>', `one of ${SUBNET_KINDS.join(', ')} (default system)`, oneOf('--subnet-type', SUBNET_KINDS), '--subnet-type needs a value'))
      .addOption(valueOption('--subnet-size <n>', 'nodes of the subnet (default 13)', natural('--subnet-size', 1n), '--subnet-size needs a number'))
      .action(async (args: string[], o: { out?: string; subnetType?: SubnetKind; subnetSize?: bigint }) => setExitCode(await cmdDrun(args, o))),
  );
  root.addCommand(costCommand({ out, setExitCode, help: helpOf('cost') }));
  root.addCommand(
    configure(new Command('pocket-ic'), { help: helpOf('pocket-ic') })
      .description("serve PocketIC's JSON API over the execution reference")
      .addOption(valueOption('--port-file <f>', 'where to write the port', (v: string) => v, '--port-file needs a file name'))
      .addOption(valueOption('--ttl <s>', 'seconds without a request before the server stops (default 60)', natural('--ttl', 0n), '--ttl needs a number'))
      .action(async (o: { portFile?: string; ttl?: bigint }) => setExitCode(await cmdPocketIc(o))),
  );
  root.addCommand(
    configure(new Command('serve'), { help: helpOf('serve') })
      .description('serve the IC HTTP interface over the execution reference')
      .addOption(valueOption('--port <n>', 'the TCP port (default 4943)', natural('--port', 0n), '--port needs a number'))
      .addOption(valueOption('--host <h>', 'the address to listen on (default 127.0.0.1)', (v: string) => v, '--host needs an address'))
      .addOption(valueOption('--seed <s>', 'the seed of the root and node keys', (v: string) => v, '--seed needs a value'))
      .addOption(valueOption('--subnet-type <t>', `one of ${SUBNET_KINDS.join(', ')} (default application)`, oneOf('--subnet-type', SUBNET_KINDS), '--subnet-type needs a value'))
      .addOption(valueOption('--round-gap <ms>', 'the least time between rounds (default 10)', natural('--round-gap', 0n), '--round-gap needs a number'))
      .action(async (o: { port?: bigint; host?: string; seed?: string; subnetType?: SubnetKind; roundGap?: bigint }) => setExitCode(await cmdServe(o))),
  );
  return root;
};

const main = async (argv: readonly string[]): Promise<number> => {
  if (argv.length === 0) {
    out(HELP);
    return 2;
  }
  let code = 0;
  try {
    await program(argv, (c) => (code = c)).parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof HelpShown) return e.exitCode;
    if (e instanceof UsageError) {
      err(`error: ${e.message}${e.seeHelp ? ' (see icspec --help)' : ''}`);
      return 2;
    }
    err(`internal error: ${(e as Error).message}`);
    return 3;
  }
};

process.exitCode = await main(process.argv.slice(2));
