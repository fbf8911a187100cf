/**
 * One replica of Internet Computer Consensus as a pure machine (spec/consensus.md "Replica").
 * Its events are a clock tick (`tick`) and an artifact received (`receive`); its outputs are the
 * artifacts it sends (to every other replica), the heights it finalized and executed.
 * Everything a replica does is a function of its state and these events: honest behaviour has
 * no choices left, so every choice of a run (time, delivery order, faults) is the subnet's.
 */
import * as E from 'fp-ts/lib/Either.js';
import { PMap } from '../core/pmap.js';
import { SmallMap } from '../core/smallmap.js';
import { PVec } from '../core/pvec.js';
import { notEnabled, ok, type Result } from '../core/machine.js';
import { toHex } from '../core/bytes.js';
import { blockHash as ledgerTipHash } from '../ledger/encoding.js';
import * as L from '../ledger/rules.js';
import type { LedgerState } from '../ledger/types.js';
import { signed, sha256Hex, type Crypto, type ShareSig, type ThresholdSig } from './crypto.js';
import { reachesThreshold, sharedOnlyThis } from './guards.js';
import {
  beaconThreshold,
  blockMakerDelay,
  blockMakers,
  committeeSize,
  cupThreshold,
  notarizationThreshold,
  notaryDelay,
  MAX_INGRESS_TTL_NS,
  type DelayConfig,
} from './params.js';
import type { Artifact, Block, Checkpoint, CupContent, Hash, IngressMsg, LedgerCall } from './types.js';

// ---------------------------------------------------------------- configuration

export interface ReplicaConfig {
  readonly n: number;
  readonly delays: DelayConfig;
  /** [CON-CUP.1] heights that are multiples of dkgInterval + 1 are summary heights */
  readonly dkgInterval: number;
  readonly maxIngressPerBlock: number;
  readonly crypto: Crypto;
  /** [CON-GENESIS.1] */
  readonly genesisBeacon: Hash;
  readonly genesisTime: bigint;
  readonly ledger: L.LedgerInit;
}

// ---------------------------------------------------------------- pool

/** Shares on one message: a bitmask of signers, their count and the shares (a persistent list). */
export interface Shares {
  readonly mask: bigint;
  readonly count: number;
  readonly list: ShareList | undefined;
}
interface ShareList {
  readonly sig: ShareSig;
  readonly next: ShareList | undefined;
}
const NO_SHARES: Shares = { mask: 0n, count: 0, list: undefined };
const hasSigner = (s: Shares | undefined, i: number): boolean => s !== undefined && (s.mask & (1n << BigInt(i))) !== 0n;
const addShare = (s: Shares | undefined, sig: ShareSig): Shares => {
  const b = s ?? NO_SHARES;
  return { mask: b.mask | (1n << BigInt(sig.signer)), count: b.count + 1, list: { sig, next: b.list } };
};
const shareArray = (s: Shares): ShareSig[] => {
  const out: ShareSig[] = [];
  for (let l = s.list; l; l = l.next) out.push(l.sig);
  return out;
};

/** Everything a replica holds about one height. */
export interface HeightPool {
  /** the distinct block proposals received, in order of arrival */
  readonly blocks: readonly Block[];
  readonly notarShares: SmallMap<Hash, Shares>;
  readonly notarizations: SmallMap<Hash, ThresholdSig>;
  readonly finalShares: SmallMap<Hash, Shares>;
  readonly finalization: { readonly block: Hash; readonly sig: ThresholdSig } | undefined;
  /** shares of this height's beacon (each signs the previous beacon) */
  readonly beaconShares: Shares;
  readonly beacon: { readonly value: Hash; readonly sig: ThresholdSig } | undefined;
  /** a received beacon whose predecessor was not yet known */
  readonly beaconPending: ThresholdSig | undefined;
  /** the notarizations this replica has relayed */
  readonly relayed: readonly Hash[];
  /** N: the blocks this replica notarization-shared at this height */
  readonly myNotar: readonly Hash[];
  /** D: ranks disqualified for equivocation */
  readonly disq: readonly number[];
  readonly myFinal: Hash | undefined;
  readonly myBeacon: boolean;
}

const EMPTY_HEIGHT: HeightPool = {
  blocks: [],
  notarShares: SmallMap.empty(),
  notarizations: SmallMap.empty(),
  finalShares: SmallMap.empty(),
  finalization: undefined,
  beaconShares: NO_SHARES,
  beacon: undefined,
  beaconPending: undefined,
  relayed: [],
  myNotar: [],
  disq: [],
  myFinal: undefined,
  myBeacon: false,
};

const withEntry = <K, V>(m: ReadonlyMap<K, V>, k: K, v: V): ReadonlyMap<K, V> => new Map(m).set(k, v);

export interface PendingIngress {
  readonly msg: IngressMsg;
  readonly arrived: bigint;
}

export interface Replica {
  readonly id: number;
  readonly cfg: ReplicaConfig;
  /** the replica's clock (ns) */
  readonly clock: bigint;
  readonly pool: PMap<number, HeightPool>;
  readonly blocksByHash: PMap<Hash, Block>;
  /** lowest height still held (heights below are purged) */
  readonly base: number;
  /** highest height of any artifact held */
  readonly top: number;
  /** [CON-ROUND.1] the current round = the height being agreed on */
  readonly round: number;
  readonly roundStart: bigint;
  readonly proposed: boolean;
  /** the current round has a notarized block (ICC0 step (a) happened) */
  readonly done: boolean;
  readonly finalizedHeight: number;
  readonly finalizedTip: Hash;
  /** finalized block hashes by height (all heights this replica finalized or adopted) */
  readonly finalized: PMap<number, Hash>;
  readonly executedHeight: number;
  readonly ledger: LedgerState;
  readonly stateHashes: PMap<number, Hash>;
  /** the latest checkpoint (state at a summary height), offered to laggards with the CUP */
  readonly checkpoint: Checkpoint | undefined;
  readonly ingress: PMap<Hash, PendingIngress>;
  /** [CON-INGRESS-HISTORY.1] ids of executed ingress messages → height (part of the replicated state) */
  readonly included: PMap<Hash, number>;
  /** digest chain over the executed ingress ids, height by height */
  readonly ingressDigest: Hash;
  readonly cupShares: ReadonlyMap<string, { readonly content: CupContent; readonly shares: Shares }>;
  readonly myCupShare: number;
  /** the latest catch-up package known, and one received but not yet acted on */
  readonly cup: (Artifact & { kind: 'Cup' }) | undefined;
  /** a finalization for a height that conflicts with this replica's finalized chain was seen */
  readonly conflicts: number;
}

