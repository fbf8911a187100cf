/**
 * A subnet: n replicas and the network between them, as a machine (spec/consensus.md "Subnet").
 * Every choice is an argument: which replica acts and when (`Tick`), which message is
 * delivered to whom and when (`Deliver`) or lost (`Drop`), partitions (`Partition`, `Heal`),
 * ingress arrival (`Ingress`) and every Byzantine move (`Byzantine`). Byzantine replicas run the
 * replica code, but what they send is the adversary's choice: their outputs go to the
 * adversary (in the step's output), never to the network by themselves.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PMap } from '../core/pmap.js';
import { notEnabled, ok, type Result } from '../core/machine.js';
import type { LedgerInit } from '../ledger/rules.js';
import { idealCrypto, sha256Hex, signed, type Crypto } from './crypto.js';
import { faultsTolerated, MAX_INGRESS_PER_BLOCK, type DelayConfig } from './params.js';
import { blockHash, ingressId, initReplica, issued, receive, tick, type Replica, type ReplicaConfig, type ReplicaOutput } from './replica.js';
import type { Artifact, Block, Hash, IngressMsg, LedgerCall } from './types.js';

export interface SubnetConfig {
  readonly n: number;
  /** the Byzantine replicas (any number: more than f is allowed, to show what breaks) */
  readonly byzantine: readonly number[];
  readonly delays: DelayConfig;
  readonly dkgInterval: number;
  readonly maxIngressPerBlock: number;
  /** seed of the genesis random beacon */
  readonly seed: string;
  readonly genesisTime: bigint;
  readonly ledger: LedgerInit;
  readonly crypto?: Crypto;
}

export interface InFlight {
  readonly id: number;
  readonly from: number;
  readonly to: number;
  readonly artifact: Artifact;
  readonly sentAt: bigint;
}

export interface Disagreement {
  readonly height: number;
  readonly first: { readonly node: number; readonly hash: Hash };
  readonly second: { readonly node: number; readonly hash: Hash };
}

export interface SubnetState {
  readonly cfg: SubnetConfig;
  readonly byz: ReadonlySet<number>;
  /** the subnet's time (ns): no event happens before an earlier one */
  readonly time: bigint;
  readonly replicas: readonly Replica[];
  readonly net: PMap<number, InFlight>;
  readonly inFlight: number;
  readonly nextMsg: number;
  /** the partition group of each node, when partitioned */
  readonly partition: readonly number[] | undefined;
  /** the first block an honest replica finalized at each height, and who */
  readonly finalizedAt: PMap<number, { readonly hash: Hash; readonly node: number }>;
  readonly stateAt: PMap<number, { readonly hash: Hash; readonly node: number }>;
  /** the first safety violation: two honest replicas finalized different blocks at one height */
  readonly violation: Disagreement | undefined;
  readonly stateDivergence: Disagreement | undefined;
  /** ingress arrival and (first honest) finalization times */
  readonly ingress: PMap<Hash, { readonly arrived: bigint; readonly finalized: bigint | undefined }>;
  /** highest height some honest replica finalized */
  readonly maxFinalized: number;
}

/** A copy of a subnet record with some fields replaced (every field listed: a stable object shape, faster than a spread). */
const withS = (s: SubnetState, c: Partial<SubnetState>): SubnetState => ({
  cfg: c.cfg ?? s.cfg,
  byz: c.byz ?? s.byz,
  time: c.time ?? s.time,
  replicas: c.replicas ?? s.replicas,
  net: c.net ?? s.net,
  inFlight: c.inFlight ?? s.inFlight,
  nextMsg: c.nextMsg ?? s.nextMsg,
  partition: 'partition' in c ? c.partition : s.partition,
  finalizedAt: c.finalizedAt ?? s.finalizedAt,
  stateAt: c.stateAt ?? s.stateAt,
  violation: 'violation' in c ? c.violation : s.violation,
  stateDivergence: 'stateDivergence' in c ? c.stateDivergence : s.stateDivergence,
  ingress: c.ingress ?? s.ingress,
  maxFinalized: c.maxFinalized ?? s.maxFinalized,
});

