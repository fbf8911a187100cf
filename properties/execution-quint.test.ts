/**
 * Traces of the Quint model of the abstract execution behaviour (spec/quint/execution.qnt) replay
 * against the execution machine running the same programs in the universal canister's real Wasm
 * (machine `execution_abstract`, src/execution/abstract.ts).
 * (a) the committed traces conform and exercise calls, responses, rejects, traps, stopping;
 * (b) the committed files are what `npm run traces:execution` generates now;
 * (c) fresh traces from a random seed conform (the seed is printed; QUINT_SEED=<seed> reproduces);
 * (e) the model's own `run` tests pass, and the machine agrees with them step by step;
 * (d) teeth: a mutant that completes `stop_canister` with open call contexts is caught by the
 *     committed traces and by the committed shrunk regression, and a fresh trace that catches it
 *     shrinks to a trace the reference accepts and the mutant does not.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/root.js';
import { loadTrace, loadTraceText, type LoadedTrace } from '../src/trace/load.js';
import { record, replay } from '../src/trace/replay.js';
import { fromJson, type ItfValue } from '../src/trace/itf.js';
import { toHex } from '../src/core/bytes.js';
import { abstractMachine } from '../src/execution/abstract.js';
import { DEFAULT_N, DEFAULT_SEED, DEFAULT_STEPS, generate, generateRegression, generateStarvedAfterTrap, REGRESSION, shrinkAgainst, STARVED_AFTER_TRAP } from '../scripts/execution-traces-gen.js';
import { stopsWithOpenContexts } from '../scripts/execution-mutants.js';

const ROOT = packageRoot();
const COMMITTED = join(ROOT, 'traces', 'execution', 'quint');
const VIEW = ['status', 'mem', 'ingress', 'open_contexts', 'time'];
const byNumber = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });
const committedFiles = (): string[] =>
  readdirSync(COMMITTED)
    .filter((f) => /^trace_\d+\.itf\.json$/.test(f))
    .sort(byNumber)
    .map((f) => join(COMMITTED, f));

const load = (file: string): LoadedTrace => {
  const t = loadTrace(file);
  if (!t.ok) throw new Error(`${file}: bad input at ${t.pointer}: ${t.message}`);
  expect(t.machineName).toBe('execution_abstract');
  expect([...t.compared].sort()).toEqual([...VIEW].sort());
  return t;
};

const conform = (t: LoadedTrace): void => {
  const r = replay(t.entry.machine, t);
  if (r.divergence) {
    const d = r.divergence;
    throw new Error(`${t.file}: step ${d.step} (${d.action}, ${d.kind}) diverges at ${d.path} [${d.pointer}]\n  expected ${d.expected}\n  actual   ${d.actual}\n  requirements ${d.reqs.join(', ')}`);
  }
  expect(r.applied).toBe(t.steps.length - 1);
  expect(t.requirements.filter((q) => !r.exercised.includes(q)), `${t.file} claims requirements its replay does not exercise`).toEqual([]);
};

const tmpDirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'icspec-execution-quint-'));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

/** The raw states of a trace file. */
type RawState = Record<string, { tag?: string; value?: unknown; '#map'?: Array<[unknown, { tag?: string; value?: { '#bigint'?: string } | unknown }]> }>;
const statesOf = (file: string): RawState[] => (JSON.parse(readFileSync(file, 'utf8')) as { states: RawState[] }).states;