export interface ReplicaOutput {
  readonly sent: readonly Artifact[];
  readonly finalized: ReadonlyArray<{ readonly height: number; readonly hash: Hash; readonly ingress: readonly Hash[] }>;
  readonly executed: ReadonlyArray<{ readonly height: number; readonly stateHash: Hash }>;
  /** the height of a CUP this step adopted (state sync), if any */
  readonly caughtUp: number | undefined;
}

// ---------------------------------------------------------------- hashing, ranking

/** [CON-BLOCK.1] the hash of a block's content */
export const blockHash = (b: Omit<Block, 'hash' | 'sig'>): Hash =>
  sha256Hex(`block|${b.height}|${b.rank}|${b.proposer}|${b.parent}|${b.time}|${b.payload.map((m) => m.id).join(',')}`);

/** [CON-INGRESS.1] the id of an ingress message: the hash of its content */
export const ingressId = (call: LedgerCall, nonce: bigint, expiry: bigint): Hash => sha256Hex(`ingress|${nonce}|${expiry}|${canonCall(call)}`);
const canonCall = (c: LedgerCall): string =>
  `${c.tag}|${JSON.stringify(c.args, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? toHex(v) : v))}`;

const verifiedBlocks = new WeakSet<Block>();
const verifiedIngress = new WeakSet<IngressMsg>();
const blockIntegrity = (b: Block): boolean => {
  if (verifiedBlocks.has(b)) return true;
  const good = blockHash(b) === b.hash && b.payload.every(ingressIntegrity);
  if (good) verifiedBlocks.add(b);
  return good;
};
const ingressIntegrity = (m: IngressMsg): boolean => {
  if (verifiedIngress.has(m)) return true;
  const good = ingressId(m.call, m.nonce, m.expiry) === m.id;
  if (good) verifiedIngress.add(m);
  return good;
};

/**
 * A pure function's cache: purpose → beacon → the permutation (for the n it was made for).
 * Keyed by the beacon string itself, so a lookup builds no key string; bounded per purpose.
 */
const permMemo = new Map<string, Map<Hash, { readonly n: number; readonly pos: readonly number[] }>>();
/**
 * [CON-RANKING.1] A permutation of the nodes seeded by a beacon value and a purpose:
 * Fisher–Yates where step i draws u32 words from SHA-256(seed | purpose | counter) and takes
 * word mod (i + 1). Returns the position of each node.
 */
