/**
 * Generate consensus traces from the Quint model (spec/quint/consensus.qnt) and normalize them.
 *
 *   npm run traces:consensus                               # the committed traces: traces/consensus/quint/
 *   node dist/scripts/consensus-traces-gen.js --seed 0x2a --out /tmp/t --n 5 [--steps 40] [--no-violation]
 *   node dist/scripts/consensus-traces-gen.js --find-violation 0xa54ff53a5f1d [--samples 5000] [--steps 16]
 *
 * Two instances of the model (module `consensus_core`, machine `consensus_core`):
 * - `consensus_f1` (n = 4, Byzantine {3}, f = 1): `quint run --backend typescript --invariant inv`
 *   (safety and the model's self-checks on every state) writes `f1_trace_<i>.itf.json`;
 * - `consensus_f2` (n = 4, Byzantine {2, 3}: f exceeded): `quint run --step step_adversarial
 *   --invariant safe_inv --max-samples 1` with a pinned seed finds a safety violation and writes
 *   `f2_violation.itf.json` (quint exits 1: that is the expected result here). The seed was found
 *   with `--find-violation`, which searches many samples from a start seed for the shortest
 *   violation (stop at --steps) and prints the seed that reproduces it with one sample.
 *
 * Each file is rewritten: variables unqualified (`consensus_f1::consensus_core::blocks` → `blocks`)
 * and limited to KEPT_VARS; `#meta.machine = "consensus_core"`, `#meta.source`, `#meta.seed`,
 * `#meta.command` (the quint arguments), `#meta.requirements` (the IDs its replay against the
 * reference exercises); the nondeterministic `#meta.timestamp` / `#meta.description` are deleted,
 * so the files are byte-stable.
 *
 * Seeds: quint's RNG ("squares") is counter-based and the seed is the initial counter, so close
 * seeds give overlapping traces. Use seeds far apart (random 48-bit values).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { packageRoot } from '../src/core/root.js';
import { loadTraceText } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';
import { GenError, isMainScript, parseBasicArgs, quintBin, render, runGenerator, SEED_RE, type Doc, type Json } from './quint-tools.js';

export { GenError };

/** Pinned defaults for the committed traces. */
export const DEFAULT_SEED = '0x5be0cd19137e';
export const DEFAULT_N = 20;
export const DEFAULT_STEPS = 40;
/** Reproduces (with one sample) the 16-step violation found with `--find-violation` (at most one finalization share per height and node). */
export const VIOLATION_SEED = '0xa54ff55b33f3';
export const VIOLATION_MAX_STEPS = 40;
export const DEFAULT_OUT = join('traces', 'consensus', 'quint');
export const VIOLATION_FILE = 'f2_violation.itf.json';

const MODEL = 'spec/quint/consensus.qnt';
const MACHINE = 'consensus_core';
const F1 = ['--main', 'consensus_f1', '--invariant', 'inv'];
const F2 = ['--main', 'consensus_f2', '--step', 'step_adversarial', '--invariant', 'safe_inv'];

/** Variables written to the trace files, in this order; all others are the model's internals. */
export const KEPT_VARS = ['last_action', 'blocks', 'round', 'notar_shares', 'final_shares', 'notarized', 'finalized', 'safe'];

export interface GenOptions {
  readonly seed: string;
  readonly out: string;
  readonly n: number;
  readonly steps: number;
  /** also write the f2 violation trace (default true) */
  readonly violation?: boolean;
  readonly violationSeed?: string;
}


/** `consensus_f1::consensus_core::blocks` → `blocks` */
const unqualify = (v: string): string => v.slice(v.lastIndexOf('::') + (v.includes('::') ? 2 : 0));

const quintOutput = (r: { stdout: string | null; stderr: string | null }): string =>
  `${r.stdout ?? ''}${r.stderr ?? ''}`
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('npm warn'))
    .join('\n');

