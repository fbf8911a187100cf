/**
 * The execution machine in the trace world ([EXE-TRACE.1]): codecs of its action vocabulary
 * (`spec/schema/execution.schema.json`), its view and its invariants. `#meta.machine` is
 * `execution`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { toHex } from '../core/bytes.js';
import type { ActionSpec, AnyActionSpec, Invariant, Machine } from '../core/machine.js';
import { MANAGEMENT_CANISTER, type Principal } from '../core/principal.js';
import { checkAccountId, type AccountIdHex } from '../ledger/account.js';
import { init as ledgerInit } from '../ledger/rules.js';
import { Blob, List, Nat, Opt, PrincipalText, Rec, Tup2, U64 } from '../trace/codecs.js';
import { map, NONE, some, variant, type ItfValue } from '../trace/itf.js';
import type { StepReport } from './canister.js';
import { errorCodeText, type UserError } from './errors.js';
import { encodeArg, toDfinity } from './candid.js';
import { DEFAULT_SUBNET_SIZE, subnetConfig } from './config.js';
import { costTable, U128_MAX, type SubnetKind } from '../cycles/table.js';
import { USE_CASES } from '../cycles/account.js';
import { countMessageSlots, cyclesExercised, unaccounted } from './cycles.js';
import { ICP_LEDGER_ID } from './ledger-canister.js';
import { withLedgerCanister } from './management.js';
import type { PageMap } from './pagemap.js';
import * as R from './rules.js';
import { emptyState, type ExecState } from './state.js';

const nat = (n: number | bigint): ItfValue => BigInt(n);
/** A text argument (ITF strings are JSON strings). */
const Text = t.string as unknown as t.Type<string, ItfValue, unknown>;

// ---------------------------------------------------------------- init

export interface ExecInit {
  readonly subnet: SubnetKind;
  /** nodes of the subnet, for the fees' scaling ([CYC-SCALE.1]); default 13 */
  readonly subnetSize?: bigint;
  /** the cost table's version ([CYC-TABLE.1]); default the newest confirmed one */
  readonly costVersion?: string;
  readonly time: bigint;
  readonly ledger?: {
    readonly canisterId: Principal;
    readonly minting: Principal;
    readonly initialValues: ReadonlyArray<readonly [AccountIdHex, bigint]>;
    readonly transferFee: bigint;
  };
}

const AccountIdCodec = new t.Type<string, ItfValue, unknown>(
  'AccountIdentifier',
  (u): u is string => typeof u === 'string',
  (u, c) => {
    const b = Blob(32).validate(u, c);
    if (E.isLeft(b)) return b;
    const chk = checkAccountId(b.right);
    return chk.ok ? t.success(chk.id) : t.failure(u, c, 'invalid account identifier checksum');
  },
  (s) => s,
);

const InitCodec = Rec('Init', {
  subnet: Opt(t.keyof({ application: null, verified_application: null, system: null }) as unknown as t.Type<SubnetKind, ItfValue, unknown>),
  subnet_size: Opt(U64),
  cost_version: Opt(Text),
  time: Opt(U64),
  ledger: Opt(Rec('Ledger', { canister_id: Opt(PrincipalText), minting_account: PrincipalText, initial_values: List(Tup2(AccountIdCodec, U64)), transfer_fee: Opt(U64) })),
});

const InitDecoder: t.Decoder<unknown, ExecInit> = {
  name: 'Init',
  validate: (u, c) =>
    E.map((a: t.TypeOf<typeof InitCodec>): ExecInit => ({
      subnet: a.subnet ?? 'application',
      ...(a.subnet_size !== undefined ? { subnetSize: a.subnet_size } : {}),
      ...(a.cost_version !== undefined ? { costVersion: a.cost_version } : {}),
      time: a.time ?? 0n,
      ...(a.ledger !== undefined
        ? { ledger: { canisterId: a.ledger.canister_id ?? ICP_LEDGER_ID, minting: a.ledger.minting_account, initialValues: a.ledger.initial_values, transferFee: a.ledger.transfer_fee ?? 10_000n } }
        : {}),
    }))(InitCodec.validate(u, c)),
  decode: (u) => InitDecoder.validate(u, [{ key: '', type: InitCodec, actual: u }]),
};