export const permutation = (beacon: Hash, purpose: string, n: number): readonly number[] => {
  let byBeacon = permMemo.get(purpose);
  if (byBeacon === undefined) permMemo.set(purpose, (byBeacon = new Map()));
  const hit = byBeacon.get(beacon);
  if (hit !== undefined && hit.n === n) return hit.pos;
  const pos = permutationUncached(beacon, purpose, n);
  if (byBeacon.size > 4096) byBeacon.clear();
  byBeacon.set(beacon, { n, pos });
  return pos;
};
const permutationUncached = (beacon: Hash, purpose: string, n: number): readonly number[] => {
  const order = Array.from({ length: n }, (_x, i) => i);
  let words: number[] = [];
  let counter = 0;
  for (let i = n - 1; i > 0; i--) {
    if (words.length === 0) {
      const h = sha256Hex(`${purpose}|${beacon}|${counter++}`);
      words = Array.from({ length: 8 }, (_x, k) => parseInt(h.slice(8 * k, 8 * k + 8), 16));
    }
    const j = words.pop()! % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const pos = new Array<number>(n);
  order.forEach((node, p) => (pos[node] = p));
  return pos;
};
/** [CON-RANKING.1] the rank of each node at height h, from beacon h − 1 */
export const ranks = (prevBeacon: Hash, n: number): readonly number[] => permutation(prevBeacon, 'blockmaker-ranking', n);
/** [CON-COMMITTEE.1] the notarization committee at height h: the first 3f + 1 of a beacon-seeded shuffle */
export const inCommittee = (prevBeacon: Hash, n: number, node: number): boolean =>
  committeeSize(n) >= n || permutation(prevBeacon, 'committee-sampling', n)[node]! < committeeSize(n);

/** [CON-STATE-HASH.1] the hash of the replicated state after executing a height */
export const stateHash = (height: number, l: LedgerState, ingressDigest: Hash): Hash => {
  const tip = ledgerTipHash(l.blocks, l.blocks.length - 1);
  return sha256Hex(`state|${height}|${l.blocks.length}|${tip === undefined ? '' : toHex(tip)}|${l.totalSupply}|${l.time}|${ingressDigest}`);
};

/** [CON-INGRESS-HISTORY.1] the ingress digest after executing a block's payload */
export const nextIngressDigest = (prev: Hash, ids: readonly Hash[]): Hash => (ids.length === 0 ? prev : sha256Hex(`ingress-history|${prev}|${ids.join(',')}`));
export const GENESIS_INGRESS_DIGEST: Hash = sha256Hex('ingress-history|genesis');

// ---------------------------------------------------------------- init

export const genesisBlock = (cfg: ReplicaConfig): Block => {
  const content = { height: 0, rank: 0, proposer: -1, parent: '', time: cfg.genesisTime, payload: [] };
  return { ...content, hash: blockHash(content), sig: { signer: -1 } };
};

/** [CON-GENESIS.1] every replica starts in round 1 with the genesis block notarized and finalized. */
export const initReplica = (cfg: ReplicaConfig, id: number): E.Either<{ code: string; message: string }, Replica> => {
  const l = L.init(cfg.ledger);
  if (E.isLeft(l)) return l;
  const g = genesisBlock(cfg);
  const h0: HeightPool = {
    ...EMPTY_HEIGHT,
    blocks: [g],
    notarizations: SmallMap.of(g.hash, { signers: [] }),
    finalization: { block: g.hash, sig: { signers: [] } },
    beacon: { value: cfg.genesisBeacon, sig: { signers: [] } },
  };
  const sh = stateHash(0, l.right, GENESIS_INGRESS_DIGEST);
  return E.right({
    id,
    cfg,
    clock: cfg.genesisTime,
    pool: PMap.from([[0, h0]]),
    blocksByHash: PMap.from([[g.hash, g]]),
    base: 0,
    top: 0,
    round: 1,
    roundStart: cfg.genesisTime,
    proposed: false,
    done: false,
    finalizedHeight: 0,
    finalizedTip: g.hash,
    finalized: PMap.from([[0, g.hash]]),
    executedHeight: 0,
    ledger: l.right,
    stateHashes: PMap.from([[0, sh]]),
    checkpoint: { height: 0, ledger: l.right, included: PMap.empty(), ingressDigest: GENESIS_INGRESS_DIGEST, stateHash: sh },
    ingress: PMap.empty(),
    included: PMap.empty(),
    ingressDigest: GENESIS_INGRESS_DIGEST,
    cupShares: new Map(),
    myCupShare: 0,
    cup: undefined,
    conflicts: 0,
  });
};

// ---------------------------------------------------------------- a step in progress

/** A step accumulates the replica's new state and its outputs (a local, never shared, builder). */
type Mut<T> = { -readonly [K in keyof T]: T[K] };
/** the shared empty output lists (never pushed to: a step replaces one before its first push) */
const NONE_SENT: Artifact[] = [];
const NONE_FINALIZED: Array<{ height: number; hash: Hash; ingress: Hash[] }> = [];
const NONE_EXECUTED: Array<{ height: number; stateHash: Hash }> = [];

/** A copy of a replica record with every field listed (a stable object shape: much faster than a spread). */
const copyReplica = (r: Replica, clock: bigint): Mut<Replica> => ({
  id: r.id,
  cfg: r.cfg,
  clock: clock,
  pool: r.pool,
  blocksByHash: r.blocksByHash,
  base: r.base,
  top: r.top,
  round: r.round,
  roundStart: r.roundStart,
  proposed: r.proposed,
  done: r.done,
  finalizedHeight: r.finalizedHeight,
  finalizedTip: r.finalizedTip,
  finalized: r.finalized,
  executedHeight: r.executedHeight,
  ledger: r.ledger,
  stateHashes: r.stateHashes,
  checkpoint: r.checkpoint,
  ingress: r.ingress,
  included: r.included,
  ingressDigest: r.ingressDigest,
  cupShares: r.cupShares,
  myCupShare: r.myCupShare,
  cup: r.cup,
  conflicts: r.conflicts,
});

/**
 * A step builds the replica's next state: a fresh copy of the record, owned by the step and
 * updated in place until the step returns it (the input replica is never touched; the maps
 * inside are persistent), plus the step's outputs.
 */
class Step {
  sent: Artifact[] = NONE_SENT;
  finalized: Array<{ height: number; hash: Hash; ingress: Hash[] }> = NONE_FINALIZED;
  executed: Array<{ height: number; stateHash: Hash }> = NONE_EXECUTED;
  caughtUp: number | undefined = undefined;
  /** the step stored something that may enable an action (a share below its threshold, or an ingress message, does not) */
  relevant = false;
  readonly r: Mut<Replica>;
  constructor(r: Replica, clock: bigint) {
    this.r = copyReplica(r, clock);
  }
  height(h: number): HeightPool {
    return this.r.pool.get(h) ?? EMPTY_HEIGHT;
  }
  setHeight(h: number, p: HeightPool): void {
    this.r.pool = this.r.pool.set(h, p);
    if (h > this.r.top) this.r.top = h;
  }
  /** send to every other replica, and apply to this one's own pool */
  emit(a: Artifact): void {
    this.send(a);
    store(this, a);
  }
  /** send to every other replica only (what this replica already holds) */
  send(a: Artifact): void {
    if (this.sent === NONE_SENT) this.sent = [];
    this.sent.push(a);
  }
  noteFinalized(f: { height: number; hash: Hash; ingress: Hash[] }): void {
    if (this.finalized === NONE_FINALIZED) this.finalized = [];
    this.finalized.push(f);
  }
  noteExecuted(x: { height: number; stateHash: Hash }): void {
    if (this.executed === NONE_EXECUTED) this.executed = [];
    this.executed.push(x);
  }
  output(): ReplicaOutput {
    return { sent: this.sent, finalized: this.finalized, executed: this.executed, caughtUp: this.caughtUp };
  }
}

const beaconValue = (s: Step, h: number): Hash | undefined => s.height(h).beacon?.value;

// ---------------------------------------------------------------- receiving: validate and store

/** [CON-RECEIVE.1] artifacts more than this many heights above a replica's round are dropped */
export const HEIGHT_WINDOW = 70;
const artifactHeight = (a: Artifact): number | undefined =>
  a.kind === 'Block' ? a.block.height : a.kind === 'CupShare' || a.kind === 'Cup' ? a.content.height : a.kind === 'Ingress' ? undefined : a.height;

/** Add an artifact to the pool if it is well-formed and new (spec [CON-RECEIVE.1]). */
const store = (s: Step, a: Artifact): void => {
  const r = s.r;
  const ah = artifactHeight(a);
  // a CUP may be far ahead (that is what catching up is for); nothing else may
  if (ah !== undefined && a.kind !== 'Cup' && a.kind !== 'CupShare' && ah > Math.max(r.round, r.finalizedHeight) + HEIGHT_WINDOW) return;
  const n = r.cfg.n;
  const c = r.cfg.crypto;
  switch (a.kind) {
    case 'Block': {
      const b = a.block;
      if (b.height <= r.finalizedHeight || b.height < r.base || r.blocksByHash.has(b.hash)) return;
      // [CON-BLOCK.1] the hash commits to the content; the maker signed it
      if (!blockIntegrity(b) || b.sig.signer !== b.proposer || !c.verifyShare(b.sig, signed.block(b.hash))) return;
      const p = s.height(b.height);
      s.r.blocksByHash = s.r.blocksByHash.set(b.hash, b);
      s.setHeight(b.height, { ...p, blocks: [...p.blocks, b] });
      s.relevant = true;
      return;
    }
    case 'NotarizationShare':
    case 'FinalizationShare': {
      if (a.height <= r.finalizedHeight || a.sig.signer >= n || a.sig.signer < 0) return;
      const notar = a.kind === 'NotarizationShare';
      const p = s.height(a.height);
      // [CON-RECEIVE.1] a share whose aggregate is already held can change nothing: not stored
      if (notar ? p.notarizations.has(a.block) : p.finalization !== undefined) return;
      const msg = notar ? signed.notarization(a.height, a.block) : signed.finalization(a.height, a.block);
      const prev = beaconValue(s, a.height - 1);
      if (prev !== undefined && !inCommittee(prev, n, a.sig.signer)) return; // [CON-COMMITTEE.1]
      const m = notar ? p.notarShares : p.finalShares;
      const old = m.get(a.block);
      if (hasSigner(old, a.sig.signer) || !c.verifyShare(a.sig, msg)) return;
      const sh = addShare(old, a.sig);
      if (notar) {
        let np: HeightPool = { ...p, notarShares: p.notarShares.set(a.block, sh) };
        // [CON-NOTARIZATION.1] threshold many shares combine into a notarization
        if (reachesThreshold(sh.count, n) && !np.notarizations.has(a.block)) {
          np = { ...np, notarizations: np.notarizations.set(a.block, c.combine(shareArray(sh), msg)) };
          s.relevant = true;
        }
        s.setHeight(a.height, np);
      } else {
        let np: HeightPool = { ...p, finalShares: p.finalShares.set(a.block, sh) };
        // [CON-FINALIZATION.1]
        if (reachesThreshold(sh.count, n) && np.finalization === undefined) {
          np = { ...np, finalization: { block: a.block, sig: c.combine(shareArray(sh), msg) } };
          s.relevant = true;
        }
        s.setHeight(a.height, np);
      }
      return;
    }
    case 'Notarization': {
      if (a.height <= r.finalizedHeight) return;
      const p = s.height(a.height);
      if (p.notarizations.has(a.block) || !verifyAgg(s, a.height, a.sig, signed.notarization(a.height, a.block), notarizationThreshold(n))) return;
      s.setHeight(a.height, { ...p, notarizations: p.notarizations.set(a.block, a.sig) });
      s.relevant = true;
      return;
    }
    case 'Finalization': {
      if (a.height <= r.finalizedHeight) return;
      const p = s.height(a.height);
      if (p.finalization !== undefined || !verifyAgg(s, a.height, a.sig, signed.finalization(a.height, a.block), notarizationThreshold(n))) return;
      s.setHeight(a.height, { ...p, finalization: { block: a.block, sig: a.sig } });
      s.relevant = true;
      return;
    }
    case 'BeaconShare': {
      if (a.height <= r.base || a.sig.signer >= n || a.sig.signer < 0) return;
      const p = s.height(a.height);
      if (p.beacon !== undefined || hasSigner(p.beaconShares, a.sig.signer)) return; // [CON-RECEIVE.1] (as above)
      const bs = addShare(p.beaconShares, a.sig);
      s.setHeight(a.height, { ...p, beaconShares: bs });
      s.relevant = p.beacon === undefined && bs.count >= beaconThreshold(n);
      return;
    }
    case 'Beacon': {
      if (a.height <= r.base) return;
      const p = s.height(a.height);
      if (p.beacon !== undefined) return;
      // verified against its message when beacon h − 1 is known; otherwise kept (the latest) until it is
      const prev = beaconValue(s, a.height - 1);
      if (!c.verify(a.sig, prev === undefined ? '' : signed.beacon(a.height, prev), beaconThreshold(n), (i) => i < n)) return;
      s.setHeight(a.height, { ...p, beaconPending: a.sig });
      s.relevant = true;
      return;
    }
    case 'CupShare': {
      const ct = a.content;
      if (ct.height <= (r.cup?.content.height ?? 0) || a.sig.signer >= n || a.sig.signer < 0) return;
      const key = signed.cup(ct);
      const e = r.cupShares.get(key);
      if (hasSigner(e?.shares, a.sig.signer) || !c.verifyShare(a.sig, key)) return;
      const cs = addShare(e?.shares, a.sig);
      s.r.cupShares = withEntry(r.cupShares, key, { content: ct, shares: cs });
      s.relevant = cs.count >= cupThreshold(n);
      return;
    }
    case 'Cup': {
      const ct = a.content;
      if (ct.height <= (r.cup?.content.height ?? 0)) return;
      // [CON-CUP.1] high-threshold signature; [CON-STATE-SYNC.1] the checkpoint matches the state hash
      if (!c.verify(a.sig, signed.cup(ct), cupThreshold(n), (i) => i < n)) return;
      if (a.block.hash !== ct.block || a.block.height !== ct.height || !blockIntegrity(a.block)) return;
      if (a.checkpoint.height !== ct.height || a.checkpoint.stateHash !== ct.stateHash || stateHash(ct.height, a.checkpoint.ledger, a.checkpoint.ingressDigest) !== ct.stateHash) return;
      s.r.cup = a;
      s.relevant = true;
      return;
    }
    case 'Ingress': {
      const m = a.msg;
      // [CON-INGRESS.1]
      if (r.ingress.has(m.id) || r.included.has(m.id) || m.expiry < r.clock || !ingressIntegrity(m)) return;
      s.r.ingress = r.ingress.set(m.id, { msg: m, arrived: r.clock });
      return;
    }
  }
};

const verifyAgg = (s: Step, h: number, sig: ThresholdSig, msg: string, threshold: number): boolean => {
  const prev = beaconValue(s, h - 1);
  const n = s.r.cfg.n;
  return s.r.cfg.crypto.verify(sig, msg, threshold, (i) => i < n && (prev === undefined || inCommittee(prev, n, i)));
};

// ---------------------------------------------------------------- acting

/** [CON-BLOCK-VALID.1] is block b (at the current round) valid for this replica now? */
const validBlock = (s: Step, b: Block): boolean => {
  const r = s.r;
  const h = b.height;
  const prevBeacon = beaconValue(s, h - 1);
  if (prevBeacon === undefined || b.proposer < 0 || b.proposer >= r.cfg.n) return false;
  if (b.rank >= blockMakers(r.cfg.n) || ranks(prevBeacon, r.cfg.n)[b.proposer] !== b.rank) return false;
  const parent = r.blocksByHash.get(b.parent);
  if (parent === undefined || parent.height !== h - 1) return false;
  if (!(h - 1 === r.finalizedHeight ? parent.hash === r.finalizedTip : s.height(h - 1).notarizations.has(parent.hash))) return false;
  if (b.time < parent.time || b.time > r.clock) return false;
  return validPayload(s, b.payload, parent, b.time);
};

/** [CON-PAYLOAD.1] at most maxIngressPerBlock distinct, unexpired messages not already in the chain. */
const validPayload = (s: Step, payload: readonly IngressMsg[], parent: Block, time: bigint): boolean => {
  if (payload.length === 0) return true;
  if (payload.length > s.r.cfg.maxIngressPerBlock) return false;
  const inChain = chainIngress(s, parent);
  const seen = new Set<Hash>();
  for (const m of payload) {
    if (seen.has(m.id) || inChain(m.id) || m.expiry < time || m.expiry > time + MAX_INGRESS_TTL_NS) return false;
    seen.add(m.id);
  }
  return true;
};

/** ingress ids in the chain ending at `tip`: the finalized ones, and those in unfinalized ancestors */
const chainIngress = (s: Step, tip: Block): ((id: Hash) => boolean) => {
  const r = s.r;
  const pending = new Set<Hash>();
  for (let b: Block | undefined = tip; b !== undefined && b.height > r.executedHeight; b = r.blocksByHash.get(b.parent)) for (const m of b.payload) pending.add(m.id);
  return (id) => pending.has(id) || r.included.has(id);
};

/** the notarized blocks (content known) of height h, lowest (rank, hash) first */
const notarizedBlocks = (s: Step, h: number): Block[] => {
  const p = s.height(h);
  if (h <= s.r.finalizedHeight) {
    // a finalized height has one block that counts: the finalized one
    const f = s.r.finalized.get(h);
    const b = f === undefined ? undefined : s.r.blocksByHash.get(f);
    return b ? [b] : [];
  }
  if (p.notarizations.size === 0) return [];
  return p.blocks.filter((b) => p.notarizations.has(b.hash)).sort(byRank);
};
const byRank = (a: Block, b: Block): number => a.rank - b.rank || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0);

