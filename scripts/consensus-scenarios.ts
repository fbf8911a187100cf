/**
 * Consensus scenario traces (traces/consensus/scenarios/): runs of the subnet machine under the
 * seeded scheduler, each made to show one behaviour, written as traces with the requirement IDs
 * their replay exercises. `npm run traces:scenarios` writes them; properties/consensus-scenarios.test.ts
 * checks that the committed files are what this produces and that each shows what it claims.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/core/root.js';
import { ranks } from '../src/consensus/replica.js';
import { defaultSimOptions, simulate, type SimOptions } from '../src/consensus/sim.js';
import { genesisBeacon } from '../src/consensus/subnet.js';
import { simTrace } from '../src/consensus/trace.js';
import { loadTraceText } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';

export interface ConsensusScenario {
  readonly name: string;
  readonly description: string;
  readonly options: Partial<SimOptions>;
  /** requirements the scenario is made to show (its replay must exercise them) */
  readonly focus: readonly string[];
  /** the expected safety verdict at the end */
  readonly safe: boolean;
}

/** The first seed ≥ 1 whose genesis beacon makes `node` the rank-0 block maker of height 1. */
const seedWithLeader = (n: number, node: number): number => {
  for (let seed = 1; ; seed++) if (ranks(genesisBeacon(`sim-${seed}`), n).indexOf(0) === node) return seed;
};

const base: Partial<SimOptions> = { nodes: 4, faulty: 0, delayMs: [20, 200], ingressPerSecond: 3, strategy: 'honest' };

export const CONSENSUS_SCENARIOS: readonly ConsensusScenario[] = [
  {
    name: 'honest',
    description: 'four honest replicas, ledger transfers arriving as ingress: every round notarizes and finalizes a block; replicas execute the same transfers and agree on state hashes',
    options: { ...base, rounds: 3, seed: 7 },
    focus: ['CON-PROPOSE.1', 'CON-NOTARIZE-SHARE.1', 'CON-FINALIZE-SHARE.1', 'CON-FINALIZED.1', 'CON-EXECUTE.1', 'CON-STATE-AGREEMENT.1', 'CON-BEACON.1', 'CON-INGRESS.1'],
    safe: true,
  },
  {
    name: 'equivocation',
    description: 'the Byzantine rank-0 block maker (node 3) sends two versions of its block, one to each half: replicas that see both disqualify the rank; safety holds',
    options: { ...base, faulty: 1, strategy: 'equivocate', rounds: 3, seed: seedWithLeader(4, 3), ingressPerSecond: 0 },
    focus: ['CON-EQUIVOCATION.1', 'CON-ADVERSARY.1', 'CON-SAFETY.1'],
    safe: true,
  },
  {
    name: 'partition-heals',
    description: 'the network splits into {0,1} and {2,3} from 1 s to 4 s: no side reaches the threshold, rounds stall; after the partition heals the held messages arrive and rounds finalize again',
    options: { ...base, rounds: 5, seed: 3, ingressPerSecond: 1, partitions: [{ fromMs: 1000, toMs: 4000, groups: [[0, 1], [2, 3]] }] },
    focus: ['CON-PARTITION.1', 'CON-NOTARIZATION-RELAY.1', 'CON-ROUND.1'],
    safe: true,
  },
  {
    name: 'catch-up',
    description: 'replica 3 is down from 1 s to 7 s (every message to it is lost); a CUP every 4 heights; when it is back it adopts the next CUP (state sync), then finalizes with the others and agrees',
    options: { ...base, rounds: 12, seed: 5, dkgInterval: 3, ingressPerSecond: 1, outages: [{ node: 3, fromMs: 1000, toMs: 7000 }] },
    focus: ['CON-CUP.1', 'CON-CATCH-UP.1', 'CON-STATE-SYNC.1', 'CON-DROP.1', 'CON-PURGE.1'],
    safe: true,
  },
  {
    name: 'too-many-faults',
    description: '2 of 4 replicas Byzantine (f = 1): they equivocate and send the shares on each version only to the half that got it; two honest replicas finalize different blocks at one height',
    options: { ...base, faulty: 2, strategy: 'split', rounds: 10, seed: 1, ingressPerSecond: 0 },
    focus: ['CON-SAFETY.1', 'CON-ADVERSARY.1', 'CON-FINALIZE-SHARE.1'],
    safe: false,
  },
];

export const consensusScenarioFile = (name: string): string => join(packageRoot(), 'traces', 'consensus', 'scenarios', `${name}.itf.json`);

/** Run, record and replay a scenario; its trace text and any problem with what it claims. */
export const recordConsensusScenario = (sc: ConsensusScenario): { text: string; problems: string[] } => {
  const res = simulate({ ...defaultSimOptions, ...sc.options, record: true });
  const problems: string[] = [];
  if (res.safety.held !== sc.safe) problems.push(`${sc.name}: safety ${res.safety.held ? 'held' : 'violated'}, expected ${sc.safe ? 'held' : 'violated'}`);
  const meta = { description: sc.description, scenario: sc.name, requirements: [] as string[] };
  const first = simTrace(res.config, res.recorded, meta);
  const t = loadTraceText(`${sc.name}.itf.json`, JSON.stringify(first));
  if (!t.ok) return { text: '', problems: [...problems, `${sc.name}: ${t.pointer}: ${t.message}`] };
  const r = replay(t.entry.machine, t);
  if (r.divergence) problems.push(`${sc.name}: diverges at step ${r.divergence.step}: ${r.divergence.path}`);
  const missing = sc.focus.filter((q) => !r.exercised.includes(q));
  if (missing.length) problems.push(`${sc.name}: does not exercise ${missing.join(', ')}`);
  const doc = simTrace(res.config, res.recorded, { ...meta, requirements: r.exercised.filter((q) => q.startsWith('CON-')) }) as { '#meta': unknown; vars: string[]; states: unknown[] };
  const text = `{"#meta":${JSON.stringify(doc['#meta'])},\n"vars":${JSON.stringify(doc.vars)},\n"states":[\n${doc.states.map((s) => JSON.stringify(s)).join(',\n')}\n]}\n`;
  return { text, problems };
};

const main = (): void => {
  mkdirSync(join(packageRoot(), 'traces', 'consensus', 'scenarios'), { recursive: true });
  let bad = 0;
  for (const sc of CONSENSUS_SCENARIOS) {
    const { text, problems } = recordConsensusScenario(sc);
    if (problems.length) {
      bad++;
      for (const p of problems) process.stderr.write(`error: ${p}\n`);
      continue;
    }
    writeFileSync(consensusScenarioFile(sc.name), text);
    process.stdout.write(`wrote ${consensusScenarioFile(sc.name)} (${text.split('\n').length - 4} states, ${Math.round(text.length / 1024)} KiB)\n`);
  }
  process.exitCode = bad ? 1 : 0;
};

if (process.argv[1]?.endsWith('consensus-scenarios.js')) main();
