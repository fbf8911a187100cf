/** The subnet as a machine: codecs of its action vocabulary, its output, view and invariants. */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import type { ActionSpec, AnyActionSpec, Machine } from '../core/machine.js';
import { icrc1CallProps, legacyCallProps, InitDecoder as LedgerInitDecoder } from '../ledger/machine.js';
import { List, Opt, Rec, SetOf, SmallNat, U64, Unit } from '../trace/codecs.js';
import { map, set, UNIT, type ItfValue } from '../trace/itf.js';
import { APP_DKG_INTERVAL, APP_SUBNET_DELAYS, faultsTolerated, MAX_INGRESS_PER_BLOCK } from './params.js';
import { ingressId } from './replica.js';
import type { RecordedStep } from './sim.js';
import { simLedger } from './sim.js';
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
  type StepOutput,
  type SubnetConfig,
  type SubnetState,
} from './subnet.js';
import type { Artifact, IngressMsg, LedgerCall } from './types.js';

// ---------------------------------------------------------------- codecs

const HashText = new t.Type<string, ItfValue, unknown>(
  'hash',
  (u): u is string => typeof u === 'string',
  (u, c) => (typeof u === 'string' && /^[0-9a-f]{64}$/.test(u) ? t.success(u) : t.failure(u, c, 'expected a SHA-256 hash as 64 lower-case hex digits')),
  (s) => s,
);

/** A variant `{tag, value}` whose tag picks the codec of the value. */
const Variant = <A>(name: string, cases: Record<string, t.Type<A, ItfValue, unknown>>, tagOf: (a: A) => string) =>
  new t.Type<A, ItfValue, unknown>(
    name,
    (_u): _u is A => true,
    (u, c) => {
      const o = u as { tag?: unknown; value?: unknown };
      if (typeof o !== 'object' || o === null || typeof o.tag !== 'string') return t.failure(u, c, `expected a variant {tag, value} (${name})`);
      const k = Object.hasOwn(cases, o.tag) ? cases[o.tag] : undefined;
      if (k === undefined) return t.failure(u, c, `unknown ${name} "${o.tag}" (known: ${Object.keys(cases).join(', ')})`);
      return k.validate(o.value, t.appendContext(c, 'value', k, o.value));
    },
    (a) => ({ tag: tagOf(a), value: cases[tagOf(a)]!.encode(a) }),
  );

/** A record codec whose decoded value gets a fixed tag field added (and dropped on encoding). */
const tagged = <K extends string, P extends t.Props>(kind: K, props: P, field: 'kind' | 'tag' = 'kind') => {
  const r = Rec(kind, props);
  return new t.Type<t.TypeOf<typeof r> & Record<typeof field, K>, ItfValue, unknown>(
    kind,
    (_u): _u is t.TypeOf<typeof r> & Record<typeof field, K> => true,
    (u, c) => E.map((v: t.TypeOf<typeof r>) => ({ ...v, [field]: kind }) as t.TypeOf<typeof r> & Record<typeof field, K>)(r.validate(u, c)),
    (v) => {
      const { [field]: _k, ...rest } = v as Record<string, unknown>;
      return r.encode(rest as t.TypeOf<typeof r>);
    },
  );
};

const CallCodec: t.Type<LedgerCall, ItfValue, unknown> = (() => {
  const icrc = Rec('Icrc1Transfer', icrc1CallProps);
  const legacy = Rec('Transfer', legacyCallProps);
  return new t.Type<LedgerCall, ItfValue, unknown>(
    'LedgerCall',
    (_u): _u is LedgerCall => true,
    (u, c) => {
      const o = u as { tag?: unknown; value?: unknown };
      if (typeof o !== 'object' || o === null || (o.tag !== 'Icrc1Transfer' && o.tag !== 'Transfer')) return t.failure(u, c, 'expected a ledger call: Icrc1Transfer(args) or Transfer(args)');
      const k = o.tag === 'Icrc1Transfer' ? icrc : legacy;
      return E.map((args: unknown) => ({ tag: o.tag, args }) as LedgerCall)(k.validate(o.value, t.appendContext(c, 'value', k, o.value)));
    },
    (x) => ({ tag: x.tag, value: x.tag === 'Icrc1Transfer' ? icrc.encode(x.args as t.TypeOf<typeof icrc>) : legacy.encode(x.args as t.TypeOf<typeof legacy>) }),
  );
})();