/** [CON-BEACON.1] combine f + 1 shares into beacon h, or accept a received one, once beacon h − 1 is known */
const stepBeacon = (s: Step, h: number): boolean => {
  const p = s.height(h);
  if (p.beacon !== undefined) return false;
  const prev = beaconValue(s, h - 1);
  if (prev === undefined) return false;
  const n = s.r.cfg.n;
  const c = s.r.cfg.crypto;
  const msg = signed.beacon(h, prev);
  let sig: ThresholdSig | undefined;
  if (p.beaconPending !== undefined && c.verify(p.beaconPending, msg, beaconThreshold(n), (i) => i < n)) sig = p.beaconPending;
  else if (p.beaconShares.count >= beaconThreshold(n)) sig = c.combine(shareArray(p.beaconShares), msg);
  if (sig === undefined) return false;
  s.setHeight(h, { ...p, beacon: { value: c.unique(sig, msg), sig }, beaconPending: undefined });
  return true;
};

/** [CON-BEACON-SHARE.1] in round h, share beacon h (a signature on beacon h − 1) */
const stepBeaconShare = (s: Step): boolean => {
  const h = s.r.round;
  const p = s.height(h);
  if (p.myBeacon) return false;
  const prev = beaconValue(s, h - 1);
  if (prev === undefined) return false;
  // sent even when this replica already has beacon h: another replica may still lack shares
  s.setHeight(h, { ...p, myBeacon: true });
  s.emit({ kind: 'BeaconShare', height: h, sig: s.r.cfg.crypto.sign(s.r.id, signed.beacon(h, prev)) });
  return true;
};