/** [EXE-TRACE.1] the initial state: an empty subnet, with the ICP ledger canister if configured. */
export const initExec = (cfg: ExecInit): E.Either<{ code: string; message: string }, ExecState> => {
  const table = costTable(cfg.subnet, cfg.costVersion);
  if ('error' in table) return E.left({ code: 'UnknownCostVersion', message: table.error });
  if (cfg.subnetSize !== undefined && cfg.subnetSize < 1n) return E.left({ code: 'InvalidSubnetSize', message: `a subnet has at least one node (got ${cfg.subnetSize})` });
  const s = emptyState(subnetConfig(cfg.subnet, cfg.subnetSize ?? DEFAULT_SUBNET_SIZE, cfg.costVersion), cfg.time);
  if (cfg.ledger === undefined) return E.right(s);
  const l = ledgerInit({
    minting_account: { owner: cfg.ledger.minting },
    transfer_fee: cfg.ledger.transferFee,
    transaction_window: 24n * 3600n * 1_000_000_000n,
    permitted_drift: 60n * 1_000_000_000n,
    initial_values: cfg.ledger.initialValues,
    time: cfg.time,
  });
  return E.map((ls: Parameters<typeof withLedgerCanister>[2]) => withLedgerCanister(s, cfg.ledger!.canisterId, ls))(l);
};

// ---------------------------------------------------------------- actions

const SubmitCodec = Rec('SubmitIngress', {
  sender: PrincipalText,
  canister: PrincipalText,
  method: Text,
  arg: Blob(),
  message_id: Opt(Text),
  expiry: Opt(U64),
  effective_canister_id: Opt(PrincipalText),
  size: Opt(U64),
});

/** A Wasm module, inline (hex) or — in trace files — by path and SHA-256 (resolved by the loader). */
export const WasmCodec = new t.Type<Uint8Array, ItfValue, unknown>(
  'wasm',
  (u): u is Uint8Array => u instanceof Uint8Array,
  (u, c) => {
    const v = u as { tag?: string; value?: unknown };
    if (typeof v === 'object' && v !== null && v.tag === 'Inline') return Blob().validate(v.value, [...c, { key: 'value', type: Blob(), actual: v.value }]);
    if (typeof v === 'object' && v !== null && v.tag === 'Path') return t.failure(u, c, 'a module by path must be resolved against the trace file (use icspec replay)');
    return t.failure(u, c, 'expected a variant Inline(blob) or Path({path, sha256})');
  },
  (b) => variant('Inline', toHex(b)),
);

const InstallCodec = Rec('InstallCode', {
  sender: PrincipalText,
  canister: PrincipalText,
  mode: t.keyof({ install: null, reinstall: null, upgrade: null, upgrade_keep: null }) as unknown as t.Type<'install' | 'reinstall' | 'upgrade' | 'upgrade_keep', ItfValue, unknown>,
  wasm: WasmCodec,
  arg: Blob(),
  message_id: Opt(Text),
});
type InstallArgs = t.TypeOf<typeof InstallCodec>;

const ExecuteCodec = Rec('Execute', { message: Nat });
const TimeCodec = Rec('AdvanceTime', { now: U64 });
const TaskCodec = Rec('SystemTask', { canister: PrincipalText });
const QueryCodec = Rec('Query', { sender: PrincipalText, canister: PrincipalText, method: Text, arg: Blob() });