describe('Quint model traces of the abstract execution behaviour (spec/quint/execution.qnt)', () => {
  it('[EXE-ABSTRACT.1] [EXE-ANSWER-ONCE.1] [EXE-STOPPED-IDLE.1] [EXE-RESPONSE-MATCH.1] [EXE-ORDER.1] [EXE-TRAP-ROLLBACK.1] committed traces conform on the real universal canister and exercise calls, responses, rejects, traps and stopping', () => {
    const files = committedFiles();
    expect(files.length).toBe(DEFAULT_N);
    const seen = new Map<string, number>();
    const count = (k: string): void => void seen.set(k, (seen.get(k) ?? 0) + 1);
    for (const f of files) {
      conform(load(f));
      for (const st of statesOf(f)) {
        const a = st['last_action'] as { tag: string; value: { prog?: { end: { tag: string }; calls: unknown[] } } };
        count(`action ${a.tag}`);
        if (a.tag === 'SubmitIngress') {
          count(`program ends ${a.value.prog!.end.tag}`);
          if (a.value.prog!.calls.length > 1) count('program with two calls');
        }
        for (const [, s] of st['status']!['#map']!) count(`status ${s.tag}`);
        for (const [, n] of st['open_contexts']!['#map']!) if (BigInt((n as { '#bigint': string })['#bigint']) > 0n) count('an open call context');
        for (const [, i] of st['ingress']!['#map']!) {
          const j = i.value as { code: { '#bigint': string }; class: string };
          count(`ingress ${i.tag}${i.tag === 'IRejected' ? ` ${j.code['#bigint']}` : ''}`);
          if (i.tag === 'IRejected') count(`reject class ${j.class}`);
        }
      }
    }
    for (const k of ['action AdvanceTime', 'action ExecuteCall', 'action DeliverResponse', 'action StopCanister', 'action StartCanister', 'program ends Trap', 'program ends Silent', 'program with two calls', 'status Stopping', 'status Stopped', 'an open call context', 'ingress IReplied', 'ingress IRejected 4', 'ingress IRejected 5', 'reject class reject', 'reject class trap', 'reject class no_reply', 'reject class stopped'])
      expect(seen.get(k) ?? 0, k).toBeGreaterThan(0);
  });

  it('committed execution traces are what the model generates now (regenerate with `npm run traces:execution`)', () => {
    const meta = (JSON.parse(readFileSync(join(COMMITTED, 'trace_0.itf.json'), 'utf8')) as { '#meta': { seed: string } })['#meta'];
    expect(meta.seed).toBe(DEFAULT_SEED);
    const out = tmp();
    const fresh = generate({ seed: DEFAULT_SEED, out, n: DEFAULT_N, steps: DEFAULT_STEPS });
    expect(fresh.map((f) => basename(f))).toEqual(committedFiles().map((f) => basename(f)));
    // the module's path is relative to the trace: the same file, reached from elsewhere
    const samePath = (text: string): string => text.replace(/"path":"[^"]*universal\.wasm"/g, '"path":"universal.wasm"');
    for (const f of fresh) expect(samePath(readFileSync(f, 'utf8')), `${basename(f)} is stale: run \`npm run traces:execution\``).toBe(samePath(readFileSync(join(COMMITTED, basename(f)), 'utf8')));
    const regression = generateRegression(committedFiles(), ROOT, join(out, 'regression.itf.json'));
    expect(samePath(readFileSync(regression, 'utf8')), `${REGRESSION} is stale: run \`npm run traces:execution\``).toBe(samePath(readFileSync(join(ROOT, REGRESSION), 'utf8')));
    const starved = generateStarvedAfterTrap(ROOT, join(out, 'starved.itf.json'));
    expect(samePath(readFileSync(starved, 'utf8')), `${STARVED_AFTER_TRAP} is stale: run \`npm run traces:execution\``).toBe(samePath(readFileSync(join(ROOT, STARVED_AFTER_TRAP), 'utf8')));
  });

  it('[EXE-ABSTRACT.1] fresh Quint traces from a random seed conform', () => {
    const env = process.env.QUINT_SEED;
    const seed = env !== undefined && env !== '' ? env : `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`;
    // eslint-disable-next-line no-console
    console.log(`[quint] seed=${seed} (replay with QUINT_SEED=${seed})`);
    const out = tmp();
    const files = generate({ seed, out, n: 8, steps: DEFAULT_STEPS });
    try {
      for (const f of files) conform(load(f));
    } catch (e) {
      tmpDirs.splice(tmpDirs.indexOf(out), 1); // keep the traces for inspection
      throw new Error(`QUINT_SEED=${seed} (traces kept in ${out}): ${(e as Error).message}`);
    }
    // (d) a fresh trace that catches the mutant shrinks to a regression that still catches it
    const catching = files.find((f) => replay(stopsWithOpenContexts, load(f)).divergence !== undefined);
    if (catching !== undefined) {
      const text = shrinkAgainst(stopsWithOpenContexts, catching, join(out, 'shrunk.itf.json'))!;
      const t = loadTraceText(join(out, 'shrunk.itf.json'), text);
      if (!t.ok) throw new Error(t.message);
      expect(replay(t.entry.machine, t).divergence).toBeUndefined();
      expect(replay(stopsWithOpenContexts, t).divergence).toBeDefined();
      expect(t.steps.length).toBeLessThanOrEqual(load(catching).steps.length);
    }
  });

  it('[EXE-STOP.1] [EXE-STOPPED-IDLE.1] a mutant that completes stop_canister with open call contexts is caught by the traces, and by the committed shrunk regression', () => {
    const caught = committedFiles().filter((f) => replay(stopsWithOpenContexts, load(f)).divergence !== undefined);
    expect(caught.length).toBeGreaterThan(0);
    const t = load(join(ROOT, REGRESSION));
    conform(t);
    const d = replay(stopsWithOpenContexts, t).divergence;
    expect(d?.kind).toBe('view');
    expect(d?.action).toBe('StopCanister');
    expect(d?.path).toMatch(/^status/);
    expect(d?.expected).toMatch(/Stopping/);
    expect(d?.actual).toMatch(/Stopped/);
    // shrunk: a call made and still open, then the stop
    expect(t.steps.map((s) => s.tag)).toEqual(['Init', 'SubmitIngress', 'ExecuteIngress', 'StopCanister']);
  });

  it('[EXE-CLEANUP.1] [EXE-STOP.1] [EXE-ANSWER-ONCE.1] [CYC-REFUND.1] the model\'s own tests pass (quint test), and the universal canisters do the same', () => {
    const bin = join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'quint.cmd' : 'quint');
    const r = spawnSync(bin, ['test', '--backend', 'typescript', '--main', 'execution_k2', join(ROOT, 'spec', 'quint', 'execution.qnt')], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, `quint test:\n${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/4 passing/);
    // the same three runs on the machine
    const wasm = readFileSync(join(ROOT, 'traces', 'execution', 'modules', 'universal.wasm'));
    const init = fromJson({ canisters: 2, wasm: { tag: 'Inline', value: toHex(wasm) } }) as ItfValue;
    const leaf = (write: number, end: string, more: object = {}) => ({ write, end: { tag: end, value: { '#tup': [] } }, accept: false, write_refund: false, ...more });
    const call = (onReply: object, onCleanup: object, more: object = {}) => ({ callee: 1, cycles: 0, prog: leaf(0, 'Reply'), on_reply: onReply, on_reject: leaf(0, 'Silent'), on_cleanup: onCleanup, ...more });
    const act = (tag: string, args: object) => ({ tag, args: fromJson(args) as ItfValue });
    const last = (actions: ReturnType<typeof act>[]) => {
      const { trace } = record(abstractMachine, init, actions);
      const states = (trace as { states: Array<Record<string, unknown>> }).states;
      for (const st of states) expect((st['outcome'] as { tag: string }).tag).toBe('Ok');
      return states.map((st) => JSON.stringify({ status: st['status'], mem: st['mem'], ingress: st['ingress'] }));
    };
    const run = (prog: object) => [act('SubmitIngress', { id: 0, canister: 0, prog }), act('ExecuteIngress', { id: 0 })];
    const tail = [act('ExecuteCall', { from: 0, to: 1 }), act('DeliverResponse', { callback: 0 })];
    const v = (mem0: number, ingress: string, value: unknown, status = 'Running') =>
      JSON.stringify({
        status: { '#map': [[{ '#bigint': '0' }, { tag: status, value: { '#tup': [] } }], [{ '#bigint': '1' }, { tag: 'Running', value: { '#tup': [] } }]] },
        mem: { '#map': [[{ '#bigint': '0' }, { '#bigint': String(mem0) }], [{ '#bigint': '1' }, { '#bigint': '0' }]] },
        ingress: { '#map': [[{ '#bigint': '0' }, { tag: ingress, value: typeof value === 'number' ? { '#bigint': String(value) } : value }]] },
      });
    // cleanupAfterTrapTest
    expect(last([...run({ write: 0, calls: [call(leaf(1, 'Trap'), leaf(2, 'Silent'))], end: { tag: 'Silent', value: { '#tup': [] } } }), ...tail]).at(-1)).toBe(v(2, 'IRejected', { code: { '#bigint': '5' }, class: 'trap' }));
    // stopWaitsForContextsTest
    const stop = last([...run({ write: 1, calls: [call(leaf(0, 'Reply'), leaf(0, 'Silent'))], end: { tag: 'Silent', value: { '#tup': [] } } }), act('StopCanister', { canister: 0 }), ...tail]);
    expect(JSON.parse(stop.at(-3)!).status['#map'][0][1].tag).toBe('Stopping');
    expect(stop.at(-1)).toBe(v(1, 'IReplied', 1, 'Stopped'));
    // refundTest: 2 cycles attached come back unless the callee accepts them
    const refund = leaf(0, 'Silent', { write_refund: true });
    const silent = { tag: 'Silent', value: { '#tup': [] } };
    const r1 = last([...run({ write: 1, calls: [call(refund, leaf(0, 'Silent'), { cycles: 2 })], end: silent }), ...tail]);
    expect(JSON.parse(r1.at(-1)!).mem['#map'][0][1]).toEqual({ '#bigint': '2' });
    const r2 = last([...run({ write: 1, calls: [call(refund, leaf(0, 'Silent'), { cycles: 2, prog: leaf(0, 'Reply', { accept: true }) })], end: silent }), ...tail]);
    expect(JSON.parse(r2.at(-1)!).mem['#map'][0][1]).toEqual({ '#bigint': '0' });
    // answerOnceTest
    expect(last([...run({ write: 1, calls: [call(leaf(2, 'Reply'), leaf(0, 'Silent'))], end: { tag: 'Reply', value: { '#tup': [] } } }), ...tail]).at(-1)).toBe(v(1, 'IReplied', 1));
  });

  it('[EXE-STARVED.1] regression found by the model: a context whose earlier callback trapped and whose last returns without answering is rejected as not replied', () => {
    const t = load(join(ROOT, STARVED_AFTER_TRAP));
    conform(t);
    const last = statesOf(join(ROOT, STARVED_AFTER_TRAP)).at(-1)!;
    expect(JSON.stringify(last['ingress'])).toContain('"class":"no_reply"');
  });
});