const runQuint = (root: string, args: readonly string[]) => {
  const bin = quintBin(root);
  const r = spawnSync(bin, ['run', '--backend', 'typescript', ...args, join(root, MODEL)], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new GenError(`cannot run ${bin}: ${r.error.message}`);
  return r;
};

/** Normalize one raw Quint ITF file (see the header comment). */
export const normalize = (raw: string, meta: { seed: string; command: string; trace?: number; violation?: boolean }, name: string): string => {
  const doc = JSON.parse(raw) as Doc;
  const byName = new Map(doc.vars.map((v) => [unqualify(v), v] as const));
  const missing = KEPT_VARS.filter((v) => !byName.has(v));
  if (missing.length > 0) throw new GenError(`quint output lacks variables ${missing.join(', ')}`);
  const { timestamp: _t, description: _d, source: _s, ...qmeta } = doc['#meta'];
  const states = doc.states.map((s, i) => {
    const o: Record<string, Json> = { '#meta': s['#meta'] ?? { index: i } };
    for (const v of KEPT_VARS) o[v] = s[byName.get(v)!]!;
    return o;
  });
  const doc2: Doc = {
    '#meta': {
      ...qmeta,
      source: MODEL,
      machine: MACHINE,
      requirements: [],
      seed: meta.seed,
      ...(meta.trace !== undefined ? { trace: meta.trace } : {}),
      ...(meta.violation ? { violation: 'safe_inv' } : {}),
      command: meta.command,
    },
    vars: KEPT_VARS,
    states,
  };
  // The requirements a trace claims are those its replay actually exercises.
  const loaded = loadTraceText(name, JSON.stringify(doc2));
  if (!loaded.ok) throw new GenError(`generated trace ${name} is not valid: ${loaded.pointer}: ${loaded.message}`);
  const r = replay(loaded.entry.machine, loaded);
  if (r.divergence) {
    const d = r.divergence;
    throw new GenError(`generated trace ${name} diverges from the reference at step ${d.step} (${d.action}, ${d.kind}) ${d.path}: expected ${d.expected}, actual ${d.actual} [${d.reqs.join(', ')}]`);
  }
  doc2['#meta'].requirements = r.exercised.filter((q) => q.startsWith('CON-'));
  return render(doc2);
};

const commandOf = (args: readonly string[]): string => ['quint', 'run', '--backend', 'typescript', ...args, MODEL].join(' ');

const checkSeed = (seed: string, what: string): void => {
  if (!SEED_RE.test(seed)) throw new GenError(`${what} must be decimal or 0x-hex, got "${seed}"`);
};

/** The f = 1 traces: `f1_trace_<i>.itf.json` (i = 0..n-1) in `out`. */
export const generateF1 = (root: string, out: string, seed: string, n: number, steps: number): string[] => {
  checkSeed(seed, 'the seed');
  const run = [...F1, '--seed', seed, '--max-steps', String(steps), '--max-samples', String(n), '--n-traces', String(n)];
  const r = runQuint(root, [...run, '--verbosity', '0', '--out-itf', join(out, 'f1_trace_{seq}.itf.json')]);
  if (r.status !== 0) throw new GenError(`quint run failed (exit ${r.status}; an invariant violation with f = 1 means a model bug):\n${quintOutput(r).split('\n').slice(0, 20).join('\n')}`);
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = join(out, `f1_trace_${i}.itf.json`);
    if (!existsSync(f)) throw new GenError(`quint did not write ${f}`);
    writeFileSync(f, normalize(readFileSync(f, 'utf8'), { seed, command: commandOf(run), trace: i }, `f1_trace_${i}`));
    files.push(f);
  }
  return files;
};

/** The f = 2 safety violation: `f2_violation.itf.json` in `out`. */
export const generateViolation = (root: string, out: string, seed: string = VIOLATION_SEED): string => {
  checkSeed(seed, 'the violation seed');
  const run = [...F2, '--seed', seed, '--max-steps', String(VIOLATION_MAX_STEPS), '--max-samples', '1'];
  const f = join(out, VIOLATION_FILE);
  const tmpl = join(out, 'f2_violation_{seq}.raw.json');
  const raw = join(out, 'f2_violation_0.raw.json');
  const r = runQuint(root, [...run, '--verbosity', '1', '--out-itf', tmpl]);
  const text = quintOutput(r);
  try {
    if (r.status === 0) throw new GenError(`quint found no safety violation with seed ${seed} (f = 2 must violate safe_inv); find a seed with --find-violation`);
    if (!/Invariant violated/.test(text)) throw new GenError(`quint run failed (exit ${r.status}):\n${text.split('\n').slice(0, 20).join('\n')}`);
    if (!existsSync(raw)) throw new GenError(`quint did not write ${raw}`);
    const doc = normalize(readFileSync(raw, 'utf8'), { seed, command: commandOf(run), violation: true }, 'f2_violation');
    const states = (JSON.parse(doc) as Doc).states;
    if (states[states.length - 1]!.safe !== false || states.slice(0, -1).some((s) => s.safe !== true))
      throw new GenError('the f2 trace must end in its first unsafe state');
    writeFileSync(f, doc);
  } finally {
    rmSync(raw, { force: true });
  }
  return f;
};