export const genesisBeacon = (seed: string): Hash => sha256Hex(`genesis-beacon|${seed}`);

export const replicaConfig = (cfg: SubnetConfig): ReplicaConfig => ({
  n: cfg.n,
  delays: cfg.delays,
  dkgInterval: cfg.dkgInterval,
  maxIngressPerBlock: cfg.maxIngressPerBlock,
  crypto: cfg.crypto ?? idealCrypto,
  genesisBeacon: genesisBeacon(cfg.seed),
  genesisTime: cfg.genesisTime,
  ledger: cfg.ledger,
});

/** [CON-SUBNET.1] */
export const initSubnet = (cfg: SubnetConfig): E.Either<{ code: string; message: string }, SubnetState> => {
  if (!Number.isInteger(cfg.n) || cfg.n < 1 || cfg.n > 1000) return E.left({ code: 'InvalidConfig', message: `n = ${cfg.n}: a subnet has 1 to 1000 nodes` });
  // model choice (spec/consensus.md): the committee is the whole subnet, so n = 3f + 1
  if (cfg.n !== 3 * faultsTolerated(cfg.n) + 1) return E.left({ code: 'InvalidConfig', message: `n = ${cfg.n}: subnets of this model have n = 3f + 1 nodes (1, 4, 7, 10, 13, …, 28, …, 40)` });
  const bad = cfg.byzantine.find((b) => b < 0 || b >= cfg.n);
  if (bad !== undefined) return E.left({ code: 'InvalidConfig', message: `Byzantine node ${bad} is not one of 0..${cfg.n - 1}` });
  if (cfg.dkgInterval < 0 || cfg.maxIngressPerBlock < 0 || cfg.maxIngressPerBlock > MAX_INGRESS_PER_BLOCK)
    return E.left({ code: 'InvalidConfig', message: `dkg_interval must be ≥ 0 and max_ingress_per_block in 0..${MAX_INGRESS_PER_BLOCK}` });
  const rc = replicaConfig(cfg);
  const replicas: Replica[] = [];
  for (let i = 0; i < cfg.n; i++) {
    const r = initReplica(rc, i); // each replica builds its own state (no shared structure)
    if (E.isLeft(r)) return r;
    replicas.push(r.right);
  }
  const g = replicas[0]!.finalizedTip;
  return E.right({
    cfg,
    byz: new Set(cfg.byzantine),
    time: cfg.genesisTime,
    replicas,
    net: PMap.empty(),
    inFlight: 0,
    nextMsg: 0,
    partition: undefined,
    finalizedAt: PMap.from([[0, { hash: g, node: 0 }]]),
    stateAt: PMap.from([[0, { hash: replicas[0]!.stateHashes.get(0)!, node: 0 }]]),
    violation: undefined,
    stateDivergence: undefined,
    ingress: PMap.empty(),
    maxFinalized: 0,
  });
};

export const isHonest = (s: SubnetState, i: number): boolean => !s.byz.has(i);

/** What a step did: the acting replica's output and the ids of the messages it put on the network. */
export interface StepOutput {
  readonly node: number;
  readonly out: ReplicaOutput;
  readonly messages: readonly number[];
}

type SubnetResult = Result<SubnetState, StepOutput, never>;

const timeGuard = (s: SubnetState, now: bigint): SubnetResult | undefined =>
  now < s.time ? notEnabled('CON-TIME.1', `time ${now} is before the subnet's time ${s.time}`) : undefined;
const nodeGuard = (s: SubnetState, i: number): SubnetResult | undefined =>
  i < s.cfg.n ? undefined : notEnabled('CON-SUBNET.1', `node ${i} is not one of 0..${s.cfg.n - 1}`);

/** Put artifacts from `from` on the network to each of `to` (in order), as messages with fresh ids. */
const send = (s: SubnetState, from: number, arts: readonly Artifact[], to: (j: number) => boolean, ids: number[]): SubnetState => {
  if (arts.length === 0) return s;
  let net = s.net;
  let next = s.nextMsg;
  for (const artifact of arts)
    for (let j = 0; j < s.cfg.n; j++) {
      if (j === from || !to(j)) continue;
      ids.push(next);
      net = net.set(next, { id: next, from, to: j, artifact, sentAt: s.time });
      next++;
    }
  return withS(s, { net, nextMsg: next, inFlight: s.inFlight + (next - s.nextMsg) });
};