/** [CON-ROUND-EXIT.1] ICC0 (a): a notarized block of the round ends it */
const stepExit = (s: Step): boolean => {
  const r = s.r;
  if (r.done) return false;
  const nb = notarizedBlocks(s, r.round);
  if (nb.length === 0) return false;
  const b = nb[0]!;
  const p = s.height(r.round);
  s.r.done = true;
  const me = inCommitteeAt(s, r.round);
  // [CON-FINALIZE-SHARE.1] only if this replica notarization-shared no other block of the round
  if (me && sharedOnlyThis(p.myNotar, b.hash) && p.myFinal === undefined) {
    s.setHeight(r.round, { ...s.height(r.round), myFinal: b.hash });
    s.emit({ kind: 'FinalizationShare', height: r.round, block: b.hash, sig: r.cfg.crypto.sign(r.id, signed.finalization(r.round, b.hash)) });
  }
  return true;
};

const inCommitteeAt = (s: Step, h: number): boolean => {
  const prev = beaconValue(s, h - 1);
  return prev !== undefined && inCommittee(prev, s.r.cfg.n, s.r.id);
};

/**
 * [CON-NOTARIZATION-RELAY.1] every notarization of a block this replica holds, above its
 * finalized height, is relayed once (as the IC's gossip does), so that a replica missing
 * shares (withheld by Byzantine replicas, or a notarization formed late) still gets it.
 */