/** An ingress message as a Byzantine block carries it: its content (the id is derived). */
const IngressContent = new t.Type<IngressMsg, ItfValue, unknown>(
  'Ingress',
  (_u): _u is IngressMsg => true,
  (u, c) => {
    const r = Rec('Ingress', { call: CallCodec, nonce: U64, expiry: U64 }).validate(u, c);
    return E.map((v: { call: LedgerCall; nonce: bigint; expiry: bigint }) => ({ ...v, id: ingressId(v.call, v.nonce, v.expiry) }))(r);
  },
  (m) => ({ call: CallCodec.encode(m.call), nonce: m.nonce, expiry: m.expiry }),
);

const ByzArtifactCodec: t.Type<ByzArtifact, ItfValue, unknown> = Variant<ByzArtifact>(
  'artifact',
  {
    Block: tagged('Block', { height: SmallNat, rank: SmallNat, proposer: SmallNat, parent: HashText, time: U64, payload: List(IngressContent) }) as unknown as t.Type<ByzArtifact, ItfValue, unknown>,
    NotarizationShare: tagged('NotarizationShare', { height: SmallNat, block: HashText, signer: SmallNat }) as unknown as t.Type<ByzArtifact, ItfValue, unknown>,
    FinalizationShare: tagged('FinalizationShare', { height: SmallNat, block: HashText, signer: SmallNat }) as unknown as t.Type<ByzArtifact, ItfValue, unknown>,
    Notarization: tagged('Notarization', { height: SmallNat, block: HashText, signers: SetOf(SmallNat) }) as unknown as t.Type<ByzArtifact, ItfValue, unknown>,
    Finalization: tagged('Finalization', { height: SmallNat, block: HashText, signers: SetOf(SmallNat) }) as unknown as t.Type<ByzArtifact, ItfValue, unknown>,
    BeaconShare: tagged('BeaconShare', { height: SmallNat, signer: SmallNat }) as unknown as t.Type<ByzArtifact, ItfValue, unknown>,
    Beacon: tagged('Beacon', { height: SmallNat, signers: SetOf(SmallNat) }) as unknown as t.Type<ByzArtifact, ItfValue, unknown>,
  },
  (a) => a.kind,
);

export const SubnetInitCodec = Rec('Init', {
  n: SmallNat,
  byzantine: SetOf(SmallNat),
  unit_delay_ms: Opt(U64),
  initial_notary_delay_ms: Opt(U64),
  dkg_interval: Opt(SmallNat),
  max_ingress_per_block: Opt(SmallNat),
  seed: t.string as unknown as t.Type<string, ItfValue, unknown>,
  genesis_time: Opt(U64),
  ledger: Opt(LedgerInitDecoder as unknown as t.Type<SubnetConfig['ledger'], ItfValue, unknown>),
});

const InitDecoder: t.Decoder<unknown, SubnetConfig> = {
  name: 'Init',
  validate: (u, c) =>
    E.map((a: t.TypeOf<typeof SubnetInitCodec>): SubnetConfig => ({
      n: a.n,
      byzantine: a.byzantine,
      delays: { unitDelayMs: a.unit_delay_ms ?? APP_SUBNET_DELAYS.unitDelayMs, initialNotaryDelayMs: a.initial_notary_delay_ms ?? APP_SUBNET_DELAYS.initialNotaryDelayMs },
      dkgInterval: a.dkg_interval ?? APP_DKG_INTERVAL,
      maxIngressPerBlock: a.max_ingress_per_block ?? MAX_INGRESS_PER_BLOCK,
      seed: a.seed,
      genesisTime: a.genesis_time ?? 0n,
      ledger: a.ledger ?? simLedger(),
    }))(SubnetInitCodec.validate(u, c)),
  decode: (u) => InitDecoder.validate(u, [{ key: '', type: SubnetInitCodec, actual: u }]),
};

