/**
 * Adversarial schedules for the subnet machine, as lists of moves that fast-check generates
 * and shrinks. A move names its target relatively (the k-th message in flight, a node, a
 * Byzantine macro), so removing moves while shrinking leaves the rest meaningful. The
 * interpreter turns moves into rule applications (subnet actions) and keeps them, so a
 * schedule can be written out as a trace.
 */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { NS_PER_MS, blockMakers } from '../src/consensus/params.js';
import { blockHash, ranks } from '../src/consensus/replica.js';
import type { RecordedStep } from '../src/consensus/sim.js';
import { simLedger } from '../src/consensus/sim.js';
import {
  genesisBeacon,
  initSubnet,
  subnetByzantine,
  subnetDeliver,
  subnetDrop,
  subnetTick,
  type ByzArtifact,
  type SubnetConfig,
  type SubnetState,
} from '../src/consensus/subnet.js';
import type { Hash } from '../src/consensus/types.js';

export type Move =
  | { readonly k: 'deliver'; readonly pick: number; readonly dtMs: number }
  | { readonly k: 'drop'; readonly pick: number }
  | { readonly k: 'tick'; readonly node: number; readonly dtMs: number }
  /** a Byzantine block maker sends two versions of a block of its round, one to each half of the honest nodes */
  | { readonly k: 'equivocate'; readonly from: number }
  /** every Byzantine node notarization-shares every block of the round it holds, each to the side that got it */
  | { readonly k: 'notarizeAll'; readonly from: number }
  /** every Byzantine node finalization-shares every block it holds at its round and the one before */
  | { readonly k: 'finalizeAll'; readonly from: number };

export const subnetConfig = (n: number, byzantine: readonly number[], seed = 'prop'): SubnetConfig => ({
  n,
  byzantine,
  delays: { unitDelayMs: 1000n, initialNotaryDelayMs: 600n },
  dkgInterval: 499,
  maxIngressPerBlock: 1000,
  seed,
  genesisTime: 0n,
  ledger: simLedger(),
});

/** The first of `prop-0`, `prop-1`, … whose genesis beacon gives a Byzantine node rank 0 at height 1. */
export const seedWithByzantineLeader = (n: number, byz: readonly number[]): string => {
  for (let i = 0; ; i++) if (byz.includes(ranks(genesisBeacon(`prop-${i}`), n).indexOf(0))) return `prop-${i}`;
};

export const arbMove = (n: number, byz: readonly number[], byzWeight = 1): fc.Arbitrary<Move> => {
  const node = fc.integer({ min: 0, max: n - 1 });
  const moves: Array<{ arbitrary: fc.Arbitrary<Move>; weight: number }> = [
    { arbitrary: fc.record({ k: fc.constant('deliver' as const), pick: fc.nat(1000), dtMs: fc.integer({ min: 0, max: 300 }) }), weight: 12 },
    { arbitrary: fc.record({ k: fc.constant('drop' as const), pick: fc.nat(1000) }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('tick' as const), node, dtMs: fc.integer({ min: 0, max: 1200 }) }), weight: 4 },
  ];
  if (byz.length > 0) {
    const from = fc.constantFrom(...byz);
    moves.push(
      { arbitrary: fc.record({ k: fc.constant('equivocate' as const), from }), weight: byzWeight },
      { arbitrary: fc.record({ k: fc.constant('notarizeAll' as const), from }), weight: byzWeight },
      { arbitrary: fc.record({ k: fc.constant('finalizeAll' as const), from }), weight: byzWeight },
    );
  }
  return fc.oneof(...moves);
};

/** how many of the oldest in-flight messages a delivery or drop may pick from */
export const WINDOW = 12;

export interface Run {
  readonly state: SubnetState;
  readonly steps: readonly RecordedStep[];
}

