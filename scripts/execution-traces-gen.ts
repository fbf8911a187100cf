/**
 * Generate execution traces from the Quint model of the abstract behaviour
 * (spec/quint/execution.qnt) and normalize them for the `execution_abstract` machine.
 *
 *   npm run traces:execution                                   # the committed traces: traces/execution/quint/
 *   node dist/scripts/execution-traces-gen.js --seed 0x2a --out /tmp/t --n 5 [--steps 30]
 *
 * `quint run --backend typescript --main execution_k2 --invariant inv` (two canisters; the model's
 * five invariants on every state) writes `trace_<i>.itf.json`; each file is rewritten: variables
 * unqualified (`execution_k2::execution::mem` → `mem`) and limited to KEPT_VARS; the `Init` action
 * names the universal canister's module (`traces/execution/modules/universal.wasm`) by a path
 * relative to the trace and its SHA-256; `#meta.machine = "execution_abstract"`, `#meta.source`,
 * `#meta.seed`, `#meta.command`, `#meta.requirements` (the IDs its replay exercises); the
 * nondeterministic `#meta.timestamp` / `#meta.description` are deleted, so the files are
 * byte-stable. A trace that diverges from the reference is an error: the model and the machine
 * disagree.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../src/core/bytes.js';
import { packageRoot } from '../src/core/root.js';
import type { Machine } from '../src/core/machine.js';
import { abstractMachine, type AbstractInit, type AbstractState } from '../src/execution/abstract.js';
import { fromJson, type ItfValue } from '../src/trace/itf.js';
import { loadTrace, loadTraceText } from '../src/trace/load.js';
import { record, replay, type RecordedAction } from '../src/trace/replay.js';
import { MUTANTS } from './execution-mutants.js';
import { GenError, isMainScript, normalizeAll, prepareOut, parseBasicArgs, render, runGenerator, runQuintOrFail, type BasicGenOptions, type Doc, type Json } from './quint-tools.js';

export { GenError };

/** Pinned defaults for the committed traces. */
export const DEFAULT_SEED = '0x3c6ef372fe94';
export const DEFAULT_N = 20;
export const DEFAULT_STEPS = 40;
export const DEFAULT_OUT = join('traces', 'execution', 'quint');
/** The regression shrunk against the mutant that completes `stop_canister` with open call contexts. */
export const REGRESSION = join('traces', 'execution', 'regressions', 'stop-with-open-contexts.itf.json');
export const REGRESSION_MUTANT = 'stops-with-open-contexts';

const MODEL = 'spec/quint/execution.qnt';
const MACHINE = 'execution_abstract';
const RUN = ['--main', 'execution_k2', '--invariant', 'inv'];
/** The universal canister's module, as committed beside the execution traces. */
export const UNIVERSAL = join('traces', 'execution', 'modules', 'universal.wasm');

/** Variables written to the trace files, in this order; the others are the model's internals. */
export const KEPT_VARS = ['last_action', 'status', 'mem', 'ingress', 'open_contexts', 'time'];

export type GenOptions = BasicGenOptions;

/** `execution_k2::execution::mem` → `mem` */
const unqualify = (v: string): string => v.slice(v.lastIndexOf('::') + (v.includes('::') ? 2 : 0));

const commandOf = (args: readonly string[]): string => ['quint', 'run', '--backend', 'typescript', ...args, MODEL].join(' ');

/** Normalize one raw Quint ITF file written to `file` (see the header comment). */
export const normalize = (raw: string, file: string, meta: { seed: string; command: string; trace: number }, root: string = packageRoot()): string => {
  const doc = JSON.parse(raw) as Doc;
  const byName = new Map(doc.vars.map((v) => [unqualify(v), v] as const));
  const missing = KEPT_VARS.filter((v) => !byName.has(v));
  if (missing.length > 0) throw new GenError(`quint output lacks variables ${missing.join(', ')}`);
  const { timestamp: _t, description: _d, source: _s, ...qmeta } = doc['#meta'];
  const wasm = readFileSync(join(root, UNIVERSAL));
  const module = { tag: 'Path', value: { path: relative(dirname(file), join(root, UNIVERSAL)).split('\\').join('/'), sha256: toHex(sha256(wasm)) } };
  const states = doc.states.map((s, i) => {
    const o: Record<string, Json> = { '#meta': s['#meta'] ?? { index: i } };
    for (const v of KEPT_VARS) o[v] = s[byName.get(v)!]!;
    if (i === 0) {
      const a = o['last_action'] as { tag: string; value: Record<string, Json> };
      o['last_action'] = { tag: a.tag, value: { ...a.value, wasm: module } };
    }
    return o;
  });
  const doc2: Doc = {
    '#meta': { ...qmeta, source: MODEL, machine: MACHINE, requirements: [], seed: meta.seed, trace: meta.trace, command: meta.command },
    vars: KEPT_VARS,
    states,
  };
  // The requirements a trace claims are those its replay actually exercises.
  const loaded = loadTraceText(file, JSON.stringify(doc2));
  if (!loaded.ok) throw new GenError(`generated trace ${file} is not valid: ${loaded.pointer}: ${loaded.message}`);
  const r = replay(loaded.entry.machine, loaded);
  if (r.divergence) {
    const d = r.divergence;
    throw new GenError(`generated trace ${file} diverges from the reference at step ${d.step} (${d.action}, ${d.kind}) ${d.path}: expected ${d.expected}, actual ${d.actual} [${d.reqs.join(', ')}]`);
  }
  doc2['#meta'].requirements = r.exercised.filter((q) => q.startsWith('EXE-'));
  return render(doc2);
};