/** Record what an honest replica finalized and executed: [CON-SAFETY.1], [CON-STATE-AGREEMENT.1], latency. */
const account = (s: SubnetState, node: number, out: ReplicaOutput): SubnetState => {
  if (out.finalized.length === 0 && out.executed.length === 0) return s;
  if (!isHonest(s, node)) return s;
  let { finalizedAt, stateAt, violation, stateDivergence, ingress, maxFinalized } = s;
  for (const f of out.finalized) {
    const seen = finalizedAt.get(f.height);
    if (seen === undefined) finalizedAt = finalizedAt.set(f.height, { hash: f.hash, node });
    else if (seen.hash !== f.hash && violation === undefined) violation = { height: f.height, first: seen, second: { node, hash: f.hash } };
    if (f.height > maxFinalized) maxFinalized = f.height;
    for (const id of f.ingress) {
      const e = ingress.get(id);
      if (e !== undefined && e.finalized === undefined) ingress = ingress.set(id, { ...e, finalized: s.time });
    }
  }
  for (const x of out.executed) {
    const seen = stateAt.get(x.height);
    if (seen === undefined) stateAt = stateAt.set(x.height, { hash: x.stateHash, node });
    else if (seen.hash !== x.stateHash && stateDivergence === undefined) stateDivergence = { height: x.height, first: seen, second: { node, hash: x.stateHash } };
  }
  return withS(s, { finalizedAt, stateAt, violation, stateDivergence, ingress, maxFinalized });
};

/**
 * After replica `i` stepped: store it, account for it, and (if honest) send its output to all.
 * `time`, `net` and `inFlight` are the step's own updates (a delivered message leaves `net`); one record is built.
 */
const after = (s: SubnetState, time: bigint, net: SubnetState['net'], inFlight: number, i: number, r: Replica, out: ReplicaOutput): SubnetResult => {
  const replicas = s.replicas.slice();
  replicas[i] = r;
  const base = withS(s, { time, net, inFlight, replicas });
  let s2 = account(base, i, out);
  const ids: number[] = out.sent.length > 0 && isHonest(s, i) ? [] : NO_IDS;
  if (ids !== NO_IDS) s2 = send(s2, i, out.sent, () => true, ids); // [CON-BROADCAST.1]
  return ok(s2, { node: i, out, messages: ids });
};
const NO_IDS: number[] = [];

/** [CON-TICK.1] replica `node`'s clock reaches `now`; it acts */
export const subnetTick = (s: SubnetState, a: { readonly node: number; readonly now: bigint }): SubnetResult => {
  const g = nodeGuard(s, a.node) ?? timeGuard(s, a.now);
  if (g) return g;
  const r = tick(s.replicas[a.node]!, a.now);
  if (E.isLeft(r)) return r;
  return after(s, a.now, s.net, s.inFlight, a.node, r.right.state, r.right.output);
};

/** [CON-DELIVER.1] message `msg` reaches its recipient at `now` */
export const subnetDeliver = (s: SubnetState, a: { readonly msg: number; readonly now: bigint }): SubnetResult => {
  const m = s.net.get(a.msg);
  if (m === undefined) return notEnabled('CON-DELIVER.1', `message ${a.msg} is not in flight`);
  const g = timeGuard(s, a.now);
  if (g) return g;
  if (a.now < m.sentAt) return notEnabled('CON-DELIVER.1', `message ${a.msg} was sent at ${m.sentAt}, after ${a.now}`);
  // [CON-PARTITION.1]
  if (s.partition !== undefined && s.partition[m.from] !== s.partition[m.to]) return notEnabled('CON-PARTITION.1', `nodes ${m.from} and ${m.to} are partitioned`);
  const r = receive(s.replicas[m.to]!, m.artifact, a.now);
  if (E.isLeft(r)) return r;
  return after(s, a.now, s.net.delete(a.msg), s.inFlight - 1, m.to, r.right.state, r.right.output);
};

