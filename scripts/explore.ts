/**
 * `npm run explore [-- --runs N] [vitest arguments]`: a long property campaign, outside `npm
 * test`: every property suite in properties/ (or the files named) with N fast-check runs per property (default 1,000,
 * against `npm test`'s 100; a suite that sets its own number keeps it), on one vitest worker per
 * core. The fast-check seed is printed as in `npm test` (FC_SEED=<seed> reproduces a run); vitest's
 * own `--shard=I/N` splits the campaign across machines.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../src/core/root.js';
import { isMainScript } from './quint-tools.js';

export const exploreArgs = (argv: readonly string[]): { readonly runs: number; readonly rest: readonly string[] } => {
  const rest: string[] = [];
  let runs = 1000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a === '--runs' ? argv[++i] : a.startsWith('--runs=') ? a.slice(7) : undefined;
    if (v === undefined) {
      rest.push(a);
      continue;
    }
    if (!/^[1-9][0-9]*$/.test(v)) throw new Error(`--runs needs a positive whole number, got "${v}"`);
    runs = Number(v);
  }
  return { runs, rest };
};

if (isMainScript('explore.js')) {
  let opts: ReturnType<typeof exploreArgs>;
  try {
    opts = exploreArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`explore: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const root = packageRoot();
  const vitest = join(dirname(createRequire(join(root, 'package.json')).resolve('vitest/package.json')), 'vitest.mjs');
  // one worker per core, unless the arguments say otherwise (vitest takes --maxWorkers once)
  const given = opts.rest.find((a) => a.startsWith('--maxWorkers'));
  const workers = given === undefined ? availableParallelism() : undefined;
  process.stderr.write(`explore: ${opts.runs} runs per property${workers === undefined ? ` (${given})` : ` on ${workers} workers`}\n`);
  // the property suites, unless file filters are given
  const filters = opts.rest.some((a) => !a.startsWith('-')) ? [] : ['properties'];
  const r = spawnSync(process.execPath, [vitest, 'run', ...filters, ...(workers === undefined ? [] : [`--maxWorkers=${workers}`]), ...opts.rest], { cwd: root, stdio: 'inherit', env: { ...process.env, FC_RUNS: String(opts.runs) } });
  process.exit(r.status ?? 1);
}
