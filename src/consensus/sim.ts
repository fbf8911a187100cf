/**
 * A scheduler for the subnet machine: a discrete-event simulation that picks the subnet's
 * arguments (who acts when, message delays, ingress, Byzantine moves) from a seeded PRNG and
 * applies the rules. It makes no protocol decision itself: everything it does is a rule
 * application, so a run can be written out as a trace and replayed. Not normative.
 */
import * as E from 'fp-ts/lib/Either.js';
import { canisterId } from '../core/principal.js';
import { accountId } from '../ledger/account.js';
import type { LedgerInit } from '../ledger/rules.js';
import { APP_DKG_INTERVAL, APP_SUBNET_DELAYS, NS_PER_MS, type DelayConfig } from './params.js';
import { blockHash, nextWakeup } from './replica.js';
import {
  initSubnet,
  subnetByzantine,
  subnetDeliver,
  subnetDrop,
  subnetHeal,
  subnetIngress,
  subnetPartition,
  subnetTick,
  type ByzArtifact,
  type IngressArgs,
  type StepOutput,
  type SubnetConfig,
  type SubnetState,
} from './subnet.js';
import type { Artifact, Block, Hash } from './types.js';

// ---------------------------------------------------------------- PRNG (xorshift128+ on 32-bit halves: sfc32)

/** sfc32: a small, fast, seedable generator. Deterministic for a seed; not cryptographic. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** uniform integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + (this.u32() % (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
}

// ---------------------------------------------------------------- event queue

interface Event {
  readonly t: bigint;
  readonly seq: number;
  readonly kind: 'deliver' | 'tick' | 'byz' | 'ingress' | 'partition' | 'heal';
  readonly groups?: readonly (readonly number[])[];
  readonly msg?: number;
  readonly node?: number;
  readonly byz?: { readonly from: number; readonly to: readonly number[]; readonly artifact: ByzArtifact };
}

/**
 * Events by (time, seq). Each entry keeps its time also as a double: comparing doubles first is
 * exact (Number() is monotone, so a < b whenever Number(a) < Number(b)), and far cheaper than
 * comparing bigints; the bigints decide only when the doubles are equal.
 */