/** [CON-DROP.1] the network loses message `msg` */
export const subnetDrop = (s: SubnetState, a: { readonly msg: number }): SubnetResult => {
  const m = s.net.get(a.msg);
  if (m === undefined) return notEnabled('CON-DROP.1', `message ${a.msg} is not in flight`);
  return ok(withS(s, { net: s.net.delete(a.msg), inFlight: s.inFlight - 1 }), { node: m.to, out: EMPTY_OUT, messages: [] });
};
const EMPTY_OUT: ReplicaOutput = { sent: [], finalized: [], executed: [], caughtUp: undefined };

/** [CON-PARTITION.1] split the nodes into groups; messages between groups cannot be delivered until `Heal` */
export const subnetPartition = (s: SubnetState, a: { readonly groups: readonly (readonly number[])[] }): SubnetResult => {
  const group = new Array<number>(s.cfg.n).fill(-1);
  for (let g = 0; g < a.groups.length; g++)
    for (const i of a.groups[g]!) {
      if (i >= s.cfg.n) return notEnabled('CON-PARTITION.1', `node ${i} is not one of 0..${s.cfg.n - 1}`);
      if (group[i] !== -1) return notEnabled('CON-PARTITION.1', `node ${i} is in two groups`);
      group[i] = g;
    }
  // a node in no group is alone
  return ok(withS(s, { partition: group.map((g, i) => (g === -1 ? a.groups.length + i : g)) }), { node: 0, out: EMPTY_OUT, messages: [] });
};

/** [CON-PARTITION.1] */
export const subnetHeal = (s: SubnetState, _a: Record<string, never>): SubnetResult => ok(withS(s, { partition: undefined }), { node: 0, out: EMPTY_OUT, messages: [] });

export interface IngressArgs {
  readonly node: number;
  readonly call: LedgerCall;
  readonly nonce: bigint;
  readonly expiry: bigint;
  readonly now: bigint;
}

/** [CON-INGRESS.1] a user's message reaches replica `node` at `now`; the replica gossips it */
export const subnetIngress = (s: SubnetState, a: IngressArgs): SubnetResult => {
  const g = nodeGuard(s, a.node) ?? timeGuard(s, a.now);
  if (g) return g;
  const msg: IngressMsg = { id: ingressId(a.call, a.nonce, a.expiry), call: a.call, nonce: a.nonce, expiry: a.expiry };
  const r = receive(s.replicas[a.node]!, { kind: 'Ingress', msg }, a.now);
  if (E.isLeft(r)) return r;
  const s1: SubnetState = withS(s, { time: a.now, ingress: s.ingress.has(msg.id) ? s.ingress : s.ingress.set(msg.id, { arrived: a.now, finalized: undefined }) });
  const known = r.right.state.ingress.has(msg.id) && !s.replicas[a.node]!.ingress.has(msg.id);
  const out: ReplicaOutput = { ...r.right.output, sent: known ? [{ kind: 'Ingress', msg }, ...r.right.output.sent] : r.right.output.sent };
  return after(s1, s1.time, s1.net, s1.inFlight, a.node, r.right.state, out);
};

/** The artifact of a Byzantine move, as its arguments give it (hashes are derived). */
export type ByzArtifact =
  | { readonly kind: 'Block'; readonly height: number; readonly rank: number; readonly proposer: number; readonly parent: Hash; readonly time: bigint; readonly payload: readonly IngressMsg[] }
  | { readonly kind: 'NotarizationShare' | 'FinalizationShare'; readonly height: number; readonly block: Hash; readonly signer: number }
  | { readonly kind: 'Notarization' | 'Finalization'; readonly height: number; readonly block: Hash; readonly signers: readonly number[] }
  | { readonly kind: 'BeaconShare'; readonly height: number; readonly signer: number }
  | { readonly kind: 'Beacon'; readonly height: number; readonly signers: readonly number[] };