const stepRelay = (s: Step): boolean => {
  const r = s.r;
  for (let h = r.finalizedHeight + 1; h <= r.round; h++) {
    const p = r.pool.get(h);
    if (p === undefined || p.notarizations.size === p.relayed.length) continue;
    for (const [hash, sig] of p.notarizations.entries()) {
      if (p.relayed.includes(hash) || !r.blocksByHash.has(hash)) continue;
      s.setHeight(h, { ...s.height(h), relayed: [...s.height(h).relayed, hash] });
      s.emit({ kind: 'Notarization', height: h, block: hash, sig });
      return true;
    }
  }
  return false;
};

/** [CON-ROUND.1] enter round h + 1 once round h is done and beacon h is known */
const stepEnter = (s: Step): boolean => {
  const r = s.r;
  if (!r.done || beaconValue(s, r.round) === undefined) return false;
  Object.assign(s.r, { round: r.round + 1, roundStart: r.clock, proposed: false, done: false });
  return true;
};

/** [CON-PROPOSE.1] ICC0 (b): a block maker of rank r proposes Δprop(r) into the round */
const stepPropose = (s: Step): boolean => {
  const r = s.r;
  if (r.done || r.proposed) return false;
  const h = r.round;
  const prev = beaconValue(s, h - 1);
  if (prev === undefined) return false;
  const rank = ranks(prev, r.cfg.n)[r.id]!;
  if (rank >= blockMakers(r.cfg.n) || r.clock < r.roundStart + blockMakerDelay(r.cfg.delays, rank)) return false;
  // a maker does not propose while it holds a valid proposal of lower, non-disqualified rank
  // (it may still have to, if that rank is disqualified later)
  const p = s.height(h);
  if (p.blocks.some((b) => b.rank < rank && !p.disq.includes(b.rank) && validBlock(s, b))) return false;
  const parent = notarizedBlocks(s, h - 1)[0];
  if (parent === undefined) return false;
  const time = r.clock > parent.time ? r.clock : parent.time;
  const inChain = chainIngress(s, parent);
  const payload = r.ingress
    .entries()
    .map(([, v]) => v)
    .filter((v) => !inChain(v.msg.id) && v.msg.expiry >= time && v.msg.expiry <= time + MAX_INGRESS_TTL_NS)
    .sort((a, b) => (a.arrived < b.arrived ? -1 : a.arrived > b.arrived ? 1 : a.msg.id < b.msg.id ? -1 : 1))
    .slice(0, r.cfg.maxIngressPerBlock)
    .map((v) => v.msg);
  const content = { height: h, rank, proposer: r.id, parent: parent.hash, time, payload };
  const hash = blockHash(content);
  const block: Block = { ...content, hash, sig: r.cfg.crypto.sign(r.id, signed.block(hash)) };
  verifiedBlocks.add(block);
  s.r.proposed = true;
  s.emit({ kind: 'Block', block });
  return true;
};

/** [CON-NOTARIZE-SHARE.1] ICC0 (c): share the lowest-rank valid block, after Δntry(rank) */
const stepNotarize = (s: Step): boolean => {
  const r = s.r;
  if (r.done) return false;
  const h = r.round;
  const p = s.height(h);
  if (p.blocks.length === 0 || !inCommitteeAt(s, h)) return false;
  // [CON-EQUIVOCATION.1] two different blocks of one rank, each signed by the maker of that rank,
  // disqualify the rank (their parents need not be valid: the two signatures are the proof);
  // relaying both lets every other replica disqualify it too
  const prev = beaconValue(s, h - 1)!;
  const rk = ranks(prev, r.cfg.n);
  const signedBy = p.blocks.filter((b) => !p.disq.includes(b.rank) && b.proposer >= 0 && b.proposer < r.cfg.n && rk[b.proposer] === b.rank);
  for (let i = 0; i < signedBy.length; i++)
    for (let j = i + 1; j < signedBy.length; j++)
      if (signedBy[i]!.rank === signedBy[j]!.rank) {
        s.setHeight(h, { ...p, disq: [...p.disq, signedBy[i]!.rank] });
        s.emit({ kind: 'Block', block: signedBy[i]! });
        s.emit({ kind: 'Block', block: signedBy[j]! });
        return true;
      }
  const valid = signedBy.filter((b) => validBlock(s, b)).sort(byRank);
  if (valid.length === 0) return false;
  const b = valid[0]!;
  if (p.myNotar.includes(b.hash)) return false;
  const d = notaryDelay(r.cfg.delays, b.rank, h - 1, r.finalizedHeight, r.executedHeight);
  if (d === undefined || r.clock < r.roundStart + d) return false; // [CON-DELAY-NTRY.1]
  s.setHeight(h, { ...p, myNotar: [...p.myNotar, b.hash] });
  s.emit({ kind: 'Block', block: b }); // relay B
  s.emit({ kind: 'NotarizationShare', height: h, block: b.hash, sig: r.cfg.crypto.sign(r.id, signed.notarization(h, b.hash)) });
  return true;
};

/** [CON-FINALIZED.1] a finalized block at a height above the finalized height finalizes its chain */
const stepFinalize = (s: Step): boolean => {
  const r = s.r;
  for (let h = r.top; h > r.finalizedHeight; h--) {
    const p = r.pool.get(h);
    if (p?.finalization === undefined) continue;
    const tip = r.blocksByHash.get(p.finalization.block);
    if (tip === undefined) continue;
    // [CON-FINALIZE-ANCESTORS.1] walk down to the finalized height; every block must be known
    const chain: Block[] = [];
    let b: Block | undefined = tip;
    while (b !== undefined && b.height > r.finalizedHeight) {
      chain.push(b);
      b = r.blocksByHash.get(b.parent);
    }
    if (b === undefined) continue;
    if (b.hash !== r.finalizedTip) {
      Object.assign(s.r, { conflicts: r.conflicts + 1, pool: r.pool.set(h, { ...p, finalization: undefined }) });
      return true;
    }
    let fin = r.finalized;
    let ingress = r.ingress;
    for (let i = chain.length - 1; i >= 0; i--) {
      const x = chain[i]!;
      fin = fin.set(x.height, x.hash);
      for (const m of x.payload) ingress = ingress.delete(m.id);
      s.noteFinalized({ height: x.height, hash: x.hash, ingress: x.payload.map((m) => m.id) });
    }
    Object.assign(s.r, { finalizedHeight: h, finalizedTip: tip.hash, finalized: fin, ingress });
    return true;
  }
  return false;
};