/**
 * Search `samples` runs from `seed` for a safety violation within `steps` steps; returns the
 * seed that reproduces it with one sample and its number of steps.
 */
export const findViolation = (seed: string, samples: number, steps: number): { seed: string; steps: number } | undefined => {
  checkSeed(seed, 'the search seed');
  const root = packageRoot();
  const r = runQuint(root, [...F2, '--seed', seed, '--max-steps', String(steps), '--max-samples', String(samples), '--verbosity', '1']);
  if (r.status === 0) return undefined;
  const m = /Use --seed=(0x[0-9a-f]+)/.exec(quintOutput(r));
  const found = m ? m[1]! : seed; // quint names no new seed when the first sample violates
  const dir = mkdtempSync(join(tmpdir(), 'icspec-consensus-find-'));
  try {
    const doc = JSON.parse(readFileSync(generateViolation(root, dir, found), 'utf8')) as Doc;
    return { seed: found, steps: doc.states.length - 1 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** Write all traces into `out`; returns the written files. */
export const generate = (opts: GenOptions): string[] => {
  const root = packageRoot();
  const out = isAbsolute(opts.out) ? opts.out : join(root, opts.out);
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (/^f1_trace_\d+\.itf\.json$/.test(f) || (opts.violation !== false && f === VIOLATION_FILE)) rmSync(join(out, f));
  const files = generateF1(root, out, opts.seed, opts.n, opts.steps);
  if (opts.violation !== false) files.push(generateViolation(root, out, opts.violationSeed ?? VIOLATION_SEED));
  return files;
};

const USAGE = 'usage: consensus-traces-gen [--seed S] [--out DIR] [--n N] [--steps K] [--violation-seed S] [--no-violation] | --find-violation S [--samples M] [--steps K]';

export const parseArgs = (argv: readonly string[]): GenOptions & { find?: string; samples: number; stepsGiven: boolean } => {
  let violation = true;
  let violationSeed = VIOLATION_SEED;
  let find: string | undefined;
  let samples = 5000;
  const basic = parseBasicArgs(argv, { seed: DEFAULT_SEED, out: DEFAULT_OUT, n: DEFAULT_N, steps: DEFAULT_STEPS }, USAGE, (flag, args) => {
    switch (flag) {
      case '--violation-seed':
        violationSeed = args.seed();
        return true;
      case '--find-violation':
        find = args.seed();
        return true;
      case '--samples':
        samples = args.posInt();
        return true;
      case '--no-violation':
        violation = false;
        return true;
      default:
        return false;
    }
  });
  return { ...basic, violation, violationSeed, find, samples, stepsGiven: argv.includes('--steps') };
};

const isMain = isMainScript('consensus-traces-gen.js');
if (isMain)
  runGenerator('consensus-traces-gen', () => {
    const opts = parseArgs(process.argv.slice(2));
    const t0 = Date.now();
    if (opts.find !== undefined) {
      const steps = opts.stepsGiven ? opts.steps : 16;
      const v = findViolation(opts.find, opts.samples, steps);
      if (v === undefined) console.log(`consensus-traces-gen: no violation within ${steps} steps in ${opts.samples} samples from ${opts.find} (${Date.now() - t0} ms)`);
      else console.log(`consensus-traces-gen: a ${v.steps}-step violation; reproduce with --violation-seed ${v.seed} (${Date.now() - t0} ms)`);
    } else {
      const files = generate(opts);
      console.log(
        `consensus-traces-gen: ${opts.n} f1 traces × ${opts.steps} steps (seed ${opts.seed})` +
          (opts.violation ? ` and the f2 violation (seed ${opts.violationSeed})` : '') +
          ` → ${opts.out} (${files.length} files) in ${Date.now() - t0} ms`,
      );
    }
  });
