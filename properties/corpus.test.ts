import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/root.js';
import { loadTrace } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';
import { recordScenario, scenarioFile, SCENARIOS } from '../scripts/ledger-scenarios.js';

const root = packageRoot();
const files = (dir: string): string[] =>
  readdirSync(dir)
    .sort()
    .flatMap((e) => {
      const p = join(dir, e);
      return statSync(p).isDirectory() ? files(p) : p.endsWith('.itf.json') ? [p] : [];
    });

describe('the committed trace corpus', () => {
  const corpus = files(join(root, 'traces'));

  it('[TRC-REPLAY.1] [TRC-INIT.1] [TRC-OUTCOME.1] [TRC-CANON.1] every committed trace (scenarios, Quint, regressions) is valid, conforms, and exercises the requirements it claims', () => {
    expect(corpus.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const f of corpus) {
      const t = loadTrace(f);
      if (!t.ok) {
        failures.push(`${relative(root, f)}: bad input at ${t.pointer}: ${t.message}`);
        continue;
      }
      const r = replay(t.entry.machine, t);
      // a trace may only claim requirements its replay really exercises
      const unexercised = t.requirements.filter((q) => !r.exercised.includes(q));
      if (unexercised.length) failures.push(`${relative(root, f)}: claims requirements its replay does not exercise: ${unexercised.join(', ')}`);
      if (r.divergence) failures.push(`${relative(root, f)}: step ${r.divergence.step} ${r.divergence.path}: expected ${r.divergence.expected}, actual ${r.divergence.actual} [${r.divergence.reqs.join(', ')}]`);
    }
    expect(failures).toEqual([]);
  });

  it('[TRC-MACHINE.1] every committed trace names its machine and the requirements it exercises', () => {
    for (const f of corpus) {
      const meta = (JSON.parse(readFileSync(f, 'utf8')) as { '#meta'?: { machine?: string; requirements?: string[] } })['#meta'];
      expect(meta?.machine, relative(root, f)).toBeTypeOf('string');
      expect(meta?.requirements?.length ?? 0, relative(root, f)).toBeGreaterThan(0);
    }
  });
});

describe('hand-written ledger scenarios', () => {
  for (const sc of SCENARIOS) {
    it(`[LED-ICRC1-TRANSFER.1] [LED-LEGACY-TRANSFER.1] scenario ${sc.name}: the reference gives every outcome written by hand from the spec (${sc.requirements.join(' ')})`, () => {
      const { trace, problems } = recordScenario(sc);
      expect(problems).toEqual([]);
      // the committed trace is what the reference records today (regenerate: npm run traces:scenarios)
      expect(JSON.parse(readFileSync(scenarioFile(sc.name), 'utf8'))).toEqual(JSON.parse(JSON.stringify(trace)));
    });
  }
});