/** [CON-EXECUTE.1] execute finalized blocks in order; commit a state hash per height */
const stepExecute = (s: Step): boolean => {
  const r = s.r;
  if (r.executedHeight >= r.finalizedHeight) return false;
  while (r.executedHeight < r.finalizedHeight) {
    const h = r.executedHeight + 1;
    const b = r.blocksByHash.get(r.finalized.get(h)!)!;
    let ledger = r.ledger;
    let included = r.included;
    for (const m of b.payload) {
      ledger = applyCall(ledger, m.call, b.time);
      included = included.set(m.id, h);
    }
    const ingressDigest = nextIngressDigest(r.ingressDigest, b.payload.map((m) => m.id));
    const sh = stateHash(h, ledger, ingressDigest);
    const summary = h % (r.cfg.dkgInterval + 1) === 0;
    Object.assign(r, {
      executedHeight: h,
      ledger,
      included,
      ingressDigest,
      stateHashes: r.stateHashes.set(h, sh),
      checkpoint: summary ? { height: h, ledger, included, ingressDigest, stateHash: sh } : r.checkpoint,
    });
    s.noteExecuted({ height: h, stateHash: sh });
  }
  return true;
};

/** [CON-EXECUTE.1] a call's effect on the ledger at the block's time; a rejected call changes nothing */
export const applyCall = (l: LedgerState, call: LedgerCall, now: bigint): LedgerState => {
  const res = call.tag === 'Icrc1Transfer' ? L.icrc1Transfer(l, { ...call.args, now }) : L.legacyTransfer(l, { ...call.args, now });
  return E.isRight(res) ? res.right.state : l;
};

/** [CON-CUP.1] share a CUP for an executed summary height; combine shares into a CUP */
const stepCup = (s: Step): boolean => {
  const r = s.r;
  const cp = r.checkpoint;
  if (cp !== undefined && cp.height > r.myCupShare && cp.height > (r.cup?.content.height ?? 0) && cp.height > 0) {
    const beacon = beaconValue(s, cp.height);
    const block = r.finalized.get(cp.height);
    if (beacon !== undefined && block !== undefined) {
      const content: CupContent = { height: cp.height, block, beacon, stateHash: cp.stateHash };
      s.r.myCupShare = cp.height;
      s.emit({ kind: 'CupShare', content, sig: r.cfg.crypto.sign(r.id, signed.cup(content)) });
      return true;
    }
  }
  for (const [key, e] of r.cupShares) {
    if (e.shares.count < cupThreshold(r.cfg.n) || cp === undefined || cp.height !== e.content.height || cp.stateHash !== e.content.stateHash) continue;
    const block = r.blocksByHash.get(e.content.block);
    if (block === undefined || e.content.height <= (r.cup?.content.height ?? 0)) continue;
    const cup: Artifact & { kind: 'Cup' } = { kind: 'Cup', content: e.content, block, sig: r.cfg.crypto.combine(shareArray(e.shares), key), checkpoint: cp };
    Object.assign(s.r, { cup, cupShares: new Map([...r.cupShares].filter(([, x]) => x.content.height > e.content.height)) });
    s.send(cup);
    purge(s, Math.min(e.content.height, s.r.finalizedHeight, s.r.executedHeight, s.r.round - 1));
    return true;
  }
  return false;
};

/** [CON-CATCH-UP.1] a replica behind a CUP resumes from it: state sync, then the next round */
const stepCatchUp = (s: Step): boolean => {
  const r = s.r;
  const cup = r.cup;
  if (cup === undefined || cup.content.height <= r.finalizedHeight) {
    if (cup === undefined) return false;
    const c = cup.content;
    if (r.round <= c.height && r.executedHeight >= c.height) {
      // finalized and executed past the CUP but behind in rounds (e.g. missing beacon shares):
      // the CUP's beacon lets it resume at round c + 1
      const p = s.height(c.height);
      s.setHeight(c.height, { ...p, beacon: p.beacon ?? { value: c.beacon, sig: cup.sig }, myBeacon: true });
      Object.assign(s.r, { round: c.height + 1, roundStart: r.clock, proposed: false, done: false });
      return true;
    }
    // [CON-PURGE.1] never below what the current round still needs
    const h = Math.min(c.height, r.executedHeight, r.round - 1);
    if (r.base < h) {
      purge(s, h);
      return true;
    }
    return false;
  }
  const c = cup.content;
  const ledger = detach(cup.checkpoint.ledger);
  const included = PMap.from(cup.checkpoint.included.entries());
  let pool = r.pool;
  let blocks = r.blocksByHash;
  for (const [h, p] of pool.entries()) {
    if (h >= c.height) continue;
    pool = pool.delete(h);
    for (const b of p.blocks) blocks = blocks.delete(b.hash);
  }
  const above = pool.get(c.height);
  pool = pool.set(c.height, {
    ...EMPTY_HEIGHT,
    blocks: [cup.block],
    notarizations: SmallMap.of(cup.block.hash, cup.sig),
    finalization: { block: cup.block.hash, sig: cup.sig },
    beacon: { value: c.beacon, sig: cup.sig },
    myBeacon: true,
    beaconShares: above?.beaconShares ?? NO_SHARES,
  });
  blocks = blocks.set(cup.block.hash, cup.block);
  let ingress = r.ingress;
  for (const [id, v] of ingress.entries()) if (v.msg.expiry < r.clock || included.has(id)) ingress = ingress.delete(id);
  Object.assign(s.r, {
    pool,
    blocksByHash: blocks,
    base: c.height,
    round: Math.max(r.round, c.height + 1),
    roundStart: r.round > c.height ? r.roundStart : r.clock,
    proposed: r.round > c.height ? r.proposed : false,
    done: r.round > c.height ? r.done : false,
    finalizedHeight: c.height,
    finalizedTip: c.block,
    finalized: r.finalized.set(c.height, c.block),
    executedHeight: c.height,
    ledger,
    stateHashes: r.stateHashes.set(c.height, c.stateHash),
    included,
    ingressDigest: cup.checkpoint.ingressDigest,
    checkpoint: { height: c.height, ledger, included, ingressDigest: cup.checkpoint.ingressDigest, stateHash: c.stateHash },
    myCupShare: c.height,
    ingress,
  });
  s.noteFinalized({ height: c.height, hash: c.block, ingress: [] });
  s.noteExecuted({ height: c.height, stateHash: c.stateHash });
  s.caughtUp = c.height;
  return true;
};