/** Run quint and write `trace_<i>.itf.json` (i = 0..n-1) into `out`; returns the written files. */
export const generate = (opts: GenOptions): string[] => {
  const root = packageRoot();
  const out = prepareOut(root, opts);
  const run = [...RUN, '--seed', opts.seed, '--max-steps', String(opts.steps), '--max-samples', String(opts.n), '--n-traces', String(opts.n)];
  runQuintOrFail(root, ['run', '--backend', 'typescript', ...run, '--verbosity', '0', '--out-itf', join(out, 'trace_{seq}.itf.json'), join(root, MODEL)]);
  const files = normalizeAll(out, opts.n, (raw, f, i) => normalize(raw, f, { seed: opts.seed, command: commandOf(run), trace: i }, root));
  return files;
};

// ---------------------------------------------------------------- shrinking against a mutant

type Mutant = Machine<AbstractState, AbstractInit>;

/** Whether the mutant diverges from this trace (written by the reference). */
const catches = (mutant: Mutant, trace: unknown, name: string): boolean => {
  const l = loadTraceText(name, JSON.stringify(trace));
  if (!l.ok) throw new GenError(`${name}: ${l.pointer}: ${l.message}`);
  return replay(mutant, l).divergence !== undefined;
};

/** The reference's trace of these actions, or undefined if one of them is not enabled. */
const recordAll = (init: ItfValue, actions: readonly RecordedAction[]): unknown => {
  const { trace } = record(abstractMachine, init, actions, { view: KEPT_VARS.slice(1) });
  const states = (trace as { states: Array<Record<string, { tag?: string }>> }).states;
  return states.every((st) => st['outcome']?.tag === 'Ok') ? trace : undefined;
};

/**
 * A trace the mutant gets wrong, shrunk: the prefix of `file` up to the first divergence, then
 * every action whose removal keeps the trace valid for the reference and still wrong for the
 * mutant removed (greedily, until none can go). Its views are the reference's. Undefined when
 * the mutant does not diverge on `file`.
 */
export const shrinkAgainst = (mutant: Mutant, file: string, out: string, root: string = packageRoot()): string | undefined => {
  const loaded = loadTrace(file);
  if (!loaded.ok) throw new GenError(`${file}: ${loaded.pointer}: ${loaded.message}`);
  const d = replay(mutant, loaded).divergence;
  // (a mutant that diverges at init has nothing to shrink)
  if (d === undefined || d.step === 0) return undefined;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Doc;
  const wasm = readFileSync(join(root, UNIVERSAL));
  const init = fromJson({ canisters: (raw.states[0]!['last_action'] as { value: { canisters: Json } }).value.canisters, wasm: { tag: 'Inline', value: toHex(wasm) } }) as ItfValue;
  let actions: RecordedAction[] = raw.states.slice(1, d.step + 1).map((st) => {
    const a = st['last_action'] as { tag: string; value: Json };
    return { tag: a.tag, args: fromJson(a.value) };
  });
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = actions.length - 1; i >= 0; i--) {
      const fewer = [...actions.slice(0, i), ...actions.slice(i + 1)];
      const t = recordAll(init, fewer);
      if (t !== undefined && catches(mutant, t, out)) {
        actions = fewer;
        changed = true;
      }
    }
  }
  const trace = recordAll(init, actions) as Doc | undefined;
  if (trace === undefined || !catches(mutant, trace, out)) throw new GenError(`${file}: the prefix up to the mutant's divergence does not replay on the reference, or no longer catches the mutant`);
  return finishRegression(trace, out, wasm, root, { shrunk_from: relative(root, file).split('\\').join('/'), caught_mutant: Object.keys(MUTANTS).find((k) => MUTANTS[k] === mutant) ?? 'mutant' });
};