class Heap {
  private xs: Event[] = [];
  private ks: number[] = [];
  get size(): number {
    return this.xs.length;
  }
  private less(i: number, j: number): boolean {
    const ki = this.ks[i]!;
    const kj = this.ks[j]!;
    if (ki !== kj) return ki < kj;
    const a = this.xs[i]!;
    const b = this.xs[j]!;
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }
  /** (no destructuring swap: V8 allocates an array for each) */
  private swap(i: number, j: number): void {
    const x = this.xs[i]!;
    this.xs[i] = this.xs[j]!;
    this.xs[j] = x;
    const k = this.ks[i]!;
    this.ks[i] = this.ks[j]!;
    this.ks[j] = k;
  }
  push(e: Event): void {
    const xs = this.xs;
    xs.push(e);
    this.ks.push(Number(e.t));
    let i = xs.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): Event | undefined {
    const xs = this.xs;
    if (xs.length === 0) return undefined;
    const top = xs[0]!;
    const last = xs.pop()!;
    const lastK = this.ks.pop()!;
    if (xs.length > 0) {
      xs[0] = last;
      this.ks[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < xs.length && this.less(l, m)) m = l;
        if (r < xs.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

// ---------------------------------------------------------------- options

/**
 * Byzantine strategies (spec/consensus.md [CON-ADVERSARY.1]):
 * - `silent`: never sends anything;
 * - `honest`: forwards exactly what the replica code sends;
 * - `equivocate`: as honest, but every block it makes is sent in two versions, one to each half of the honest replicas;
 * - `split`: the colluding attack: equivocate, notarization-share every block seen, finalization-share every
 *   notarized block, and send the shares on each version only to the half that got that version;
 * - `withhold`: as honest, but each artifact goes to a random subset only;
 * - `delay`: as honest, but everything is sent late (up to 3 unit delays).
 */
export const STRATEGIES = ['silent', 'honest', 'equivocate', 'split', 'withhold', 'delay'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface SimOptions {
  readonly nodes: number;
  readonly faulty: number;
  readonly rounds: number;
  readonly seed: number;
  /** network delay range in ms (inclusive) */
  readonly delayMs: readonly [number, number];
  readonly strategy: Strategy;
  readonly delays: DelayConfig;
  readonly dkgInterval: number;
  /** mean ingress messages per simulated second (0 = none) */
  readonly ingressPerSecond: number;
  /** record every rule application (for writing a trace) */
  readonly record: boolean;
  /** network partitions: from `fromMs` to `toMs` the nodes are split into `groups` */
  readonly partitions?: ReadonlyArray<{ readonly fromMs: number; readonly toMs: number; readonly groups: readonly (readonly number[])[] }>;
  /** replicas that are down for a while: every message to them in that time is lost */
  readonly outages?: ReadonlyArray<{ readonly node: number; readonly fromMs: number; readonly toMs: number }>;
  /** after this time (ms) every delay is at most `syncDelayMs` (global stabilization time) */
  readonly gstMs?: number;
  readonly syncDelayMs?: number;
  /** stop once this much simulated time has passed (ms) */
  readonly maxSimMs?: number;
  /** called every `progressEvery` rounds */
  readonly onProgress?: (round: number) => void;
}

export const defaultSimOptions: SimOptions = {
  nodes: 13,
  faulty: 0,
  rounds: 100,
  seed: 1,
  delayMs: [20, 200],
  strategy: 'split',
  delays: APP_SUBNET_DELAYS,
  dkgInterval: APP_DKG_INTERVAL,
  ingressPerSecond: 4,
  record: false,
};

export type RecordedStep =
  | { readonly tag: 'Tick'; readonly args: { readonly node: number; readonly now: bigint } }
  | { readonly tag: 'Deliver'; readonly args: { readonly msg: number; readonly now: bigint } }
  | { readonly tag: 'Ingress'; readonly args: IngressArgs }
  | { readonly tag: 'Drop'; readonly args: { readonly msg: number } }
  | { readonly tag: 'Partition'; readonly args: { readonly groups: readonly (readonly number[])[] } }
  | { readonly tag: 'Heal'; readonly args: Record<string, never> }
  | { readonly tag: 'Byzantine'; readonly args: { readonly from: number; readonly to: readonly number[]; readonly artifact: ByzArtifact } };

export interface SimResult {
  readonly config: SubnetConfig;
  readonly state: SubnetState;
  readonly steps: number;
  /** rounds completed: the highest round any honest replica reached, minus one */
  readonly rounds: number;
  /** highest height finalized by some honest replica, and by all of them */
  readonly finalizedHeight: number;
  readonly finalizedByAll: number;
  readonly simulatedMs: number;
  /** ms from each finalized ingress message's arrival to the first honest finalization of its block */
  readonly latenciesMs: readonly number[];
  readonly ingressSubmitted: number;
  readonly safety: { readonly held: boolean; readonly height?: number; readonly detail?: string };
  readonly stateAgreement: boolean;
  /** the rank of the block honest replicas finalized at each height (when they held it) */
  readonly finalizedRanks: ReadonlyMap<number, number>;
  readonly recorded: readonly RecordedStep[];
}

/** The ledger every simulated subnet runs: 8 funded accounts. */
export const simLedger = (): LedgerInit => ({
  minting_account: { owner: canisterId(1n) },
  transfer_fee: 10_000n,
  transaction_window: 24n * 3600n * 1_000_000_000n,
  permitted_drift: 60n * 1_000_000_000n,
  initial_values: SIM_USERS.map((p) => [accountId({ owner: p }), 1_000_000_000n] as [string, bigint]),
  time: 0n,
});
const SIM_USERS = Array.from({ length: 8 }, (_x, i) => canisterId(BigInt(100 + i)));

export const subnetConfigFor = (o: Pick<SimOptions, 'nodes' | 'faulty' | 'seed' | 'delays' | 'dkgInterval'>): SubnetConfig => ({
  n: o.nodes,
  byzantine: Array.from({ length: o.faulty }, (_x, i) => o.nodes - o.faulty + i),
  delays: o.delays,
  dkgInterval: o.dkgInterval,
  maxIngressPerBlock: 1000,
  seed: `sim-${o.seed}`,
  genesisTime: 0n,
  ledger: simLedger(),
});

/** The arguments of a Byzantine move that sends an artifact the replica code produced. */
export const asByz = (a: Artifact): ByzArtifact | undefined => {
  switch (a.kind) {
    case 'Block': {
      const b = a.block;
      return { kind: 'Block', height: b.height, rank: b.rank, proposer: b.proposer, parent: b.parent, time: b.time, payload: b.payload };
    }
    case 'NotarizationShare':
    case 'FinalizationShare':
      return { kind: a.kind, height: a.height, block: a.block, signer: a.sig.signer };
    case 'Notarization':
    case 'Finalization':
      return { kind: a.kind, height: a.height, block: a.block, signers: a.sig.signers };
    case 'BeaconShare':
      return { kind: 'BeaconShare', height: a.height, signer: a.sig.signer };
    case 'Beacon':
      return { kind: 'Beacon', height: a.height, signers: a.sig.signers };
    default:
      return undefined; // CUP shares, CUPs and ingress are not the adversary's to send
  }
};

/** nearest-rank percentile of sorted values */
export const percentile = (sorted: readonly number[], p: number): number | undefined =>
  sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

export class SimError extends Error {}

/** Run a simulation. Deterministic for its options. */
export const simulate = (o: SimOptions): SimResult => {
  const cfg = subnetConfigFor(o);
  const init = initSubnet(cfg);
  if (E.isLeft(init)) throw new SimError(`${init.left.code}: ${init.left.message}`);
  let s = init.right;
  const rng = new Rng(o.seed);
  const heap = new Heap();
  let seq = 0;
  const recorded: RecordedStep[] = [];
  const n = o.nodes;
  const byz = new Set(cfg.byzantine);
  const honest = Array.from({ length: n }, (_x, i) => i).filter((i) => !byz.has(i));
  // the adversary's two halves of the honest replicas (and the Byzantine ones see everything)
  const halfA = honest.filter((_x, k) => k % 2 === 0);
  const halfB = honest.filter((_x, k) => k % 2 === 1);
  const byzList = [...byz];
  const wake = new Array<bigint | undefined>(n).fill(undefined);
  const gst = o.gstMs === undefined ? undefined : BigInt(o.gstMs) * NS_PER_MS;
  const delayNs = (): bigint => {
    const d = BigInt(rng.int(o.delayMs[0], o.delayMs[1])) * NS_PER_MS;
    if (gst === undefined || s.time < gst) return d;
    const cap = BigInt(o.syncDelayMs ?? o.delayMs[1]) * NS_PER_MS;
    return d < cap ? d : cap;
  };
  const ms = (x: number): bigint => BigInt(x) * NS_PER_MS;
  const outages = o.outages ?? [];
  const down = (node: number, t: bigint): boolean => outages.some((x) => x.node === node && t >= ms(x.fromMs) && t < ms(x.toMs));
  let partitionEnds: bigint | undefined;
  for (const p of o.partitions ?? []) {
    heap.push({ t: ms(p.fromMs), seq: seq++, kind: 'partition', groups: p.groups });
    heap.push({ t: ms(p.toMs), seq: seq++, kind: 'heal' });
  }
  const unitNs = o.delays.unitDelayMs * NS_PER_MS;
  const sentByz = new Set<string>();
  const targetOf = new Map<Hash, readonly number[]>();

  const schedule = (node: number): void => {
    const t = nextWakeup(s.replicas[node]!);
    if (t !== undefined && t !== wake[node]) {
      wake[node] = t;
      heap.push({ t, seq: seq++, kind: 'tick', node });
    }
  };
  const scheduleMsgs = (ids: readonly number[]): void => {
    for (const id of ids) heap.push({ t: s.time + delayNs(), seq: seq++, kind: 'deliver', msg: id });
  };
  const byzSend = (from: number, to: readonly number[], artifact: ByzArtifact, at: bigint): void => {
    const key = `${from}|${to.join(',')}|${JSON.stringify(artifact, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
    if (sentByz.has(key) || to.length === 0) return;
    sentByz.add(key);
    heap.push({ t: at, seq: seq++, kind: 'byz', byz: { from, to, artifact } });
  };
  const others = (from: number): number[] => Array.from({ length: n }, (_x, i) => i).filter((i) => i !== from);

  /** The adversary sees a Byzantine replica's output and decides what to send. */
  const adversary = (from: number, out: StepOutput): void => {
    const st = o.strategy;
    if (st === 'silent') return;
    const now = s.time;
    for (const art of out.out.sent) {
      const b = asByz(art);
      if (b === undefined) continue;
      if ((st === 'equivocate' || st === 'split') && art.kind === 'Block' && byz.has(art.block.proposer) && (art.block.proposer !== from || targetOf.has(art.block.hash)))
        continue; // never relay the coalition's own versions: who sees which version is the attack
      if (st === 'honest') byzSend(from, others(from), b, now);
      else if (st === 'delay') byzSend(from, others(from), b, now + BigInt(rng.int(0, 3)) * unitNs);
      else if (st === 'withhold') byzSend(from, others(from).filter(() => rng.chance(0.5)), b, now);
      else if (b.kind === 'Block' && b.proposer === from) {
        // equivocate: a second version of its own block (one ns later), each to one half
        const twin: ByzArtifact = { ...b, time: b.time + 1n };
        const A = [...halfA, ...byzList.filter((x) => x !== from)];
        const B = [...halfB, ...byzList.filter((x) => x !== from)];
        byzSend(from, A, b, now);
        byzSend(from, B, twin, now);
        const h1 = art.kind === 'Block' ? art.block.hash : '';
        const twinHash = blockHash(twin as ByzArtifact & { kind: 'Block' });
        targetOf.set(h1, A);
        targetOf.set(twinHash, B);
        if (st === 'split') {
          for (const x of byzList) {
            byzSend(from, A, { kind: 'NotarizationShare', height: b.height, block: h1, signer: x }, now);
            byzSend(from, B, { kind: 'NotarizationShare', height: b.height, block: twinHash, signer: x }, now);
          }
        }
      } else if (st === 'split' && (b.kind === 'NotarizationShare' || b.kind === 'FinalizationShare' || b.kind === 'Notarization')) {
        // shares on every block of the height, each sent to the side that got that block
        const replica = s.replicas[from]!;
        const p = replica.pool.get(b.height);
        const blocks = p === undefined ? [] : p.blocks.map((x: Block) => x.hash);
        for (const h of blocks.length > 0 ? blocks : [b.block]) {
          const to = targetOf.get(h) ?? others(from);
          if (b.kind === 'Notarization') {
            if (h === b.block) byzSend(from, to, b, now);
            continue;
          }
          for (const x of byzList) byzSend(from, to, { kind: b.kind, height: b.height, block: h, signer: x }, now);
          if (b.kind === 'NotarizationShare')
            for (const x of byzList) byzSend(from, to, { kind: 'FinalizationShare', height: b.height, block: h, signer: x }, now);
        }
      } else byzSend(from, others(from), b, now);
    }
  };

  const apply = (r: ReturnType<typeof subnetTick>, rec: RecordedStep): void => {
    if (E.isLeft(r)) return; // not enabled (e.g. a stale message id): the scheduler skips it
    s = r.right.state;
    if (o.record) recorded.push(rec);
    const outp = r.right.output;
    scheduleMsgs(outp.messages);
    if (byz.has(outp.node) && outp.out.sent.length > 0) adversary(outp.node, outp);
    else if (!byz.has(outp.node)) {
      topRound = Math.max(topRound, s.replicas[outp.node]!.round);
      for (const f of outp.out.finalized) {
        const b = s.replicas[outp.node]!.blocksByHash.get(f.hash);
        if (b !== undefined && !finalizedRanks.has(f.height)) finalizedRanks.set(f.height, b.rank);
      }
    }
    schedule(outp.node);
  };
  /** the highest round an honest replica has entered (only the acting replica changes in a step) */
  let topRound = 1;
  const finalizedRanks = new Map<number, number>();

  // ingress: Poisson-ish arrivals at random honest replicas
  let ingressCount = 0;
  const nextIngress = (t: bigint): void => {
    if (o.ingressPerSecond <= 0) return;
    const gapMs = Math.max(1, Math.round(1000 / o.ingressPerSecond));
    heap.push({ t: t + BigInt(rng.int(1, 2 * gapMs)) * NS_PER_MS, seq: seq++, kind: 'ingress' });
  };
  nextIngress(0n);
  for (let i = 0; i < n; i++) heap.push({ t: 0n, seq: seq++, kind: 'tick', node: i });

  let steps = 0;
  const maxRound = (): number => Math.max(...honest.map((i) => s.replicas[i]!.round));
  let lastProgress = 0;
  const limitNs = BigInt(o.rounds) * 200n * unitNs + 60_000n * NS_PER_MS;
  for (;;) {
    const ev = heap.pop();
    if (ev === undefined || ev.t > limitNs || (o.maxSimMs !== undefined && ev.t > ms(o.maxSimMs))) break;
    if (ev.kind === 'tick') {
      if (wake[ev.node!] !== ev.t && ev.t !== 0n) continue;
      wake[ev.node!] = undefined;
      if (byz.has(ev.node!) && o.strategy === 'silent') continue;
      if (down(ev.node!, ev.t)) {
        // a replica that is down does nothing; it resumes when the outage ends
        const end = (o.outages ?? []).find((x) => x.node === ev.node && ev.t >= ms(x.fromMs) && ev.t < ms(x.toMs))!;
        wake[ev.node!] = ms(end.toMs);
        heap.push({ t: ms(end.toMs), seq: seq++, kind: 'tick', node: ev.node! });
        continue;
      }
      const args = { node: ev.node!, now: ev.t };
      apply(subnetTick(s, args), { tag: 'Tick', args });
    } else if (ev.kind === 'deliver') {
      const m = s.net.get(ev.msg!);
      if (m === undefined) continue;
      if (down(m.to, ev.t)) {
        const args = { msg: ev.msg! };
        apply(subnetDrop(s, args), { tag: 'Drop', args });
      } else if (s.partition !== undefined && s.partition[m.from] !== s.partition[m.to]) {
        // held by the partition: try again after it heals
        heap.push({ t: (partitionEnds ?? ev.t) + delayNs(), seq: seq++, kind: 'deliver', msg: ev.msg! });
        continue;
      } else {
        const args = { msg: ev.msg!, now: ev.t };
        apply(subnetDeliver(s, args), { tag: 'Deliver', args });
      }
    } else if (ev.kind === 'partition') {
      const args = { groups: ev.groups! };
      partitionEnds = (o.partitions ?? []).find((p) => ms(p.fromMs) === ev.t)?.toMs === undefined ? undefined : ms((o.partitions ?? []).find((p) => ms(p.fromMs) === ev.t)!.toMs);
      apply(subnetPartition(s, args), { tag: 'Partition', args });
    } else if (ev.kind === 'heal') {
      const args = {};
      partitionEnds = undefined;
      apply(subnetHeal(s, args), { tag: 'Heal', args });
    } else if (ev.kind === 'byz') {
      const args = { ...ev.byz!, artifact: ev.byz!.artifact };
      apply(subnetByzantine(s, args), { tag: 'Byzantine', args });
    } else {
      const k = ingressCount++;
      const from = SIM_USERS[k % SIM_USERS.length]!;
      const to = SIM_USERS[(k + 3) % SIM_USERS.length]!;
      const args: IngressArgs = {
        node: honest[rng.int(0, honest.length - 1)]!,
        call: { tag: 'Icrc1Transfer', args: { caller: from, from_subaccount: undefined, to: { owner: to }, amount: BigInt(1 + (k % 1000)), fee: undefined, memo: undefined, created_at_time: undefined } },
        nonce: BigInt(k),
        expiry: ev.t + 4n * 60n * 1_000_000_000n,
        now: ev.t,
      };
      apply(subnetIngress(s, args), { tag: 'Ingress', args });
      nextIngress(ev.t);
    }
    steps++;
    if (o.onProgress && topRound - lastProgress >= 10) {
      lastProgress = topRound;
      o.onProgress(topRound - 1);
    }
    // the run ends when an honest replica enters round R + 1: R rounds have been completed
    if (topRound > o.rounds) break;
    if (s.violation !== undefined) break; // a violation ends the run (it is what the run reports)
  }
  const lat: number[] = [];
  for (const [, e] of s.ingress.entries()) if (e.finalized !== undefined) lat.push(Number((e.finalized - e.arrived) / NS_PER_MS));
  lat.sort((a, b) => a - b);
  const v = s.violation;
  return {
    config: cfg,
    state: s,
    steps,
    rounds: Math.min(o.rounds, maxRound() - 1),
    finalizedHeight: s.maxFinalized,
    finalizedByAll: Math.min(...honest.map((i) => s.replicas[i]!.finalizedHeight)),
    simulatedMs: Number(s.time / NS_PER_MS),
    latenciesMs: lat,
    ingressSubmitted: ingressCount,
    safety: v === undefined ? { held: true } : { held: false, height: v.height, detail: `node ${v.first.node} finalized ${v.first.hash.slice(0, 16)}… and node ${v.second.node} finalized ${v.second.hash.slice(0, 16)}… at height ${v.height}` },
    stateAgreement: s.stateDivergence === undefined,
    finalizedRanks,
    recorded,
  };
};

