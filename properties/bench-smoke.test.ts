/**
 * The execution benchmark still runs (a smoke run with tiny sizes): it asserts what the
 * benchmark produces, never how fast (speed targets are checked by `npm run bench`, not here).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { packageRoot } from '../src/core/root.js';

it('the execution benchmark runs and reports every figure of its targets', () => {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', join(packageRoot(), 'dist', 'bench', 'execution.js'), '--reps=1', '--cycles-pairs=1', '--seconds=0.05', '--warmup-seconds=0', '--warmup-runs=0', '--canisters=40', '--mem-reps=1'],
    { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
  );
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
  const j = JSON.parse(r.stdout) as { targets: Array<{ name: string; value: unknown; met: unknown }>; cycles_accounting: { minimal_wat: { ratio_cost_per_message_on_over_off: number } } };
  expect(j.targets).toHaveLength(7);
  for (const t of j.targets) {
    expect(typeof t.value, t.name).toBe('number');
    expect(typeof t.met, t.name).toBe('boolean');
  }
  // the cycles accounting ratio is a ratio of two measured costs
  expect(j.cycles_accounting.minimal_wat.ratio_cost_per_message_on_over_off).toBeGreaterThan(0);
});

it('[HTTP-SERVE.1] the HTTP load benchmark runs with real agents in a load generator and counts every call once', () => {
  const r = spawnSync(process.execPath, [join(packageRoot(), 'dist', 'bench', 'http.js'), '--agents=2', '--calls=2'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
  type Run = { updates: { answered: number }; queries: { answered: number }; count_after: string };
  const j = JSON.parse(r.stdout) as { raw: Run; agents: Run; verifying: Run; targets: unknown[] };
  expect([j.raw.updates.answered, j.raw.count_after, j.agents.updates.answered, j.agents.count_after, j.verifying.queries.answered, j.verifying.count_after]).toEqual([4, '4', 4, '8', 4, '12']);
  expect(j.targets).toHaveLength(2);
});
