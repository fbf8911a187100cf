/**
 * The safety core of ICC as a machine (spec/consensus.md "Safety core"): blocks, notarization
 * shares and finalization shares, without timing, beacon, ranks or network. Every share is
 * visible to everyone at once (as in DFINITY's TLA+ model `Consensus_Safety`), so the only
 * choices are who proposes, shares and advances when. Its traces come from the Quint model
 * spec/quint/consensus.qnt. The guards are the replica's own (guards.ts).
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { notEnabled, ok, type ActionSpec, type AnyActionSpec, type Machine, type Result } from '../core/machine.js';
import { Rec, SetOf, SmallNat } from '../trace/codecs.js';
import { map, set, UNIT, type ItfValue } from '../trace/itf.js';
import { ancestorsClosure, reachesThreshold, sharedOnlyThis } from './guards.js';
import { faultsTolerated } from './params.js';

export interface CoreBlock {
  readonly round: number;
  /** -1 for genesis */
  readonly parent: number;
  /** -1 for genesis */
  readonly proposer: number;
}

export interface CoreConfig {
  readonly n: number;
  readonly byzantine: readonly number[];
  readonly max_round: number;
}

export interface CoreState {
  readonly cfg: CoreConfig;
  readonly byz: ReadonlySet<number>;
  readonly blocks: readonly CoreBlock[];
  readonly round: readonly number[];
  /** (node, round) pairs in which an honest node proposed, as `node:round` */
  readonly proposed: ReadonlySet<string>;
  readonly notar: readonly (readonly number[])[];
  readonly final: readonly (readonly number[])[];
}

const GENESIS: CoreBlock = { round: 0, parent: -1, proposer: -1 };

export const coreInit = (cfg: CoreConfig): E.Either<{ code: string; message: string }, CoreState> => {
  if (cfg.n < 1) return E.left({ code: 'InvalidConfig', message: 'n must be at least 1' });
  const bad = cfg.byzantine.find((b) => b >= cfg.n);
  if (bad !== undefined) return E.left({ code: 'InvalidConfig', message: `byzantine node ${bad} is not one of 0..${cfg.n - 1}` });
  return E.right({
    cfg,
    byz: new Set(cfg.byzantine),
    blocks: [GENESIS],
    round: Array.from({ length: cfg.n }, () => 1),
    proposed: new Set(),
    notar: [[]],
    final: [[]],
  });
};

/** [CON-NOTARIZED.1] genesis, or a block with threshold many notarization shares. */
export const coreNotarized = (s: CoreState, b: number): boolean => b === 0 || reachesThreshold(s.notar[b]?.length ?? 0, s.cfg.n);

/** [CON-FINALIZE-ANCESTORS.1] genesis, the blocks with threshold many finalization shares, and their ancestors. */
export const coreFinalized = (s: CoreState): Set<number> => {
  const direct = [0];
  s.final.forEach((f, b) => {
    if (b > 0 && reachesThreshold(f.length, s.cfg.n)) direct.push(b);
  });
  return ancestorsClosure(direct, (b) => (b > 0 ? s.blocks[b]!.parent : undefined));
};

const isAncestor = (s: CoreState, a: number, b: number): boolean => {
  for (let x = b; x >= 0; x = s.blocks[x]!.parent) if (x === a) return true;
  return false;
};

/** [CON-SAFETY.1] every two finalized blocks lie on one chain. */
export const coreSafe = (s: CoreState): boolean => {
  const fin = [...coreFinalized(s)];
  for (const a of fin) for (const b of fin) if (!isAncestor(s, a, b) && !isAncestor(s, b, a)) return false;
  return true;
};

type R = Result<CoreState, ItfValue, never>;
const node = (s: CoreState, n: number): R | undefined => (n < s.cfg.n ? undefined : notEnabled('CON-CORE.1', `node ${n} is not one of 0..${s.cfg.n - 1}`));
const block = (s: CoreState, b: number): R | undefined => (b > 0 && b < s.blocks.length ? undefined : notEnabled('CON-CORE.1', `block ${b} is not a proposed block`));
const add = (xs: readonly (readonly number[])[], b: number, v: number) => xs.map((x, i) => (i === b ? [...x, v].sort((p, q) => p - q) : x));