export const byzBlock = (a: ByzArtifact & { kind: 'Block' }, crypto: Crypto): Block => {
  const content = { height: a.height, rank: a.rank, proposer: a.proposer, parent: a.parent, time: a.time, payload: a.payload };
  const hash = blockHash(content);
  return { ...content, hash, sig: crypto.sign(a.proposer, signed.block(hash)) };
};

/**
 * [CON-ADVERSARY.1] What the adversary can send: anything Byzantine replicas can sign (any block
 * they make, any share of theirs), copies of blocks the sender holds, and threshold signatures
 * whose honest signers really issued that share. It cannot forge an honest replica's signature.
 */
export const toArtifact = (s: SubnetState, from: number, a: ByzArtifact): E.Either<string, Artifact> => {
  const crypto = s.cfg.crypto ?? idealCrypto;
  const byzSigner = (i: number) => i < s.cfg.n && s.byz.has(i);
  switch (a.kind) {
    case 'Block': {
      const b = byzBlock(a, crypto);
      if (byzSigner(a.proposer)) return E.right({ kind: 'Block', block: b });
      const held = s.replicas[from]!.blocksByHash.get(b.hash);
      return held ? E.right({ kind: 'Block', block: held }) : E.left(`block ${b.hash.slice(0, 12)}… is made by honest node ${a.proposer} and node ${from} does not hold it`);
    }
    case 'NotarizationShare':
    case 'FinalizationShare': {
      if (!byzSigner(a.signer)) return E.left(`signer ${a.signer} is not Byzantine`);
      const msg = a.kind === 'NotarizationShare' ? signed.notarization(a.height, a.block) : signed.finalization(a.height, a.block);
      return E.right({ kind: a.kind, height: a.height, block: a.block, sig: crypto.sign(a.signer, msg) });
    }
    case 'BeaconShare':
      if (!byzSigner(a.signer)) return E.left(`signer ${a.signer} is not Byzantine`);
      return E.right({ kind: 'BeaconShare', height: a.height, sig: { signer: a.signer } });
    case 'Notarization':
    case 'Finalization':
    case 'Beacon': {
      for (const i of a.signers) {
        if (i >= s.cfg.n) return E.left(`signer ${i} is not one of 0..${s.cfg.n - 1}`);
        if (byzSigner(i)) continue;
        const share: Artifact =
          a.kind === 'Beacon'
            ? { kind: 'BeaconShare', height: a.height, sig: { signer: i } }
            : { kind: a.kind === 'Notarization' ? 'NotarizationShare' : 'FinalizationShare', height: a.height, block: a.block, sig: { signer: i } };
        if (!issued(s.replicas[i]!, share)) return E.left(`honest node ${i} issued no such share`);
      }
      const sig = { signers: [...new Set(a.signers)].sort((x, y) => x - y) };
      return E.right(a.kind === 'Beacon' ? { kind: 'Beacon', height: a.height, sig } : { kind: a.kind, height: a.height, block: a.block, sig });
    }
  }
};

/** [CON-ADVERSARY.1] Byzantine replica `from` sends an artifact to the replicas `to` */
export const subnetByzantine = (s: SubnetState, a: { readonly from: number; readonly to: readonly number[]; readonly artifact: ByzArtifact }): SubnetResult => {
  const g = nodeGuard(s, a.from);
  if (g) return g;
  if (isHonest(s, a.from)) return notEnabled('CON-ADVERSARY.1', `node ${a.from} is honest`);
  const bad = a.to.find((j) => j >= s.cfg.n);
  if (bad !== undefined) return notEnabled('CON-ADVERSARY.1', `recipient ${bad} is not one of 0..${s.cfg.n - 1}`);
  const art = toArtifact(s, a.from, a.artifact);
  if (E.isLeft(art)) return notEnabled('CON-ADVERSARY.1', art.left);
  const ids: number[] = [];
  const dest = new Set(a.to);
  const s2 = send(s, a.from, [art.right], (j) => dest.has(j), ids);
  return ok(s2, { node: a.from, out: EMPTY_OUT, messages: ids });
};

/** Is safety within the fault bound? (more than f Byzantine replicas may break it) */
export const withinFaultBound = (s: SubnetState): boolean => s.byz.size <= faultsTolerated(s.cfg.n);