/** [CON-STATE-SYNC.1] state sync copies the state: the replica's own structures, not the sender's */
export const detach = (l: LedgerState): LedgerState => ({
  ...l,
  balances: L.balancesFrom(l.balances.entries()),
  blocks: PVec.from(l.blocks.toArray()),
  dedup: L.dedupFrom(l.dedup.entries()),
});

/** [CON-PURGE.1] drop the pool below height h (never above the finalized height) */
const purge = (s: Step, h: number): void => {
  const r = s.r;
  if (h <= r.base) return;
  let pool = r.pool;
  let blocks = r.blocksByHash;
  for (let x = r.base; x < h; x++) {
    const p = pool.get(x);
    if (p === undefined) continue;
    pool = pool.delete(x);
    for (const b of p.blocks) if (b.hash !== r.finalizedTip) blocks = blocks.delete(b.hash);
  }
  Object.assign(s.r, { pool, blocksByHash: blocks, base: h });
};

/** Keep the pool small: heights more than `keep` below the finalized (and executed) height go. */
const KEEP_BELOW_FINALIZED = 2;
const stepPurgeOld = (s: Step): boolean => {
  const r = s.r;
  // keep the summary height until its CUP share is out
  const pendingCup = r.checkpoint !== undefined && r.checkpoint.height > r.myCupShare ? r.checkpoint.height : Infinity;
  const h = Math.min(r.finalizedHeight, r.executedHeight, r.round - 1, pendingCup) - KEEP_BELOW_FINALIZED;
  if (h <= r.base) return false;
  purge(s, h);
  return false;
};

const act = (s: Step): void => {
  for (let guard = 0; guard < 10_000; guard++) {
    const r = s.r;
    const changed =
      stepCatchUp(s) ||
      stepBeacon(s, r.round) ||
      stepBeacon(s, r.round - 1) ||
      stepBeaconShare(s) ||
      stepExit(s) ||
      stepRelay(s) ||
      stepEnter(s) ||
      stepPropose(s) ||
      stepNotarize(s) ||
      stepFinalize(s) ||
      stepExecute(s) ||
      stepCup(s) ||
      stepPurgeOld(s);
    if (!changed) return;
  }
};

// ---------------------------------------------------------------- the replica's two events

export type ReplicaResult = Result<Replica, ReplicaOutput, never>;

/** [CON-TICK.1] the clock advances to `now` and the replica does everything that became enabled. */
export const tick = (r: Replica, now: bigint): ReplicaResult => {
  if (now < r.clock) return notEnabled('CON-TICK.1', `clock ${now} is before the replica's clock ${r.clock}`);
  const s = new Step(r, now);
  act(s);
  return ok(s.r, s.output());
};

/** [CON-RECEIVE.1] an artifact arrives at time `now`: store it if valid and new, then act. */
export const receive = (r: Replica, a: Artifact, now: bigint): ReplicaResult => {
  if (now < r.clock) return notEnabled('CON-TICK.1', `clock ${now} is before the replica's clock ${r.clock}`);
  // At the end of every step the replica is at a fixpoint at its clock; with nothing relevant
  // stored, only a timer that expired by `now` can enable anything (nextWakeup lists them all).
  // The timers are read before the store: reading `r` after it would move its persistent pool
  // back to the older version and forward again.
  const due = (wakeup(r, r.clock) ?? now + 1n) <= now;
  const s = new Step(r, now);
  store(s, a);
  if (s.relevant || due) act(s);
  return ok(s.r, s.output());
};

/**
 * The earliest time after the replica's clock at which a tick could change something with no
 * message arriving: a block maker's delay, a notary delay, a block whose time is ahead of the
 * clock. Used by schedulers; not part of the protocol.
 */
export const nextWakeup = (r: Replica): bigint | undefined => wakeup(r, r.clock);

/** the earliest timer of `r` later than `after` */
const wakeup = (r: Replica, after: bigint): bigint | undefined => {
  if (r.done) return undefined;
  const h = r.round;
  const prev = r.pool.get(h - 1)?.beacon?.value;
  if (prev === undefined) return undefined;
  // the earliest candidate later than `after` (inline: this runs on every message received)
  let t: bigint | undefined;
  const rank = ranks(prev, r.cfg.n)[r.id]!;
  if (!r.proposed && rank < blockMakers(r.cfg.n)) {
    const x = r.roundStart + blockMakerDelay(r.cfg.delays, rank);
    if (x > after) t = x;
  }
  const p = r.pool.get(h) ?? EMPTY_HEIGHT;
  for (const b of p.blocks) {
    if (p.myNotar.includes(b.hash) || p.disq.includes(b.rank)) continue;
    if (b.time > after && (t === undefined || b.time < t)) t = b.time;
    const d = notaryDelay(r.cfg.delays, b.rank, h - 1, r.finalizedHeight, r.executedHeight);
    if (d !== undefined) {
      const x = r.roundStart + d;
      if (x > after && (t === undefined || x < t)) t = x;
    }
  }
  return t;
};

/** Did this replica issue this share? (what an adversary may combine: only shares that exist) */
export const issued = (r: Replica, a: Artifact): boolean => {
  switch (a.kind) {
    case 'NotarizationShare':
      return r.pool.get(a.height)?.myNotar.includes(a.block) ?? false;
    case 'FinalizationShare':
      return r.pool.get(a.height)?.myFinal === a.block;
    case 'BeaconShare':
      return r.pool.get(a.height)?.myBeacon ?? false;
    default:
      return false;
  }
};