const TickCodec = Rec('Tick', { node: SmallNat, now: U64 });
const DeliverCodec = Rec('Deliver', { msg: SmallNat, now: U64 });
const DropCodec = Rec('Drop', { msg: SmallNat });
const PartitionCodec = Rec('Partition', { groups: List(SetOf(SmallNat)) });
const IngressCodec = Rec('Ingress', { node: SmallNat, call: CallCodec, nonce: U64, expiry: U64, now: U64 });
const ByzantineCodec = Rec('Byzantine', { from: SmallNat, to: SetOf(SmallNat), artifact: ByzArtifactCodec });
const HealCodec = new t.Type<Record<string, never>, ItfValue, unknown>(
  'Heal',
  (_u): _u is Record<string, never> => true,
  (u, c) => (E.isRight(Unit.validate(u, c)) ? t.success({}) : t.failure(u, c, 'Heal takes no arguments (a unit value)')),
  () => UNIT,
);

// ---------------------------------------------------------------- encoders

const nat = (x: number | bigint): ItfValue => BigInt(x);
const natSet = (xs: readonly number[]): ItfValue => set([...xs].sort((a, b) => a - b).map(nat));

/** An artifact as a step's output lists it (blocks by content and hash; payload by ingress id). */
export const encodeArtifact = (a: Artifact): ItfValue => {
  switch (a.kind) {
    case 'Block': {
      const b = a.block;
      return { tag: 'Block', value: { height: nat(b.height), rank: nat(b.rank), proposer: nat(b.proposer), parent: b.parent, time: b.time, payload: b.payload.map((m) => m.id), hash: b.hash } };
    }
    case 'NotarizationShare':
    case 'FinalizationShare':
      return { tag: a.kind, value: { height: nat(a.height), block: a.block, signer: nat(a.sig.signer) } };
    case 'Notarization':
    case 'Finalization':
      return { tag: a.kind, value: { height: nat(a.height), block: a.block, signers: natSet(a.sig.signers) } };
    case 'BeaconShare':
      return { tag: a.kind, value: { height: nat(a.height), signer: nat(a.sig.signer) } };
    case 'Beacon':
      return { tag: a.kind, value: { height: nat(a.height), signers: natSet(a.sig.signers) } };
    case 'CupShare':
      return { tag: a.kind, value: { height: nat(a.content.height), block: a.content.block, beacon: a.content.beacon, state_hash: a.content.stateHash, signer: nat(a.sig.signer) } };
    case 'Cup':
      return { tag: a.kind, value: { height: nat(a.content.height), block: a.content.block, beacon: a.content.beacon, state_hash: a.content.stateHash, signers: natSet(a.sig.signers) } };
    case 'Ingress':
      return { tag: a.kind, value: { id: a.msg.id } };
  }
};

const encodeOutput = (o: StepOutput): ItfValue => ({
  node: nat(o.node),
  sent: o.out.sent.map(encodeArtifact),
  messages: o.messages.map(nat),
  finalized: o.out.finalized.map((f) => ({ height: nat(f.height), hash: f.hash })),
  executed: o.out.executed.map((x) => ({ height: nat(x.height), state_hash: x.stateHash })),
});

