/**
 * Records the hand-written scenarios (scripts/ledger-scenarios.ts) into
 * traces/ledger/scenarios/. Refuses to write a scenario whose reference outcome differs
 * from the outcome written by hand from the spec.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/core/root.js';
import { recordScenario, scenarioFile, SCENARIOS } from './ledger-scenarios.js';

const main = () => {
  let bad = 0;
  mkdirSync(join(packageRoot(), 'traces', 'ledger', 'scenarios'), { recursive: true });
  for (const sc of SCENARIOS) {
    const { trace, problems } = recordScenario(sc);
    if (problems.length) {
      bad++;
      for (const p of problems) process.stderr.write(`error: ${p}\n`);
      continue;
    }
    writeFileSync(scenarioFile(sc.name), JSON.stringify(trace, null, 1) + '\n');
    process.stdout.write(`wrote ${scenarioFile(sc.name)} (${sc.steps.length} steps)\n`);
  }
  process.exitCode = bad ? 1 : 0;
};

main();
