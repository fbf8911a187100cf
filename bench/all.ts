/**
 * `npm run bench`: every benchmark, each in its own process (so that one's heap does not
 * disturb another's figures). Prints ONE JSON object on stdout: `summary` (every target of every
 * benchmark with its measured value and whether it is met, and `all_met`), then the full report
 * of each benchmark (`ledger`, `consensus`, `execution`, `http`); progress goes to stderr.
 *
 * A target that is not met carries `profiles`: CPU profiles of extra runs of the workload that
 * misses it (top functions and sources by self time, GC share), which show where the time goes.
 *
 * `npm run bench -- --quick`: the same with small sizes and one repetition, for a local check in
 * about a minute. Its figures are indicative only: the targets are judged on full runs
 * (`summary.quick` says which).
 * Other arguments are passed to every benchmark.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const QUICK = process.argv.includes('--quick');
const PASS = process.argv.slice(2).filter((a) => a !== '--quick');

const BENCHES = [
  { name: 'ledger', file: 'ledger.js', quick: ['--sizes=1000,100000', '--steps=20000', '--warmup=5000', '--reps=1', '--decode-steps=5000'] },
  { name: 'consensus', file: 'consensus.js', quick: ['--reps=1', '--scale=0.2'] },
  { name: 'execution', file: 'execution.js', quick: ['--reps=1', '--cycles-pairs=1', '--seconds=0.2', '--canisters=500', '--mem-reps=1', '--warmup-seconds=0.3'] },
  { name: 'http', file: 'http.js', quick: ['--agents=10', '--calls=5', '--modes=raw'] },
] as const;

const run = (b: (typeof BENCHES)[number]): Record<string, unknown> => {
  process.stderr.write(`[bench] ${b.name}${QUICK ? ' (quick)' : ''}\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=64', join(here, b.file), ...(QUICK ? b.quick : []), ...PASS], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`${b.file} exited with ${r.status}`);
  process.stderr.write(`[bench] ${b.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

interface Target {
  readonly bench: string;
  readonly name: string;
  readonly value: unknown;
  readonly target?: unknown;
  readonly met: boolean | undefined;
  /** for a target not met: CPU profiles of the runs that explain the gap (bench/profile.ts) */
  readonly profiles?: unknown;
}

/** Every benchmark's targets in one shape (they report them as a list, or as a map of named targets). */
const targetsOf = (bench: string, report: Record<string, unknown>): Target[] => {
  const t = report['targets'];
  if (Array.isArray(t))
    return (t as Array<{ name: string; value: unknown; met: boolean | undefined; profiles?: unknown }>).map((x) => ({ bench, name: x.name, value: x.value, met: x.met, ...(x.profiles ? { profiles: x.profiles } : {}) }));
  if (t !== null && typeof t === 'object')
    return Object.entries(t as Record<string, { target: unknown; measured: unknown; met: boolean; profiles?: unknown }>).map(([name, x]) => ({
      bench,
      name,
      value: x.measured,
      target: x.target,
      met: x.met,
      ...(x.profiles ? { profiles: x.profiles } : {}),
    }));
  return [];
};

const reports: Record<string, Record<string, unknown>> = {};
for (const b of BENCHES) reports[b.name] = run(b);
const targets = Object.entries(reports).flatMap(([bench, r]) => targetsOf(bench, r));
const summary = {
  quick: QUICK,
  note: QUICK ? 'small sizes and one repetition: indicative figures; the targets are judged on full runs' : 'full runs',
  targets,
  met: targets.filter((t) => t.met === true).length,
  not_met: targets.filter((t) => t.met !== true).map((t) => `${t.bench}: ${t.name}`),
  all_met: targets.every((t) => t.met === true),
};
process.stdout.write(`${JSON.stringify({ summary, ...reports }, null, 2)}\n`);