/** The ITF arguments of a recorded step (sim.ts), for writing traces. */
export const encodeStep = (st: RecordedStep): { tag: string; args: ItfValue } => {
  switch (st.tag) {
    case 'Tick':
      return { tag: 'Tick', args: TickCodec.encode(st.args) };
    case 'Deliver':
      return { tag: 'Deliver', args: DeliverCodec.encode(st.args) };
    case 'Ingress':
      return { tag: 'Ingress', args: IngressCodec.encode(st.args) };
    case 'Byzantine':
      return { tag: 'Byzantine', args: ByzantineCodec.encode({ ...st.args, to: [...st.args.to] }) };
    case 'Drop':
      return { tag: 'Drop', args: DropCodec.encode(st.args) };
    case 'Partition':
      return { tag: 'Partition', args: PartitionCodec.encode({ groups: st.args.groups.map((g) => [...g]) }) };
    case 'Heal':
      return { tag: 'Heal', args: UNIT };
  }
};

/** The Init arguments of a subnet configuration (the ledger's default for simulations is implied). */
export const encodeInit = (c: SubnetConfig): ItfValue =>
  ({
    n: nat(c.n),
    byzantine: natSet(c.byzantine),
    unit_delay_ms: { tag: 'Some', value: c.delays.unitDelayMs },
    initial_notary_delay_ms: { tag: 'Some', value: c.delays.initialNotaryDelayMs },
    dkg_interval: { tag: 'Some', value: nat(c.dkgInterval) },
    max_ingress_per_block: { tag: 'Some', value: nat(c.maxIngressPerBlock) },
    seed: c.seed,
    genesis_time: { tag: 'Some', value: c.genesisTime },
    ledger: { tag: 'None', value: UNIT },
  }) as ItfValue;

// ---------------------------------------------------------------- machine

const action = <A>(rule: ActionSpec<SubnetState, A, StepOutput, never>['rule'], args: t.Decoder<unknown, A>, reqs: string[], effects?: ActionSpec<SubnetState, A, StepOutput, never>['effects']): AnyActionSpec<SubnetState> =>
  ({ rule, args, encodeOutput, encodeError: () => UNIT, reqs, effects }) satisfies ActionSpec<SubnetState, A, StepOutput, never> as AnyActionSpec<SubnetState>;

/** The requirements a replica step exercised, read off what it sent, finalized and executed. */
const replicaEffects = (_b: SubnetState, a: SubnetState, o: StepOutput): readonly string[] => {
  const out = new Set<string>();
  for (const x of o.out.sent) {
    const k = x.kind;
    if (k === 'Block') out.add('CON-PROPOSE.1').add('CON-RANKING.1').add('CON-DELAY-PROP.1').add('CON-BLOCK.1');
    else if (k === 'NotarizationShare') out.add('CON-NOTARIZE-SHARE.1').add('CON-DELAY-NTRY.1').add('CON-BLOCK-VALID.1');
    else if (k === 'Notarization') out.add('CON-NOTARIZATION-RELAY.1').add('CON-ROUND-EXIT.1').add('CON-NOTARIZATION.1').add('CON-THRESHOLD.1');
    else if (k === 'FinalizationShare') out.add('CON-FINALIZE-SHARE.1');
    else if (k === 'BeaconShare') out.add('CON-BEACON-SHARE.1');
    else if (k === 'CupShare') out.add('CON-CUP.1');
    else if (k === 'Cup') out.add('CON-CUP.1');
  }
  if (o.messages.length > 0) out.add('CON-BROADCAST.1');
  if (o.out.finalized.length > 0) out.add('CON-FINALIZED.1').add('CON-FINALIZATION.1').add('CON-SAFETY.1');
  if (o.out.finalized.length > 1) out.add('CON-FINALIZE-ANCESTORS.1');
  if (o.out.caughtUp !== undefined) out.add('CON-CATCH-UP.1').add('CON-STATE-SYNC.1');
  if (o.out.executed.length > 0) out.add('CON-EXECUTE.1').add('CON-STATE-HASH.1').add('CON-STATE-AGREEMENT.1').add('CON-INGRESS-HISTORY.1');
  const r = a.replicas[o.node];
  const rb = _b.replicas[o.node];
  if (r && rb) {
    if (r.round > rb.round) out.add('CON-ROUND.1').add('CON-BEACON.1');
    if (r.base > rb.base) out.add('CON-PURGE.1');
    if ((r.pool.get(r.round)?.disq.length ?? 0) > (rb.pool.get(r.round)?.disq.length ?? 0)) out.add('CON-EQUIVOCATION.1');

  }
  return [...out];
};