/** The `install_code` argument an InstallCode action sends. */
export const installCodeArg = (a: Pick<InstallArgs, 'canister' | 'mode' | 'wasm' | 'arg'>): Uint8Array => {
  const mode =
    a.mode === 'upgrade'
      ? { upgrade: [] }
      : a.mode === 'upgrade_keep'
        ? { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: [{ keep: null }] }] }
        : { [a.mode]: null };
  return encodeArg('install_code', { mode, canister_id: toDfinity(a.canister), wasm_module: a.wasm, arg: a.arg, sender_canister_version: [] });
};

/** [EXE-TRACE.1] InstallCode: an ingress call of `install_code` to the management canister. */
const installCode = (s: ExecState, a: InstallArgs) =>
  R.submitIngress(s, { sender: a.sender, canister: MANAGEMENT_CANISTER, method: 'install_code', arg: installCodeArg(a), ...(a.message_id !== undefined ? { messageId: a.message_id } : {}) });

const encodeReport = (r: StepReport): ItfValue => ({
  instructions: r.instructions,
  slices: nat(r.slices),
  paused: r.paused === true,
  debug_prints: r.debugPrints.slice() as ItfValue[],
  error: r.trapped === undefined ? NONE : some(r.trapped.code),
});

const action = <A, O, Er = never>(
  rule: ActionSpec<ExecState, A, O, Er>['rule'],
  args: t.Decoder<unknown, A>,
  encodeOutput: (o: O) => ItfValue,
  reqs: string[],
  effects?: ActionSpec<ExecState, A, O, Er>['effects'],
  encodeError: (e: Er) => ItfValue = () => ({ '#tup': [] }),
): AnyActionSpec<ExecState> => ({ rule, args, encodeOutput, encodeError, reqs, ...(effects ? { effects } : {}) }) satisfies ActionSpec<ExecState, A, O, Er> as AnyActionSpec<ExecState>;

const encodeSubmitError = (e: R.SubmitError): ItfValue => ({ code: e.code, message: e.message });

/** The requirements an Execute step exercised, read off its report and the state change. */
const executeEffects = (b: ExecState, a: ExecState, o: StepReport, args: { message: bigint | number }): readonly string[] => {
  const out = new Set<string>(['EXE-EXECUTE.1', 'EXE-ORDER.1']);
  const m = b.messages.get(Number(args.message));
  if (m?.kind === 'response') out.add('EXE-EXEC-RESPONSE.1');
  else if (m?.kind === 'call' && m.callee.text === MANAGEMENT_CANISTER.text) out.add('EXE-MGMT.1');
  else if (m?.kind === 'call') out.add('EXE-EXEC-CALL.1').add('EXE-CALL-ADMISSION.1');
  if (o.trapped !== undefined) out.add('EXE-ERRORS.1');
  if (o.trapped !== undefined && m?.kind === 'call' && m.callee.text !== MANAGEMENT_CANISTER.text) out.add('EXE-TRAP-ROLLBACK.1').add('EXE-TRAP-ERROR.1').add('EXE-STARVED.1');
  if (a.contexts.size < b.contexts.size || o.trapped !== undefined) out.add('EXE-STARVED.1');
  // the cycles the step moved ([CYC-*]): its charges, the runtime's cycles functions, a frozen callee, a settled response
  for (const q of [...cyclesExercised(b, a), ...(o.reqs ?? [])]) out.add(q);
  if (o.trapped?.code === 'CanisterOutOfCycles') out.add('CYC-FREEZE.1').add('CYC-PREPAY.1');
  if (m?.kind === 'response') {
    const cb = b.callbacks.get(m.callback);
    if (cb !== undefined && cb.prepaidTransmission > 0n) out.add('CYC-RESPONSE-RESERVE.1');
    if (m.refund > 0n) out.add('CYC-REFUND.1');
  }
  if (m?.kind === 'call' && m.callee.text === MANAGEMENT_CANISTER.text) for (const q of MGMT_CYCLES[m.method] ?? []) out.add(q);
  return [...out];
};

