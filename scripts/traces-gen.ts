/**
 * Generate ledger traces from the Quint model (spec/quint/ledger.qnt) and normalize them.
 *
 *   npm run traces:gen                       # the committed traces: traces/ledger/quint/
 *   node dist/scripts/traces-gen.js --seed 0x2a --out /tmp/t --n 5 [--steps 30]
 *
 * Runs `quint run --backend typescript` (offline; the default rust backend downloads a binary),
 * checking the model's invariant `inv` on every state, then rewrites each file:
 * - `#meta.machine = "ledger"`, `#meta.requirements` (the IDs its replay exercises), `#meta.seed`, `#meta.source` relative;
 *   the nondeterministic `#meta.timestamp` / `#meta.description` are deleted (byte-stable files);
 * - the model's internal variables (dedup, sent_icrc, sent_legacy) are removed;
 * - the Init outcome `OkUnit` becomes `Ok` with a unit payload (a Quint constructor has one
 *   payload type, and the reference's Init returns `Ok(())` while transfers return `Ok(nat)`).
 *
 * Seeds: quint's RNG ("squares") is counter-based and the seed is the initial counter, so two
 * seeds that are close (1, 2, 3, …) soon fall into the same counter values and yield the same
 * traces after the first one. Use seeds far apart (random 48-bit values), never consecutive ones.
 * Trace i of a run does not depend on --n (it depends on --steps).
 */
import { join, relative, resolve } from 'node:path';
import { packageRoot } from '../src/core/root.js';
import { loadTraceText } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';
import { GenError, isMainScript, normalizeAll, prepareOut, parseBasicArgs, render, runGenerator, runQuintOrFail, type Json } from './quint-tools.js';

export { GenError };

/** Pinned defaults for the committed traces. */
export const DEFAULT_SEED = '0x2b7e1516';
export const DEFAULT_N = 20;
export const DEFAULT_STEPS = 30;
export const DEFAULT_OUT = join('traces', 'ledger', 'quint');

const MODEL = join('spec', 'quint', 'ledger.qnt');


/** Variables written to the trace files, in this order; all others are the model's internals. */
const KEPT_VARS = ['last_action', 'outcome', 'balances', 'total_supply', 'block_count', 'time', 'last_tx', 'minting_account'];

export interface GenOptions {
  readonly seed: string;
  readonly out: string;
  readonly n: number;
  readonly steps: number;
}




/** Normalize one raw Quint ITF file (see the header comment). */
export const normalize = (raw: string, seed: string, index: number, root: string): string => {
  const doc = JSON.parse(raw) as { '#meta': Record<string, Json>; vars: string[]; states: Array<Record<string, Json>> };
  const missing = KEPT_VARS.filter((v) => !doc.vars.includes(v));
  if (missing.length > 0) throw new GenError(`quint output lacks variables ${missing.join(', ')}`);
  const { timestamp: _t, description: _d, source, ...meta } = doc['#meta'];
  const states = doc.states.map((s, i) => {
    const o: Record<string, Json> = { '#meta': s['#meta'] ?? { index: i } };
    for (const v of KEPT_VARS) o[v] = s[v]!;
    const out = o.outcome as { tag?: string } | undefined;
    if (out?.tag === 'OkUnit') o.outcome = { tag: 'Ok', value: { '#tup': [] } };
    return o;
  });
  const doc2 = {
    '#meta': {
      ...meta,
      source: typeof source === 'string' ? relative(root, resolve(root, source)).split('\\').join('/') : MODEL,
      machine: 'ledger',
      requirements: [] as string[],
      seed,
      trace: index,
    },
    vars: KEPT_VARS,
    states,
  };
  // The requirements a trace claims are those its replay actually exercises.
  const loaded = loadTraceText(`trace_${index}`, JSON.stringify(doc2));
  if (!loaded.ok) throw new GenError(`generated trace ${index} is not valid: ${loaded.pointer}: ${loaded.message}`);
  doc2['#meta'].requirements = replay(loaded.entry.machine, loaded).exercised.filter((r) => r.startsWith('LED-'));
  return render(doc2);
};

/** Run quint and write `trace_<i>.itf.json` (i = 0..n-1) into `out`; returns the written files. */
export const generate = (opts: GenOptions): string[] => {
  const root = packageRoot();
  const out = prepareOut(root, opts);
  const args = [
    'run',
    '--backend', 'typescript',
    '--seed', opts.seed,
    '--max-steps', String(opts.steps),
    '--max-samples', String(opts.n),
    '--n-traces', String(opts.n),
    '--invariant', 'inv',
    '--verbosity', '0',
    '--out-itf', join(out, 'trace_{seq}.itf.json'),
    join(root, MODEL),
  ];
  runQuintOrFail(root, args);
  const files = normalizeAll(out, opts.n, (raw, _f, i) => normalize(raw, opts.seed, i, root));
  return files;
};

export const parseArgs = (argv: readonly string[]): GenOptions =>
  parseBasicArgs(argv, { seed: DEFAULT_SEED, out: DEFAULT_OUT, n: DEFAULT_N, steps: DEFAULT_STEPS }, 'usage: traces-gen [--seed S] [--out DIR] [--n N] [--steps K]');

const isMain = isMainScript('traces-gen.js');
if (isMain)
  runGenerator('traces-gen', () => {
    const opts = parseArgs(process.argv.slice(2));
    const t0 = Date.now();
    const files = generate(opts);
    console.log(`traces-gen: ${files.length} traces × ${opts.steps} steps (seed ${opts.seed}) → ${opts.out} in ${Date.now() - t0} ms`);
  });
