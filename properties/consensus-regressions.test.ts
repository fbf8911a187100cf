/**
 * Regressions: schedules (found by review of the replica code) under which an earlier version of
 * the replica deadlocked with at most f Byzantine replicas although every message was
 * eventually delivered. Each is driven directly through the subnet's rules: deliver every
 * message not held back (oldest first), tick honest replicas at their timers.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { sha256Hex, signed, idealCrypto } from '../src/consensus/crypto.js';
import { NS_PER_MS } from '../src/consensus/params.js';
import { nextWakeup, ranks } from '../src/consensus/replica.js';
import { byzBlock, initSubnet, subnetByzantine, subnetDeliver, subnetTick, type ByzArtifact, type InFlight, type SubnetState } from '../src/consensus/subnet.js';
import { subnetConfig } from './consensus-schedule.js';

const ok = (r: E.Either<unknown, { state: SubnetState }>): SubnetState => {
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
  return r.right.state;
};
const mk = (byz: number[], dkgInterval = 499, seed = 'x'): SubnetState => ok(E.map((s: SubnetState) => ({ state: s }))(initSubnet({ ...subnetConfig(4, byz, seed), dkgInterval })));
const tickAll = (s: SubnetState, t: bigint): SubnetState => {
  for (let i = 0; i < s.cfg.n; i++) if (!s.byz.has(i)) s = ok(subnetTick(s, { node: i, now: t }));
  return s;
};
const run = (s: SubnetState, o: { hold?: (m: InFlight) => boolean; until?: (s: SubnetState) => boolean; maxT: bigint }): SubnetState => {
  const hold = o.hold ?? (() => false);
  for (let guard = 0; guard < 500_000; guard++) {
    if (o.until?.(s)) return s;
    const m = s.net
      .entries()
      .sort((a, b) => a[0] - b[0])
      .find(([, x]) => !hold(x));
    if (m !== undefined) {
      s = ok(subnetDeliver(s, { msg: m[0], now: s.time }));
      continue;
    }
    let t: bigint | undefined;
    for (let i = 0; i < s.cfg.n; i++) {
      const w = s.byz.has(i) ? undefined : nextWakeup(s.replicas[i]!);
      if (w !== undefined && w > s.time && (t === undefined || w < t)) t = w;
    }
    const next = t ?? s.time + 10n * NS_PER_MS;
    if (next > o.maxT) return s;
    s = tickAll(s, next);
  }
  return s;
};
const byzSend = (s: SubnetState, from: number, to: number[], artifact: ByzArtifact): SubnetState => {
  const r = subnetByzantine(s, { from, to, artifact });
  if (E.isLeft(r)) throw new Error(JSON.stringify(r.left));
  let x = r.right.state;
  for (const id of r.right.output.messages) x = ok(subnetDeliver(x, { msg: id, now: x.time }));
  return x;
};
const TEN_MIN = 600_000n * NS_PER_MS;
const honestRounds = (s: SubnetState) => s.replicas.filter((_r, i) => !s.byz.has(i)).map((r) => r.round);

describe('liveness regressions (n = 4, at most one Byzantine replica, every message delivered)', () => {
  it('[CON-BEACON-SHARE.1] [CON-LIVENESS.1] a Byzantine beacon share given to some replicas only does not starve the others', () => {
    let s = tickAll(mk([3]), 0n);
    const held = (m: InFlight) => (m.to === 1 || m.to === 2) && (m.artifact.kind === 'NotarizationShare' || m.artifact.kind === 'Notarization' || m.artifact.kind === 'FinalizationShare') && 'height' in m.artifact && m.artifact.height === 1;
    s = run(s, { hold: held, until: (x) => x.replicas[0]!.round === 2 && x.net.entries().every(([, m]) => held(m)), maxT: TEN_MIN });
    s = byzSend(s, 3, [1, 2], { kind: 'BeaconShare', height: 2, signer: 3 });
    s = run(s, { maxT: s.time + TEN_MIN, until: (x) => honestRounds(x).every((r) => r > 30) });
    expect(Math.min(...honestRounds(s))).toBeGreaterThan(30);
  });

  it('[CON-EQUIVOCATION.1] [CON-NOTARIZATION-RELAY.1] [CON-LIVENESS.1] an equivocating maker whose two blocks extend two different notarized parents does not deadlock the subnet', () => {
    // a seed where node D has rank 1 at height 1 and rank 0 at height 2
    let seed = '';
    let D = -1;
    for (let k = 0; D < 0; k++) {
      const b0 = mk([], 499, `seed${k}`).replicas[0]!.pool.get(0)!.beacon!.value;
      const b1 = sha256Hex(`unique-signature|${signed.beacon(1, b0)}`);
      const d = ranks(b0, 4).indexOf(1);
      if (ranks(b1, 4)[d] === 0) [seed, D] = [`seed${k}`, d];
    }
    const b0 = mk([], 499, seed).replicas[0]!.pool.get(0)!.beacon!.value;
    const C = ranks(b0, 4).indexOf(0);
    const [A, B] = [0, 1, 2, 3].filter((i) => i !== C && i !== D) as [number, number];
    let s = tickAll(mk([D], 499, seed), 0n);
    const g = s.replicas[A]!.finalizedTip;
    const Pp = { kind: 'Block' as const, height: 1, rank: 1, proposer: D, parent: g, time: 0n, payload: [] };
    const hPp = byzBlock(Pp, idealCrypto).hash;
    s = byzSend(s, D, [A, B, C], Pp);
    const P = s.replicas[C]!.pool.get(1)!.blocks.find((b) => b.proposer === C)!.hash;
    const holdP = (m: InFlight) => m.artifact.kind === 'Block' && m.artifact.block.hash === P && (m.to === A || m.to === B);
    s = run(s, { hold: holdP, until: (x) => [A, B].every((i) => x.replicas[i]!.pool.get(1)!.myNotar.includes(hPp)), maxT: TEN_MIN });
    s = run(s, { until: (x) => [A, B, C].every((i) => x.replicas[i]!.round === 2), maxT: TEN_MIN });
    s = byzSend(s, D, [A, B], { kind: 'NotarizationShare', height: 1, block: hPp, signer: D });
    const X: ByzArtifact = { kind: 'Block', height: 2, rank: 0, proposer: D, parent: P, time: s.time, payload: [] };
    s = byzSend(s, D, [A, B, C], X);
    s = byzSend(s, D, [A, B], { ...X, parent: hPp });
    s = run(s, { maxT: s.time + TEN_MIN, until: (x) => honestRounds(x).every((r) => r > 30) });
    expect(Math.min(...honestRounds(s))).toBeGreaterThan(30);
  });

  it('[CON-PURGE.1] [CON-CATCH-UP.1] a replica that finalized past its round (beacon shares held back) is not purged out of its round by a CUP', () => {
    let s = tickAll(mk([], 4), 0n);
    const hold = (m: InFlight) => m.to === 3 && m.artifact.kind === 'BeaconShare' && m.artifact.height === 2;
    s = run(s, { hold, until: (x) => x.replicas[0]!.finalizedHeight >= 12, maxT: TEN_MIN });
    s = run(s, { maxT: s.time + TEN_MIN, until: (x) => honestRounds(x).every((r) => r > 40) });
    expect(Math.min(...honestRounds(s))).toBeGreaterThan(40);
  });
});
