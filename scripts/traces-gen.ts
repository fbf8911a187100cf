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
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { packageRoot } from '../src/core/root.js';
import { loadTraceText } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';
import { Args, GenError, isMainScript, quintBin, render, SEED_RE, type Json } from './quint-tools.js';

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
  if (!SEED_RE.test(opts.seed)) throw new GenError(`the seed must be decimal or 0x-hex, got "${opts.seed}"`);
  const root = packageRoot();
  const bin = quintBin(root);
  const out = isAbsolute(opts.out) ? opts.out : join(root, opts.out);
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (/^trace_\d+\.itf\.json$/.test(f)) rmSync(join(out, f));
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
  const r = spawnSync(bin, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new GenError(`cannot run ${bin}: ${r.error.message}`);
  if (r.status !== 0) {
    const msg = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '' && !l.includes('npm warn')).slice(0, 20).join('\n');
    throw new GenError(`quint run failed (exit ${r.status}; an invariant violation means a model bug):\n${msg}`);
  }
  const files: string[] = [];
  for (let i = 0; i < opts.n; i++) {
    const f = join(out, `trace_${i}.itf.json`);
    if (!existsSync(f)) throw new GenError(`quint did not write ${f}`);
    writeFileSync(f, normalize(readFileSync(f, 'utf8'), opts.seed, i, root));
    files.push(f);
  }
  return files;
};

export const parseArgs = (argv: readonly string[]): GenOptions => {
  let seed = DEFAULT_SEED;
  let out = DEFAULT_OUT;
  let n = DEFAULT_N;
  let steps = DEFAULT_STEPS;
  const args = new Args(argv);
  for (let a = args.next(); a !== undefined; a = args.next()) {
    switch (a) {
      case '--seed':
        seed = args.seed();
        break;
      case '--out':
        out = args.value();
        break;
      case '--n':
        n = args.posInt();
        break;
      case '--steps':
        steps = args.posInt();
        break;
      default:
        throw new GenError(`unknown argument "${a}" (usage: traces-gen [--seed S] [--out DIR] [--n N] [--steps K])`);
    }
  }
  return { seed, out, n, steps };
};

const isMain = isMainScript('traces-gen.js');
if (isMain) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const t0 = Date.now();
    const files = generate(opts);
    console.log(`traces-gen: ${files.length} traces × ${opts.steps} steps (seed ${opts.seed}) → ${opts.out} in ${Date.now() - t0} ms`);
  } catch (e) {
    if (e instanceof GenError) {
      console.error(`traces-gen: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