/** An ingress message inducted: its fee, unless the subnet is free ([CYC-INGRESS.1], [CYC-SYSTEM-FREE.1]). */
const inductionEffects = ((b: ExecState, a: ExecState) => cyclesExercised(b, a)) as never;

/** The management methods that move or report cycles ([CYC-MGMT-FEES.1], [CYC-STATUS.1]). */
const MGMT_CYCLES: Readonly<Record<string, readonly string[]>> = {
  create_canister: ['CYC-MGMT-FEES.1'],
  deposit_cycles: ['CYC-MGMT-FEES.1'],
  delete_canister: ['CYC-MGMT-FEES.1'],
  provisional_create_canister_with_cycles: ['CYC-MGMT-FEES.1'],
  provisional_top_up_canister: ['CYC-MGMT-FEES.1'],
  canister_status: ['CYC-STATUS.1', 'CYC-IDLE.1', 'CYC-MEMORY-USAGE.1'],
};

// ---------------------------------------------------------------- view

const pageHash = (p: PageMap): string => {
  const h = sha256.create();
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(p.wasmPages), false);
  h.update(n);
  for (const i of p.touchedIndices()) {
    new DataView(n.buffer).setBigUint64(0, BigInt(i), false);
    h.update(n).update(p.page(i));
  }
  return toHex(h.digest());
};

const canisterView = (s: ExecState): ItfValue =>
  map(
    s.canisterOrder
      .map((id) => s.canisters.get(id))
      .filter((c) => c !== undefined)
      .map((c) => [
        c.id.text,
        {
          status: variant(c.status === 'running' ? 'Running' : c.status === 'stopping' ? 'Stopping' : 'Stopped'),
          version: c.version,
          cycles: c.cycles,
          reserved_cycles: c.reserved,
          controllers: c.controllers.map((p) => p.text) as ItfValue[],
          module_hash: c.wasm === undefined ? NONE : some(c.wasm.module.hash),
          certified_data: toHex(c.certifiedData),
          global_timer: c.globalTimer,
          heap_hash: c.wasm === undefined ? NONE : some(pageHash(c.wasm.heap)),
          stable_hash: c.wasm === undefined ? NONE : some(pageHash(c.wasm.stable)),
          snapshots: nat(c.snapshots.length),
          paused_slices: nat(s.paused.get(c.id.text)?.slicesLeft ?? 0),
        } as ItfValue,
      ]),
  );

const ingressView = (s: ExecState): ItfValue =>
  map(
    s.ingress
      .entries()
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, st]) => {
        switch (st.status) {
          case 'replied':
            return [id, variant('Replied', toHex(st.reply))] as const;
          case 'rejected':
            return [id, variant('Rejected', { code: nat(st.code), error_code: st.errorCode, message: st.message })] as const;
          case 'received':
            return [id, variant('Received')] as const;
          case 'processing':
            return [id, variant('Processing')] as const;
          case 'done':
            return [id, variant('Done')] as const;
        }
      }),
  );

const pendingView = (s: ExecState): ItfValue =>
  s.messages
    .entries()
    .sort(([a], [b]) => a - b)
    .map(([id, m]) =>
      m.kind === 'call'
        ? ({ id: nat(id), kind: 'call', queue: m.queue, to: m.callee.text, method: m.method } as ItfValue)
        : ({ id: nat(id), kind: 'response', queue: m.queue, to: m.canister, method: '' } as ItfValue),
    );

// ---------------------------------------------------------------- invariants