export const corePropose = (s: CoreState, a: { node: number; parent: number }): R => {
  const g = node(s, a.node);
  if (g) return g;
  const p = s.blocks[a.parent];
  // [CON-BLOCK-VALID.1] a round-k block extends a notarized round-(k−1) block
  if (p === undefined || !coreNotarized(s, a.parent)) return notEnabled('CON-BLOCK-VALID.1', `parent ${a.parent} is not a notarized block`);
  const r = p.round + 1;
  if (r > s.cfg.max_round) return notEnabled('CON-CORE.1', `round ${r} is beyond max_round ${s.cfg.max_round}`);
  const honest = !s.byz.has(a.node);
  // [CON-PROPOSE.1] an honest maker proposes once, in its current round
  if (honest && (r !== s.round[a.node] || s.proposed.has(`${a.node}:${r}`))) return notEnabled('CON-PROPOSE.1', `honest node ${a.node} in round ${s.round[a.node]} cannot propose in round ${r}`);
  const id = s.blocks.length;
  return ok(
    {
      ...s,
      blocks: [...s.blocks, { round: r, parent: a.parent, proposer: a.node }],
      proposed: honest ? new Set([...s.proposed, `${a.node}:${r}`]) : s.proposed,
      notar: [...s.notar, []],
      final: [...s.final, []],
    },
    BigInt(id),
  );
};

export const coreNotarizeShare = (s: CoreState, a: { node: number; block: number }): R => {
  const g = node(s, a.node) ?? block(s, a.block);
  if (g) return g;
  if (s.notar[a.block]!.includes(a.node)) return notEnabled('CON-CORE.1', `node ${a.node} already notarization-shared block ${a.block}`);
  // [CON-NOTARIZE-SHARE.1] an honest node shares only blocks of its current round
  if (!s.byz.has(a.node) && s.blocks[a.block]!.round !== s.round[a.node]) return notEnabled('CON-NOTARIZE-SHARE.1', `honest node ${a.node} is in round ${s.round[a.node]}`);
  return ok({ ...s, notar: add(s.notar, a.block, a.node) }, UNIT);
};

export const coreAdvance = (s: CoreState, a: { node: number }): R => {
  const g = node(s, a.node);
  if (g) return g;
  if (s.byz.has(a.node)) return notEnabled('CON-CORE.1', 'only honest nodes keep a round');
  const r = s.round[a.node]!;
  // [CON-ROUND.1] a round ends when a block of that round is notarized
  if (!s.blocks.some((b, i) => b.round === r && coreNotarized(s, i))) return notEnabled('CON-ROUND.1', `no notarized block in round ${r}`);
  return ok({ ...s, round: s.round.map((x, i) => (i === a.node ? x + 1 : x)) }, UNIT);
};

export const coreFinalizeShare = (s: CoreState, a: { node: number; block: number }): R => {
  const g = node(s, a.node) ?? block(s, a.block);
  if (g) return g;
  if (s.final[a.block]!.includes(a.node)) return notEnabled('CON-CORE.1', `node ${a.node} already finalization-shared block ${a.block}`);
  if (!s.byz.has(a.node)) {
    const b = s.blocks[a.block]!;
    if (!coreNotarized(s, a.block)) return notEnabled('CON-FINALIZE-SHARE.1', `block ${a.block} is not notarized`);
    if (s.round[a.node]! <= b.round) return notEnabled('CON-FINALIZE-SHARE.1', `node ${a.node} has not left round ${b.round}`);
    const shared = s.blocks.flatMap((x, i) => (i > 0 && x.round === b.round && s.notar[i]!.includes(a.node) ? [i] : []));
    // [CON-FINALIZE-SHARE.1] N ⊆ {B}
    if (!sharedOnlyThis(shared, a.block)) return notEnabled('CON-FINALIZE-SHARE.1', `node ${a.node} notarization-shared other blocks of round ${b.round}: ${shared.join(', ')}`);
    // [CON-FINALIZE-SHARE.1] at most one finalization share per height
    const other = s.blocks.findIndex((x, i) => i > 0 && i !== a.block && x.round === b.round && s.final[i]!.includes(a.node));
    if (other !== -1) return notEnabled('CON-FINALIZE-SHARE.1', `node ${a.node} already finalization-shared block ${other} of round ${b.round}`);
  }
  return ok({ ...s, final: add(s.final, a.block, a.node) }, UNIT);
};

