/**
 * The consensus scenario traces (traces/consensus/scenarios/, scripts/consensus-scenarios.ts):
 * each is what the scheduler and the reference produce now, and shows what it claims.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONSENSUS_SCENARIOS, consensusScenarioFile, recordConsensusScenario } from '../scripts/consensus-scenarios.js';
import { loadTrace } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';

describe('consensus scenarios', () => {
  for (const sc of CONSENSUS_SCENARIOS) {
    it(`${sc.focus.map((q) => `[${q}]`).join(' ')} scenario ${sc.name}: ${sc.description}`, () => {
      const { text, problems } = recordConsensusScenario(sc);
      expect(problems).toEqual([]);
      // the committed file is what the scenario produces now (regenerate: npm run traces:scenarios)
      expect(readFileSync(consensusScenarioFile(sc.name), 'utf8')).toBe(text);
      const t = loadTrace(consensusScenarioFile(sc.name));
      if (!t.ok) throw new Error(t.message);
      const r = replay(t.entry.machine, t);
      expect(r.divergence).toBeUndefined();
      for (const q of sc.focus) expect(t.requirements).toContain(q);
      expect(t.steps[t.steps.length - 1]!.view.safety).toBe(sc.safe);
    });
  }
});