/** A recorded regression with its module by path, its meta and the requirements its replay exercises. */
const finishRegression = (trace: Doc, out: string, wasm: Uint8Array, root: string, meta: Record<string, Json>): string => {
  const module = { tag: 'Path', value: { path: relative(dirname(out), join(root, UNIVERSAL)).split('\\').join('/'), sha256: toHex(sha256(wasm)) } };
  const first = trace.states[0]!['last_action'] as { tag: string; value: Record<string, Json> };
  trace.states[0]!['last_action'] = { tag: first.tag, value: { ...first.value, wasm: module } };
  const l = loadTraceText(out, JSON.stringify(trace));
  if (!l.ok) throw new GenError(`the regression is not valid: ${l.pointer}: ${l.message}`);
  const reqs = replay(abstractMachine, l).exercised.filter((q) => q.startsWith('EXE-'));
  const { 'format-description': _f, ...m } = trace['#meta'];
  trace['#meta'] = { ...m, source: MODEL, requirements: reqs, ...meta };
  return render(trace);
};

/**
 * The counterexample the model's traces found in the machine (seed 0x1234567890, trace 0, step
 * 34): a context whose first callback trapped and whose last returned without answering was
 * rejected with the earlier trap, where the replica answers "did not reply" ([EXE-STARVED.1]).
 * Shrunk by hand to its six actions; its views are the (fixed) reference's.
 */
export const STARVED_AFTER_TRAP = join('traces', 'execution', 'regressions', 'starved-after-trap.itf.json');

export const generateStarvedAfterTrap = (root: string = packageRoot(), out: string = join(root, STARVED_AFTER_TRAP)): string => {
  const wasm = readFileSync(join(root, UNIVERSAL));
  const init = fromJson({ canisters: 2, wasm: { tag: 'Inline', value: toHex(wasm) } }) as ItfValue;
  const end = (tag: string): Json => ({ tag, value: { '#tup': [] } });
  const leaf = (write: number, e: string): Json => ({ write, end: end(e), accept: false, write_refund: false });
  const call = (onReply: string): Json => ({ callee: 1, cycles: 0, prog: leaf(0, 'Reply'), on_reply: leaf(0, onReply), on_reject: leaf(0, 'Silent'), on_cleanup: leaf(0, 'Silent') });
  const act = (tag: string, args: Json): RecordedAction => ({ tag, args: fromJson(args) as ItfValue });
  const actions = [
    act('SubmitIngress', { id: 0, canister: 0, prog: { write: 0, calls: [call('Trap'), call('Silent')], end: end('Silent') } }),
    act('ExecuteIngress', { id: 0 }),
    act('ExecuteCall', { from: 0, to: 1 }),
    act('ExecuteCall', { from: 0, to: 1 }),
    act('DeliverResponse', { callback: 0 }),
    act('DeliverResponse', { callback: 1 }),
  ];
  const trace = recordAll(init, actions) as Doc | undefined;
  if (trace === undefined) throw new GenError('the starved-after-trap regression has a step the reference does not take');
  writeFileSync(out, finishRegression(trace, out, wasm, root, { found_by: 'traces:execution --seed 0x1234567890 --n 100 --steps 50 (trace 0, step 34)' }));
  return out;
};

/** Write the committed regression: shrunk from the first committed trace the mutant gets wrong. */
export const generateRegression = (files: readonly string[], root: string = packageRoot(), out: string = join(root, REGRESSION)): string => {
  mkdirSync(dirname(out), { recursive: true });
  for (const f of files) {
    const text = shrinkAgainst(MUTANTS[REGRESSION_MUTANT]!, f, out, root);
    if (text !== undefined) {
      writeFileSync(out, text);
      return out;
    }
  }
  throw new GenError(`no trace catches the mutant ${REGRESSION_MUTANT}: the traces lack teeth`);
};

const USAGE = 'usage: execution-traces-gen [--seed S] [--out DIR] [--n N] [--steps K]';

export const parseArgs = (argv: readonly string[]): GenOptions => parseBasicArgs(argv, { seed: DEFAULT_SEED, out: DEFAULT_OUT, n: DEFAULT_N, steps: DEFAULT_STEPS }, USAGE);

if (isMainScript('execution-traces-gen.js'))
  runGenerator('execution-traces-gen', () => {
    const opts = parseArgs(process.argv.slice(2));
    const files = generate(opts);
    process.stdout.write(`wrote ${files.length} traces to ${dirname(files[0] ?? DEFAULT_OUT)}\n`);
    if (opts.out === DEFAULT_OUT) {
      process.stdout.write(`wrote the regression ${relative(packageRoot(), generateRegression(files))}\n`);
      process.stdout.write(`wrote the regression ${relative(packageRoot(), generateStarvedAfterTrap())}\n`);
    }
  });