const action = <A>(rule: (s: CoreState, a: A) => R, args: t.Decoder<unknown, A>, reqs: string[]): AnyActionSpec<CoreState> =>
  ({ rule, args, encodeOutput: (o: ItfValue) => o, encodeError: () => UNIT, reqs }) satisfies ActionSpec<CoreState, A, ItfValue, never> as AnyActionSpec<CoreState>;

const ints = (xs: Iterable<number>): ItfValue => set([...xs].sort((a, b) => a - b).map(BigInt));

export const coreMachine: Machine<CoreState, CoreConfig> = {
  name: 'consensus_core',
  initAction: 'Init',
  initArgs: Rec('Init', { n: SmallNat, byzantine: SetOf(SmallNat), max_round: SmallNat }),
  init: coreInit,
  defaultConfig: { n: 4, byzantine: [3], max_round: 4 },
  actions: {
    Propose: action(corePropose, Rec('Propose', { node: SmallNat, parent: SmallNat }), ['CON-CORE.1', 'CON-PROPOSE.1', 'CON-BLOCK-VALID.1']),
    NotarizeShare: action(coreNotarizeShare, Rec('NotarizeShare', { node: SmallNat, block: SmallNat }), ['CON-CORE.1', 'CON-NOTARIZE-SHARE.1']),
    Advance: action(coreAdvance, Rec('Advance', { node: SmallNat }), ['CON-CORE.1', 'CON-ROUND.1']),
    FinalizeShare: action(coreFinalizeShare, Rec('FinalizeShare', { node: SmallNat, block: SmallNat }), ['CON-CORE.1', 'CON-FINALIZE-SHARE.1']),
  },
  view: {
    blocks: (s) => map(s.blocks.map((b, i) => [BigInt(i), { round: BigInt(b.round), parent: BigInt(b.parent), proposer: BigInt(b.proposer) }])),
    round: (s) => map(s.round.map((r, i) => [BigInt(i), BigInt(r)])),
    notar_shares: (s) => map(s.notar.flatMap((x, i) => (i === 0 ? [] : [[BigInt(i), ints(x)] as const]))),
    final_shares: (s) => map(s.final.flatMap((x, i) => (i === 0 ? [] : [[BigInt(i), ints(x)] as const]))),
    notarized: (s) => ints(s.blocks.flatMap((_b, i) => (coreNotarized(s, i) ? [i] : []))),
    finalized: (s) => ints(coreFinalized(s)),
    safe: (s) => coreSafe(s),
  },
  initReqs: ['CON-CORE.1'],
  viewReqs: {
    notarized: ['CON-THRESHOLD.1', 'CON-NOTARIZED.1'],
    finalized: ['CON-THRESHOLD.1', 'CON-FINALIZE-ANCESTORS.1'],
    safe: ['CON-SAFETY.1'],
  },
  invariants: [
    {
      name: 'safety-within-fault-bound',
      req: 'CON-SAFETY.1',
      check: (s) => (s.byz.size <= faultsTolerated(s.cfg.n) && !coreSafe(s) ? `safety violated with ${s.byz.size} ≤ f = ${faultsTolerated(s.cfg.n)} Byzantine nodes` : undefined),
    },
  ],
};