/** Apply a schedule; `check` runs after every applied step and may stop the run. */
export const runSchedule = (cfg: SubnetConfig, moves: readonly Move[], check?: (s: SubnetState) => boolean): Run => {
  const init = initSubnet(cfg);
  if (E.isLeft(init)) throw new Error(init.left.message);
  let s = init.right;
  const steps: RecordedStep[] = [];
  const byz = cfg.byzantine;
  const honest = Array.from({ length: cfg.n }, (_x, i) => i).filter((i) => !byz.includes(i));
  const halves = [honest.filter((_x, k) => k % 2 === 0), honest.filter((_x, k) => k % 2 === 1)];
  /** blocks the adversary made: who got each, and its height */
  const side = new Map<Hash, { readonly to: readonly number[]; readonly height: number }>();
  const all = Array.from({ length: cfg.n }, (_x, i) => i);
  const sentOnce = new Set<string>();
  const byzSend = (from: number, to: readonly number[], artifact: ByzArtifact): void => {
    // the adversary sends each artifact to each side once (repeating it changes nothing)
    const key = `${to.join(',')}|${JSON.stringify(artifact, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
    if (sentOnce.has(key)) return;
    sentOnce.add(key);
    const args = { from, to: to.filter((j) => j !== from), artifact };
    const r = subnetByzantine(s, args);
    if (E.isRight(r)) {
      s = r.right.state;
      steps.push({ tag: 'Byzantine', args });
    }
  };
  /** the oldest messages in flight: a move picks among the first WINDOW (reordering, but progress) */
  const inFlight = (): number[] => s.net.entries().map(([id]) => id).sort((a, b) => a - b).slice(0, WINDOW);
  const equivocated = new Set<string>();
  for (const m of moves) {
    switch (m.k) {
      case 'deliver': {
        const ids = inFlight();
        if (ids.length === 0) break;
        const args = { msg: ids[m.pick % ids.length]!, now: s.time + BigInt(m.dtMs) * NS_PER_MS };
        const r = subnetDeliver(s, args);
        if (E.isRight(r)) {
          s = r.right.state;
          steps.push({ tag: 'Deliver', args });
        }
        break;
      }
      case 'drop': {
        const ids = inFlight();
        if (ids.length === 0) break;
        const args = { msg: ids[m.pick % ids.length]! };
        const r = subnetDrop(s, args);
        if (E.isRight(r)) {
          s = r.right.state;
          steps.push({ tag: 'Drop', args });
        }
        break;
      }
      case 'tick': {
        const args = { node: m.node, now: s.time + BigInt(m.dtMs) * NS_PER_MS };
        const r = subnetTick(s, args);
        if (E.isRight(r)) {
          s = r.right.state;
          steps.push({ tag: 'Tick', args });
        }
        break;
      }
      case 'equivocate': {
        const r = s.replicas[m.from]!;
        const h = r.round;
        const prev = r.pool.get(h - 1)?.beacon?.value;
        const parentHash = h - 1 === r.finalizedHeight ? r.finalizedTip : [...(r.pool.get(h - 1)?.notarizations.keys() ?? [])].sort()[0];
        const parent = parentHash === undefined ? undefined : r.blocksByHash.get(parentHash);
        if (prev === undefined || parent === undefined) break;
        const rank = ranks(prev, cfg.n)[m.from]!;
        if (rank >= blockMakers(cfg.n) || equivocated.has(`${m.from}|${h}`)) break;
        equivocated.add(`${m.from}|${h}`);
        const time = r.clock > parent.time ? r.clock : parent.time;
        for (let v = 0; v < 2; v++) {
          const b: ByzArtifact = { kind: 'Block', height: h, rank, proposer: m.from, parent: parent.hash, time: time + BigInt(v), payload: [] };
          const to = [...halves[v]!, ...byz];
          side.set(blockHash(b as ByzArtifact & { kind: 'Block' }), { to, height: h });
          byzSend(m.from, to, b);
        }
        break;
      }
      case 'notarizeAll':
      case 'finalizeAll': {
        const r = s.replicas[m.from]!;
        const hs = m.k === 'notarizeAll' ? [r.round] : [r.round, r.round - 1];
        for (const h of hs) {
          const blocks = new Set([...(r.pool.get(h)?.blocks ?? []).map((b) => b.hash), ...[...side].filter(([, v]) => v.height === h).map(([k]) => k)]);
          for (const b of blocks)
            for (const x of byz) byzSend(m.from, side.get(b)?.to ?? all, { kind: m.k === 'notarizeAll' ? 'NotarizationShare' : 'FinalizationShare', height: h, block: b, signer: x });
        }
        break;
      }
    }
    if (check && !check(s)) break;
  }
  return { state: s, steps };
};

/** Finalized chains of honest replicas are prefixes of one another (compared height by height). */
export const chainsAgree = (s: SubnetState): string | undefined => {
  const honest = s.replicas.filter((_r, i) => !s.byz.has(i));
  for (let a = 0; a < honest.length; a++)
    for (let b = a + 1; b < honest.length; b++) {
      const ra = honest[a]!;
      const rb = honest[b]!;
      const top = Math.min(ra.finalizedHeight, rb.finalizedHeight);
      for (let h = 0; h <= top; h++) {
        const x = ra.finalized.get(h);
        const y = rb.finalized.get(h);
        if (x !== undefined && y !== undefined && x !== y) return `replicas ${ra.id} and ${rb.id} finalized different blocks at height ${h}`;
      }
    }
  return undefined;
};