const invariants: readonly Invariant<ExecState>[] = [
  {
    name: 'contexts-belong-to-canisters',
    req: 'EXE-STATE.1',
    check: (s) => {
      for (const [id, ctx] of s.contexts.entries()) if (!s.canisters.has(ctx.canister)) return `call context ${id} belongs to no canister (${ctx.canister})`;
      return undefined;
    },
  },
  {
    // [EXE-RESPONSE-MATCH.1] a context's outstanding calls are exactly its callbacks
    name: 'outstanding-calls-have-callbacks',
    req: 'EXE-STARVED.1',
    check: (s) => {
      const count = new Map<number, number>();
      for (const [, cb] of s.callbacks.entries()) count.set(cb.ctx, (count.get(cb.ctx) ?? 0) + 1);
      for (const [id, ctx] of s.contexts.entries()) if ((count.get(id) ?? 0) !== ctx.outstanding) return `call context ${id} counts ${ctx.outstanding} outstanding calls but has ${count.get(id) ?? 0} callbacks`;
      return undefined;
    },
  },
  {
    name: 'queues-hold-pending-messages',
    req: 'EXE-ORDER.1',
    check: (s) => {
      let n = 0;
      for (const [q, ids] of s.queues.entries()) {
        for (const id of ids) if (s.messages.get(id)?.queue !== q) return `queue ${q} lists message ${id}, which is not pending in it`;
        n += ids.length;
      }
      return n === s.messages.size ? undefined : `${s.messages.size} messages pending but ${n} queued`;
    },
  },
  {
    name: 'message-slots-indexed',
    req: 'CYC-MEMORY-USAGE.1',
    check: (s) => {
      const want = countMessageSlots(s);
      for (const [id, n] of s.messageSlots.entries()) if (want.get(id) !== n) return `canister ${id} is indexed with ${n} response slots but holds ${want.get(id) ?? 0}`;
      for (const [id, n] of want) if (s.messageSlots.get(id) !== n) return `canister ${id} holds ${n} response slots but is indexed with ${s.messageSlots.get(id) ?? 0}`;
      return undefined;
    },
  },
  {
    name: 'balances-u128',
    req: 'CYC-STATE.1',
    check: (s) => {
      for (const [id, c] of s.canisters.entries()) {
        if (c.cycles < 0n || c.cycles > U128_MAX) return `canister ${id} has a balance ${c.cycles} outside u128`;
        if (c.reserved < 0n || c.reserved > U128_MAX) return `canister ${id} has a reserved balance ${c.reserved} outside u128`;
      }
      return undefined;
    },
  },
  {
    name: 'cycles-conserved',
    req: 'CYC-CONSERVATION.1',
    check: (s) => {
      const d = unaccounted(s);
      if (d !== 0n) return `cycles minted ${s.books.minted} ≠ balances + in flight + consumed: ${d > 0n ? d + ' unaccounted for' : -d + ' more than minted'}`;
      for (const [u, v] of Object.entries(s.books.consumed)) if ((v ?? 0n) < 0n) return `consumed for ${u} is negative (${v})`;
      return undefined;
    },
  },
];

// ---------------------------------------------------------------- the machine