const perNode = <V>(s: SubnetState, f: (i: number) => V, enc: (v: V) => ItfValue): ItfValue => map(s.replicas.map((_r, i) => [nat(i), enc(f(i))] as const));

export const subnetMachine: Machine<SubnetState, SubnetConfig> = {
  name: 'consensus',
  initAction: 'Init',
  initArgs: InitDecoder,
  init: initSubnet,
  defaultConfig: {
    n: 4,
    byzantine: [],
    delays: APP_SUBNET_DELAYS,
    dkgInterval: APP_DKG_INTERVAL,
    maxIngressPerBlock: MAX_INGRESS_PER_BLOCK,
    seed: 'icspec',
    genesisTime: 0n,
    ledger: simLedger(),
  },
  actions: {
    Tick: action(subnetTick, TickCodec, ['CON-TICK.1', 'CON-TIME.1'], replicaEffects),
    Deliver: action(subnetDeliver, DeliverCodec, ['CON-DELIVER.1', 'CON-RECEIVE.1', 'CON-TIME.1'], replicaEffects),
    Drop: action(subnetDrop, DropCodec, ['CON-DROP.1']),
    Partition: action(subnetPartition, PartitionCodec, ['CON-PARTITION.1']),
    Heal: action(subnetHeal, HealCodec, ['CON-PARTITION.1']),
    Ingress: action(subnetIngress, IngressCodec, ['CON-INGRESS.1', 'CON-TIME.1'], replicaEffects),
    Byzantine: action(subnetByzantine, ByzantineCodec, ['CON-ADVERSARY.1']),
  },
  view: {
    time: (s) => s.time,
    round: (s) => perNode(s, (i) => s.replicas[i]!.round, nat),
    finalized_height: (s) => perNode(s, (i) => s.replicas[i]!.finalizedHeight, nat),
    finalized_tip: (s) => perNode(s, (i) => s.replicas[i]!.finalizedTip, (h) => h),
    executed_height: (s) => perNode(s, (i) => s.replicas[i]!.executedHeight, nat),
    state_hash: (s) => perNode(s, (i) => s.replicas[i]!.stateHashes.get(s.replicas[i]!.executedHeight)!, (h) => h),
    in_flight: (s) => nat(s.inFlight),
    safety: (s) => s.violation === undefined,
  },
  initReqs: ['CON-SUBNET.1', 'CON-GENESIS.1', 'CON-FAULTS.1', 'CON-COMMITTEE.1'],
  viewReqs: {
    finalized_tip: ['CON-BLOCK.1', 'CON-FINALIZED.1'],
    state_hash: ['CON-STATE-HASH.1', 'CON-EXECUTE.1'],
    safety: ['CON-SAFETY.1'],
  },
  invariants: [
    {
      name: 'safety-within-fault-bound',
      req: 'CON-SAFETY.1',
      check: (s) =>
        s.violation !== undefined && s.byz.size <= faultsTolerated(s.cfg.n)
          ? `two honest replicas finalized different blocks at height ${s.violation.height} with ${s.byz.size} ≤ f Byzantine replicas`
          : undefined,
    },
    {
      name: 'honest-state-hashes-agree',
      req: 'CON-STATE-AGREEMENT.1',
      check: (s) =>
        s.stateDivergence !== undefined && s.byz.size <= faultsTolerated(s.cfg.n) ? `honest replicas have different state hashes at height ${s.stateDivergence.height}` : undefined,
    },
    {
      name: 'in-flight-count',
      req: 'CON-DELIVER.1',
      check: (s) => (s.inFlight < 0 ? `negative in-flight count ${s.inFlight}` : undefined),
    },
  ],
};