export const executionMachine: Machine<ExecState, ExecInit> = {
  name: 'execution',
  initAction: 'Init',
  initArgs: InitDecoder,
  init: initExec,
  defaultConfig: { subnet: 'application', time: 0n },
  initReqs: ['EXE-STATE.1'],
  actions: {
    SubmitIngress: action(
      (s, a: t.TypeOf<typeof SubmitCodec>) =>
        R.submitIngress(s, {
          sender: a.sender,
          canister: a.canister,
          method: a.method,
          arg: a.arg,
          ...(a.message_id !== undefined ? { messageId: a.message_id } : {}),
          ...(a.expiry !== undefined ? { expiry: a.expiry } : {}),
          ...(a.effective_canister_id !== undefined ? { effectiveCanisterId: a.effective_canister_id } : {}),
          ...(a.size !== undefined ? { size: a.size } : {}),
        }),
      SubmitCodec,
      (o: { messageId: string }) => ({ message_id: o.messageId }),
      ['EXE-INGRESS-SUBMIT.1'],
      inductionEffects,
      encodeSubmitError,
    ),
    InstallCode: action(installCode, InstallCodec, (o: { messageId: string }) => ({ message_id: o.messageId }), ['EXE-INGRESS-SUBMIT.1', 'EXE-INSTALL.1'], inductionEffects, encodeSubmitError),
    PruneIngress: action(R.pruneIngress, Rec('PruneIngress', {}) as unknown as t.Decoder<unknown, Record<string, never>>, (o: { pruned: number }) => ({ pruned: nat(o.pruned) }), ['EXE-INGRESS-EXPIRY.1']),
    Execute: action(
      (s, a: { message: bigint }) => R.executeMessage(s, { message: Number(a.message) }),
      ExecuteCodec,
      encodeReport,
      ['EXE-EXECUTE.1'],
      executeEffects as never,
    ),
    AdvanceTime: action(R.advanceTime, TimeCodec, () => ({ '#tup': [] }), ['EXE-TIME.1']),
    ChargeResources: action(
      R.chargeResources,
      TimeCodec,
      (o: { charged: readonly string[]; uninstalled: readonly string[] }) => ({ charged: [...o.charged], uninstalled: [...o.uninstalled] }),
      ['CYC-PERIODIC.1'],
      ((b: ExecState, a: ExecState, o: { uninstalled: readonly string[] }) => ['CYC-PERIODIC.1', ...(o.uninstalled.length > 0 ? ['CYC-OUT-OF-CYCLES.1'] : []), ...cyclesExercised(b, a)]) as never,
    ),
    GlobalTimer: action((s, a: { canister: Principal }) => R.runSystemTask(s, { canister: a.canister, task: 'global_timer' }), TaskCodec, encodeReport, ['EXE-TIMER.1']),
    Heartbeat: action((s, a: { canister: Principal }) => R.runSystemTask(s, { canister: a.canister, task: 'heartbeat' }), TaskCodec, encodeReport, ['EXE-HEARTBEAT.1']),
    ResumeExecution: action(R.resumeExecution, TaskCodec, encodeReport, ['EXE-DTS.1']),
    ExpireCallback: action((s, a: { callback: bigint }) => R.expireCallback(s, { callback: Number(a.callback) }), Rec('ExpireCallback', { callback: Nat }), () => ({ '#tup': [] }), ['EXE-BEST-EFFORT.1']),
    Certify: action(R.certify, Rec('Certify', {}) as unknown as t.Decoder<unknown, Record<string, never>>, () => ({ '#tup': [] }), ['EXE-CERTIFIED-STATE.1']),
    InspectIngress: {
      rule: R.inspectIngress,
      args: QueryCodec,
      encodeOutput: encodeReport,
      encodeError: (e: UserError) => ({ error_code: errorCodeText(e.code), message: e.message }),
      reqs: ['EXE-INSPECT.1'],
    } satisfies ActionSpec<ExecState, t.TypeOf<typeof QueryCodec>, StepReport, UserError> as AnyActionSpec<ExecState>,
    Query: action(
      R.query,
      QueryCodec,
      (o: R.QueryOutput) =>
        o.kind === 'reply'
          ? variant('Reply', toHex(o.data))
          : variant('Reject', { code: nat(o.code), error_code: o.errorCode, message: o.message }),
      ['EXE-QUERY.1'],
    ),
  },
  view: {
    time: (s) => s.time,
    canisters: canisterView,
    cycles: (s) => ({ minted: s.books.minted, consumed: map(USE_CASES.filter((u) => (s.books.consumed[u] ?? 0n) !== 0n).map((u) => [u, s.books.consumed[u]!])) }),
    ingress: ingressView,
    pending: pendingView,
  },
  viewReqs: { canisters: ['EXE-STATE.1', 'EXE-MEM-PAGES.1', 'EXE-VERSION.1', 'CYC-STATE.1'], ingress: ['EXE-INGRESS-SUBMIT.1'], cycles: ['CYC-CONSERVATION.1'] },
  invariants,
};

