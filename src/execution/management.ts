/**
 * The management canister (`aaaaa-aa`) as a native canister: each method is a function of
 * the state, the caller and the decoded Candid argument ([EXE-MGMT.1]). Methods that run
 * Wasm (install, upgrade) do so through the same runtime as every other execution.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex, utf8Length } from '../core/bytes.js';
import { canisterId, type Principal } from '../core/principal.js';
import { canisterEmpty, canisterNotFound, helpWith, trapError, userError, type UserError } from './errors.js';
import { decodeArg, encodeRet, fromDfinity, isMethod, toDfinity, type MethodName } from './candid.js';
import { dropContext, EMPTY_REPLY, getCanister, maybeStopped, openContexts, putCanister, rejectWith, respondTo } from './ops.js';
import { PageMap } from './pagemap.js';
import { appendLog, EMPTY_LOG } from './log.js';
import { trapLogLine } from './ops.js';
import { dropLive, freshState, loadModule, type WasmState } from './runtime.js';
import { run } from './ops.js';
import type { StepReport } from './canister.js';
import type { LedgerState } from '../ledger/types.js';
import { NOTHING_CONSUMED, type Canister, type Change, type ExecState, type Message, type Settings } from './state.js';
import * as A from '../cycles/account.js';
import { consume, consumeSubnet, freezingLimit, idleCyclesPerDay, isController, memoryUsage, mint, prepay, refundUnused, settingsCycles } from './cycles.js';

/** `update_settings` messages up to this size pay their induction fee after the settings apply ([CYC-INGRESS.1]). */
export const MAX_DELAYED_INGRESS_COST_PAYLOAD_SIZE = 324;

type Ok = { readonly state: ExecState; readonly reply: Uint8Array; readonly report?: StepReport };
type Err = { readonly error: UserError; readonly report?: StepReport; readonly state?: ExecState };
/** A method either answers now, or (stop_canister) leaves its context open to be answered later. */
type Outcome = Ok | Err | { readonly pending: ExecState };

const EMPTY_STEP: StepReport = { instructions: 0n, slices: 0, debugPrints: [] };

/**
 * The canister whose code or memories a management call replaces (install, uninstall, snapshot
 * loads), if it names one; such calls wait while that canister has a paused execution ([EXE-DTS.1]).
 */
export const codeChangeTarget = (method: string, arg: Uint8Array): string | undefined =>
  ['install_code', 'install_chunked_code', 'uninstall_code', 'load_canister_snapshot', 'take_canister_snapshot'].includes(method) ? canisterIdArg(method, arg) : undefined;

/** The `canister_id` a management call's argument names, if it has one. */
export const canisterIdArg = (method: string, arg: Uint8Array): string | undefined => {
  if (!isMethod(method)) return undefined;
  const d = decodeArg(method, arg);
  if ('err' in d || typeof d.ok !== 'object' || d.ok === null) return undefined;
  const a = d.ok as Record<string, unknown>;
  const id = a['canister_id'] ?? a['target_canister'];
  return id === undefined ? undefined : pid(id).text;
};

// ---------------------------------------------------------------------------------------
// Errors ([EXE-MGMT.1]); texts as the replica writes them

export const notController = (c: Canister, sender: Principal): UserError =>
  userError(
    'CanisterInvalidController',
    `Only the controllers of the canister ${c.id.text} can control it.\nCanister's controllers: ${c.controllers.map((p) => p.text).join(' ')}\nSender's ID: ${sender.text}`,
  );
const invalidPayload = (msg: string): UserError => userError('InvalidManagementPayload', `Error decoding candid: ${msg}`);
const unknownMethod = (m: string): UserError => userError('CanisterMethodNotFound', `Management canister has no method '${m}'`);
const nonEmpty = (id: string): UserError =>
  userError('CanisterNonEmpty', `Canister ${id} cannot be installed because the canister is not empty. Try installing with mode='reinstall' instead.`);
const invalidWasm = (id: string, msg: string): UserError => userError('CanisterInvalidWasm', `Error from Canister ${id}: Canister's Wasm module is not valid: ${msg}`);
const notStopped = (id: string): UserError => userError('CanisterNotStopped', `Canister ${id} must be stopped before it is deleted.`);

// ---------------------------------------------------------------------------------------
// Defaults

export const defaultSettings = (wasmMemoryLimit: bigint): Settings => ({
  computeAllocation: 0n,
  memoryAllocation: 0n,
  freezingThreshold: 2_592_000n,
  reservedCyclesLimit: 5_000_000_000_000n,
  wasmMemoryLimit,
  wasmMemoryThreshold: 0n,
  logVisibility: 'controllers',
});

/** The cycles a provisionally created canister gets when no amount is given. */
export const DEFAULT_PROVISIONAL_CYCLES = 100_000_000_000_000n;

// ---------------------------------------------------------------------------------------
// Entry: a call message to the management canister

export const executeManagement = (s: ExecState, m: Extract<Message, { kind: 'call' }>): [ExecState, StepReport] => {
  const answer = (st: ExecState, o: Ok | Err): [ExecState, StepReport] => {
    if ('error' in o) return [respondTo(o.state ?? st, m.origin, rejectWith(o.error), m.cycles, o.error), { ...(o.report ?? EMPTY_STEP), trapped: o.error }];
    // [CYC-MGMT-FEES.1] create_canister and deposit_cycles keep the cycles attached; the other methods return them
    return [respondTo(o.state, m.origin, { kind: 'reply', data: o.reply }, m.method === 'deposit_cycles' || m.method === 'create_canister' ? 0n : m.cycles), o.report ?? EMPTY_STEP];
  };
  if (!isMethod(m.method)) return answer(s, { error: unknownMethod(m.method) });
  const d = decodeArg(m.method, m.arg);
  if ('err' in d) return answer(s, { error: invalidPayload(d.err) });
  // [EXE-MGMT.1] these methods are for canisters only, not for ingress messages
  if (m.origin.kind === 'ingress' && (m.method === 'create_canister' || m.method === 'raw_rand' || m.method === 'canister_info'))
    return answer(s, { error: userError('CanisterRejectedMessage', `Only canisters can call ic00 method ${m.method}`) });
  const o = dispatch(s, m.method, m.caller, d.ok as Record<string, unknown>, m);
  if ('pending' in o) return [o.pending, EMPTY_STEP];
  return answer(s, o);
};

const opt = <T>(v: unknown): T | undefined => (Array.isArray(v) && v.length === 1 ? (v[0] as T) : undefined);
const pid = (v: unknown): Principal => fromDfinity(v as Parameters<typeof fromDfinity>[0]);

const withController = (s: ExecState, sender: Principal, idv: unknown, f: (c: Canister) => Outcome): Outcome => {
  const id = pid(idv);
  const c = getCanister(s, id.text);
  if (c === undefined) return { error: canisterNotFound(id.text) };
  // [EXE-MGMT-CONTROLLER.1] only a controller may act on a canister
  if (!c.controllers.some((p) => p.text === sender.text)) return { error: notController(c, sender) };
  return f(c);
};

const dispatch = (s: ExecState, method: MethodName, sender: Principal, a: Record<string, unknown>, m: Extract<Message, { kind: 'call' }>): Outcome => {
  switch (method) {
    case 'create_canister': {
      // [CYC-MGMT-FEES.1] the creation fee comes out of the cycles attached; the rest is the new balance
      const fee = A.canisterCreationFee(s.config.fees);
      if (m.cycles < fee)
        return {
          error: userError(
            'InsufficientCyclesForCreateCanister',
            `Creating a canister requires a fee of ${A.fmtCycles(fee)} that is deducted from the canister's initial balance but only ${A.fmtCycles(m.cycles)} cycles were received with the create_canister request.\n${helpWith('Try sending more cycles with the request.', 'create-canister-not-enough-cycles')}`,
          ),
        };
      const o = create(s, sender, opt(a['settings']), m.cycles, undefined, fee);
      if (!('state' in o) || !('reply' in o)) return o;
      const id = o.state.canisterOrder[o.state.canisterOrder.length - 1]!;
      return { ...o, state: consume(o.state, getCanister(o.state, id)!, fee, 'CanisterCreation')[0] };
    }
    case 'provisional_create_canister_with_cycles': {
      // [CYC-CONSERVATION.1] provisional cycles are minted
      const amount = opt<bigint>(a['amount']) ?? DEFAULT_PROVISIONAL_CYCLES;
      const o = create(s, sender, opt(a['settings']), amount, opt(a['specified_id']));
      return 'state' in o && 'reply' in o ? { ...o, state: mint(o.state, amount) } : o;
    }
    case 'provisional_top_up_canister': {
      const id = pid(a['canister_id']);
      const c = getCanister(s, id.text);
      if (c === undefined) return { error: canisterNotFound(id.text) };
      const amount = a['amount'] as bigint;
      return { state: mint(putCanister(s, { ...c, cycles: A.add(c.cycles, amount) }), amount), reply: EMPTY_REPLY };
    }
    case 'deposit_cycles': {
      const id = pid(a['canister_id']);
      const c = getCanister(s, id.text);
      if (c === undefined) return { error: canisterNotFound(id.text) };
      return { state: putCanister(s, { ...c, cycles: c.cycles + m.cycles }), reply: EMPTY_REPLY };
    }
    case 'update_settings': {
      const o = withController(s, sender, a['canister_id'], (c) => {
        const settings = a['settings'] as Record<string, unknown>;
        const ctl = opt<unknown[]>(settings['controllers']);
        const applied = applySettings(c, settings);
        // [CYC-SETTINGS.1] allocations that need cycles, and the storage they reserve
        const v = settingsCycles(s, c, applied.settings);
        if ('error' in v) return v;
        const c2 = reserve(applied, v.reservation);
        const changed = ctl !== undefined ? record(s, c2, sender, m, { kind: 'controllers_change', controllers: c2.controllers }) : c2;
        const done = { ...changed, version: c.version + 1n };
        return { state: putCanister(s, done), reply: EMPTY_REPLY };
      });
      // [CYC-INGRESS.1] a small update_settings pays its induction whether or not its settings apply
      const target = getCanister(s, pid(a['canister_id']).text);
      if (target === undefined || 'pending' in o) return o;
      const after = o.state ?? s;
      return { ...o, state: delayedInduction(after, getCanister(after, target.id.text)!, m) };
    }
    case 'install_code':
      return withController(s, sender, a['canister_id'], (c) => install(s, c, sender, a['mode'] as Record<string, unknown>, a['wasm_module'] as Uint8Array, a['arg'] as Uint8Array, m));
    case 'upload_chunk':
      // [EXE-CHUNKS.1] a chunk store of up to 1 MiB chunks, addressed by SHA-256
      return withController(s, sender, a['canister_id'], (c) => {
        const chunk = a['chunk'] as Uint8Array;
        if (chunk.length > 1024 * 1024) return { error: userError('InvalidManagementPayload', `Wasm chunk size ${chunk.length} exceeds the maximum chunk size of 1048576`) };
        const hash = sha256(chunk);
        const has = c.chunks.some((x) => toHex(sha256(x)) === toHex(hash));
        return { state: has ? s : putCanister(s, { ...c, chunks: [...c.chunks, chunk] }), reply: encodeRet('upload_chunk', [{ hash }]) };
      });
    case 'clear_chunk_store':
      return withController(s, sender, a['canister_id'], (c) => ({ state: putCanister(s, { ...c, chunks: [] }), reply: EMPTY_REPLY }));
    case 'stored_chunks':
      return withController(s, sender, a['canister_id'], (c) => ({ state: s, reply: encodeRet('stored_chunks', [c.chunks.map((x) => ({ hash: sha256(x) }))]) }));
    case 'install_chunked_code':
      return withController(s, sender, a['target_canister'], (c) => {
        const store = opt<unknown>(a['store_canister']);
        const sc = store === undefined ? c : getCanister(s, pid(store).text);
        if (sc === undefined) return { error: canisterNotFound(pid(store).text) };
        const parts: Uint8Array[] = [];
        for (const h of a['chunk_hashes_list'] as { hash: Uint8Array }[]) {
          const hx = toHex(h.hash);
          const chunk = sc.chunks.find((x) => toHex(sha256(x)) === hx);
          if (chunk === undefined) return { error: userError('InvalidManagementPayload', `Chunk ${hx} is not in the store of canister ${sc.id.text}`) };
          parts.push(chunk);
        }
        const wasm = Buffer.concat(parts);
        if (toHex(sha256(wasm)) !== toHex(a['wasm_module_hash'] as Uint8Array))
          return { error: userError('InvalidManagementPayload', `Wasm module hash ${toHex(sha256(wasm))} does not match the given hash ${toHex(a['wasm_module_hash'] as Uint8Array)}`) };
        return install(s, c, sender, a['mode'] as Record<string, unknown>, new Uint8Array(wasm), a['arg'] as Uint8Array, m);
      });
    case 'uninstall_code':
      return withController(s, sender, a['canister_id'], (c) => ({ state: uninstall(s, c, sender, m), reply: EMPTY_REPLY }));
    case 'start_canister':
      return withController(s, sender, a['canister_id'], (c) => {
        // [EXE-START.1] starting cancels pending stop requests
        let st = putCanister(s, { ...c, status: 'running', stopWaiters: [], version: c.version + 1n });
        for (const w of c.stopWaiters) {
          const e = userError('CanisterStoppingCancelled', `Canister ${c.id.text}'s stop request was cancelled.`);
          st = respondTo(st, w, rejectWith(e), 0n, e);
        }
        return { state: st, reply: EMPTY_REPLY };
      });
    case 'stop_canister':
      return withController(s, sender, a['canister_id'], (c) => {
        // [EXE-STOP.1] the answer comes when the canister has no open call context
        if (c.status === 'stopped') return { state: s, reply: EMPTY_REPLY };
        const waiting = { ...c, status: 'stopping' as const, stopWaiters: [...c.stopWaiters, m.origin] };
        return { pending: maybeStopped(putCanister(s, waiting), c.id.text) };
      });
    case 'delete_canister':
      return withController(s, sender, a['canister_id'], (c) => {
        // [EXE-DELETE.1] only a stopped canister can be deleted; its id is never reused
        if (c.status !== 'stopped') return { error: notStopped(c.id.text) };
        dropLive(c.id.text);
        // [CYC-MGMT-FEES.1] a deleted canister's cycles are gone
        const st = consumeSubnet(s, c.cycles + c.reserved, 'DeletedCanisters');
        return { state: { ...st, canisters: st.canisters.delete(c.id.text), canisterOrder: st.canisterOrder.filter((x) => x !== c.id.text) }, reply: EMPTY_REPLY };
      });
    case 'raw_rand': {
      // [EXE-RAW-RAND.1] 32 bytes from the subnet's random tape (a counter hashed under a fixed domain)
      const bytes = sha256(new TextEncoder().encode(`icspec-raw-rand:${s.randCounter}`));
      return { state: { ...s, randCounter: s.randCounter + 1n }, reply: encodeRet('raw_rand', [bytes]) };
    }
    case 'canister_status':
      return withController(s, sender, a['canister_id'], (c) => ({ state: s, reply: encodeRet('canister_status', [statusRecord(s, c)]) }));
    case 'canister_info': {
      const id = pid(a['canister_id']);
      const c = getCanister(s, id.text);
      if (c === undefined) return { error: canisterNotFound(id.text) };
      const n = Number(opt<bigint>(a['num_requested_changes']) ?? 0n);
      const recent = n === 0 ? [] : c.history.slice(-Math.min(n, 20));
      return {
        state: s,
        reply: encodeRet('canister_info', [
          { total_num_changes: c.totalChanges, recent_changes: recent.map(changeValue), module_hash: c.wasm ? [fromHex(c.wasm.module.hash)!] : [], controllers: c.controllers.map(toDfinity) },
        ]),
      };
    }
    case 'take_canister_snapshot':
      return withController(s, sender, a['canister_id'], (c) => takeSnapshot(s, c, opt<Uint8Array>(a['replace_snapshot']), opt<boolean>(a['uninstall_code']) ?? false, sender, m));
    case 'load_canister_snapshot':
      return withController(s, sender, a['canister_id'], (c) => loadSnapshot(s, c, a['snapshot_id'] as Uint8Array, sender, m));
    case 'list_canister_snapshots':
      return withController(s, sender, a['canister_id'], (c) => ({ state: s, reply: encodeRet('list_canister_snapshots', [c.snapshots.map(snapshotValue)]) }));
    case 'delete_canister_snapshot':
      return withController(s, sender, a['canister_id'], (c) => {
        const id = toHex(a['snapshot_id'] as Uint8Array);
        if (!c.snapshots.some((x) => x.id === id)) return { error: snapshotNotFound(c.id.text, id) };
        return { state: putCanister(s, { ...c, snapshots: c.snapshots.filter((x) => x.id !== id) }), reply: EMPTY_REPLY };
      });
    case 'fetch_canister_logs':
      return { error: userError('CanisterRejectedMessage', 'fetch_canister_logs API is only accessible in non-replicated mode') };
  }
};

/**
 * [CYC-INGRESS.1] a small `update_settings` ingress message pays its induction after it is
 * executed, the new settings applied or refused (so a frozen canister can be unfrozen); if it
 * cannot pay, it is not charged.
 */
const delayedInduction = (s: ExecState, c: Canister, m: Extract<Message, { kind: 'call' }>): ExecState => {
  if (m.origin.kind !== 'ingress' || m.arg.length > MAX_DELAYED_INGRESS_COST_PAYLOAD_SIZE) return s;
  const cost = A.ingressInductionCost(s.config.fees, BigInt(utf8Length(m.method) + m.arg.length));
  return A.canWithdraw(c.cycles, freezingLimit(s, c), cost) ? consume(s, c, cost, 'IngressInduction')[0] : s;
};

// ---------------------------------------------------------------------------------------
// Creation ([EXE-CREATE.1])

/** A new, empty, running canister with the default settings. */
const newCanister = (s: ExecState, id: Principal, controllers: readonly Principal[], cycles: bigint): Canister => ({
  id,
  controllers,
  settings: defaultSettings(s.config.defaultWasmMemoryLimit),
  cycles,
  reserved: 0n,
  consumed: NOTHING_CONSUMED,
  lastCharge: s.time,
  status: 'running',
  stopWaiters: [],
  version: 0n,
  wasm: undefined,
  certifiedData: new Uint8Array(),
  globalTimer: 0n,
  totalChanges: 0n,
  history: [],
  snapshots: [],
  chunks: [],
  nextSnapshot: 0n,
  log: EMPTY_LOG,
});

/** Place a native ICP ledger canister at `id` (genesis, as the NNS does) ([EXE-NATIVE-LEDGER.1]). */
export const withLedgerCanister = (s: ExecState, id: Principal, ledger: LedgerState): ExecState => {
  const c: Canister = { ...newCanister(s, id, [], 0n), native: { kind: 'icp_ledger', ledger } };
  return { ...putCanister(s, c), canisterOrder: [...s.canisterOrder, id.text] };
};

const create = (s: ExecState, sender: Principal, settings: Record<string, unknown> | undefined, cycles: bigint, specified: unknown, fee = 0n): Outcome => {
  let id: Principal;
  let next = s.nextCanister;
  if (specified !== undefined) {
    id = pid(specified);
    if (getCanister(s, id.text) !== undefined) return { error: userError('CanisterAlreadyInstalled', `Canister ${id.text} is already installed.`) };
  } else {
    // ids are never reused, and ids taken by canisters placed at genesis are skipped
    while (next <= s.config.rangeEnd && s.canisters.has(canisterId(next).text)) next += 1n;
    if (next > s.config.rangeEnd) return { error: userError('MaxNumberOfCanistersReached', 'Subnet has reached the limit on the number of canisters') };
    id = canisterId(next);
    next += 1n;
  }
  const base = newCanister(s, id, [sender], cycles);
  const applied = settings !== undefined ? applySettings(base, settings) : base;
  // [CYC-SETTINGS.1] the settings are checked against the balance the canister will start with
  const v = settingsCycles(s, { ...base, cycles: cycles - fee }, applied.settings);
  if ('error' in v) return v;
  const c0 = reserve(applied, v.reservation);
  const c = withChange(c0, s.time, sender, { kind: 'creation', controllers: c0.controllers });
  const st: ExecState = { ...putCanister(s, c), nextCanister: next, canisterOrder: [...s.canisterOrder, id.text] };
  return { state: st, reply: encodeRet('create_canister', [{ canister_id: toDfinity(id) }]) };
};

/** Move `amount` from the main balance into the reserved balance ([CYC-RESERVE.1]). */
const reserve = (c: Canister, amount: bigint): Canister => (amount === 0n ? c : { ...c, cycles: c.cycles - amount, reserved: c.reserved + amount });

const applySettings = (c: Canister, st: Record<string, unknown>): Canister => {
  const ctl = opt<unknown[]>(st['controllers']);
  const n = (k: string): bigint | undefined => opt<bigint>(st[k]);
  const lv = opt<Record<string, unknown>>(st['log_visibility']);
  return {
    ...c,
    ...(ctl !== undefined ? { controllers: ctl.map(pid) } : {}),
    settings: {
      computeAllocation: n('compute_allocation') ?? c.settings.computeAllocation,
      memoryAllocation: n('memory_allocation') ?? c.settings.memoryAllocation,
      freezingThreshold: n('freezing_threshold') ?? c.settings.freezingThreshold,
      reservedCyclesLimit: n('reserved_cycles_limit') ?? c.settings.reservedCyclesLimit,
      wasmMemoryLimit: n('wasm_memory_limit') ?? c.settings.wasmMemoryLimit,
      wasmMemoryThreshold: n('wasm_memory_threshold') ?? c.settings.wasmMemoryThreshold,
      logVisibility: lv === undefined ? c.settings.logVisibility : 'public' in lv ? 'public' : 'controllers',
    },
  };
};

/** Record a change in the canister's history ([EXE-HISTORY.1]); at most 20 are kept. */
const withChange = (c: Canister, time: bigint, sender: Principal, details: Change['details'], senderIsCanister = false): Canister => {
  const ch: Change = {
    timestampNanos: time,
    canisterVersion: c.version,
    origin: senderIsCanister ? { kind: 'canister', canister: sender } : { kind: 'user', user: sender },
    details,
  };
  const h = [...c.history, ch];
  return { ...c, totalChanges: c.totalChanges + 1n, history: h.length > 20 ? h.slice(h.length - 20) : h };
};

const record = (s: ExecState, c: Canister, sender: Principal, m: Extract<Message, { kind: 'call' }>, details: Change['details']): Canister =>
  withChange(c, s.time, sender, details, m.origin.kind === 'canister');

// ---------------------------------------------------------------------------------------
// install_code ([EXE-INSTALL.1], [EXE-UPGRADE.1])

/**
 * [CYC-PREPAY.1] an installation is prepaid by the canister for the install instruction limit,
 * and refunded what its executions and the module's compilation did not use.
 */
const install = (s: ExecState, c: Canister, sender: Principal, mode: Record<string, unknown>, wasm: Uint8Array, arg: Uint8Array, m: Extract<Message, { kind: 'call' }>): Outcome => {
  const pre = prepay(s, c, s.config.limits.install, isController(c, sender));
  if ('error' in pre)
    return { error: userError('CanisterOutOfCycles', `Canister installation failed with \`${pre.error.message}\`.\n${helpWith('Top up the canister with more cycles.', 'install-code-not-enough-cycles')}`) };
  const o = installPrepaid(pre.state, pre.canister, sender, mode, wasm, arg, m);
  if ('pending' in o) return o;
  const loaded = loadModule(wasm);
  const used = (o.report?.instructions ?? 0n) + ('ok' in loaded ? loaded.ok.inst.compileCost : 0n);
  return { ...o, state: refundUnused(o.state ?? pre.state, c.id.text, pre.prepaid, used) } as Outcome;
};

const installPrepaid = (
  s: ExecState,
  c: Canister,
  sender: Principal,
  mode: Record<string, unknown>,
  wasm: Uint8Array,
  arg: Uint8Array,
  m: Extract<Message, { kind: 'call' }>,
): Outcome => {
  const kind = 'install' in mode ? 'install' : 'reinstall' in mode ? 'reinstall' : 'upgrade';
  if (kind === 'install' && c.wasm !== undefined) return { error: nonEmpty(c.id.text) };
  if (kind === 'upgrade' && c.wasm === undefined) return { error: canisterEmpty(c.id.text) };
  const loaded = loadModule(wasm);
  if ('err' in loaded) return { error: invalidWasm(c.id.text, loaded.err.message) };
  const module = loaded.ok;
  const up = kind === 'upgrade' ? (opt<Record<string, unknown>>(mode['upgrade']) ?? {}) : {};
  const skipPre = opt<boolean>(up['skip_pre_upgrade']) ?? false;
  const persistence = opt<Record<string, unknown>>(up['wasm_memory_persistence']);
  const keep = persistence !== undefined && 'keep' in persistence;
  // [EXE-UPGRADE-EOP.1] enhanced orthogonal persistence: `keep` needs the new module to declare it,
  // and an old module that declares it needs an explicit choice
  if (kind === 'upgrade') {
    const oldEop = c.wasm!.module.info.customSections.get('enhanced-orthogonal-persistence')?.visibility === 'private';
    const newEop = module.info.customSections.get('enhanced-orthogonal-persistence')?.visibility === 'private';
    if (keep && !newEop)
      return { error: userError('CanisterContractViolation', `Error from Canister ${c.id.text}: Canister violated contract: Missing upgrade option: The new canister module does not support enhanced orthogonal persistence.`) };
    if (oldEop && persistence === undefined)
      return {
        error: userError(
          'CanisterContractViolation',
          `Error from Canister ${c.id.text}: Canister violated contract: Missing upgrade option: Enhanced orthogonal persistence requires the \`wasm_memory_persistence\` upgrade option.`,
        ),
      };
  }
  let used = 0n;
  const prints: string[] = [];
  const limit = s.config.limits.install;
  const slice = s.config.limits.installSlice;
  let trapLine: Uint8Array | undefined;
  const fail = (e: UserError): Outcome => ({
    error: e,
    report: { instructions: used, slices: 1, debugPrints: prints, trapped: e },
    // [EXE-LOG.1] a failed installation still logs what it printed and its trap
    state: putCanister(s, { ...c, log: appendLog(c.log, s.time, [...prints.map((p) => new TextEncoder().encode(p)), ...(trapLine ? [trapLine] : [])]) }),
  });
  let stable = kind === 'upgrade' ? c.wasm!.stable : PageMap.empty();
  let oldHeap: PageMap | undefined;
  let cur = c;
  // 1. pre_upgrade on the old instance
  if (kind === 'upgrade') {
    const old = c.wasm!;
    oldHeap = old.heap;
    if (!skipPre && old.module.info.systemExports.includes('canister_pre_upgrade')) {
      const r = run(s, c, old, { kind: 'G', entry: { export: 'canister_pre_upgrade' }, caller: sender, arg: new Uint8Array(), limit, sliceLimit: slice });
      used += r.instructions;
      prints.push(...r.debugPrints);
      if (r.outcome.kind === 'trap') return ((trapLine = trapLogLine(r.outcome.trap)), fail(trapError(c.id.text, r.outcome.trap)));
      stable = r.outcome.state.stable;
      if (r.outcome.certifiedData !== undefined) cur = { ...cur, certifiedData: r.outcome.certifiedData };
      if (keep) oldHeap = r.outcome.state.heap;
    }
  }
  // 2. a fresh instance (its Wasm memory kept with `keep`), then (start)
  dropLive(c.id.text);
  let state: WasmState = freshState(module, stable, keep ? oldHeap : undefined);
  const target: Canister = { ...cur, wasm: state, globalTimer: 0n };
  if (module.info.hasStart) {
    const r = run(s, target, state, { kind: 's', entry: { export: 'canister_start' }, caller: sender, arg: new Uint8Array(), limit: limit - used, sliceLimit: slice });
    used += r.instructions;
    prints.push(...r.debugPrints);
    if (r.outcome.kind === 'trap') return (dropLive(c.id.text), (trapLine = trapLogLine(r.outcome.trap)), fail(trapError(c.id.text, r.outcome.trap)));
    state = r.outcome.state;
  }
  // 3. canister_init or canister_post_upgrade with the argument
  const entry = kind === 'upgrade' ? 'canister_post_upgrade' : 'canister_init';
  let timer = 0n;
  let certified = kind === 'upgrade' ? cur.certifiedData : new Uint8Array();
  const cycles = c.cycles;
  let burned = 0n;
  const calls: unknown[] = [];
  if (module.info.systemExports.includes(entry)) {
    const r = run(s, { ...target, wasm: state }, state, { kind: 'I', entry: { export: entry }, caller: sender, arg, limit: limit - used, sliceLimit: slice });
    used += r.instructions;
    prints.push(...r.debugPrints);
    if (r.outcome.kind === 'trap') return (dropLive(c.id.text), (trapLine = trapLogLine(r.outcome.trap)), fail(trapError(c.id.text, r.outcome.trap)));
    state = r.outcome.state;
    if (r.outcome.globalTimer !== undefined) timer = r.outcome.globalTimer;
    if (r.outcome.certifiedData !== undefined) certified = r.outcome.certifiedData;
    burned += r.outcome.cyclesBurned;
    calls.push(...r.outcome.calls);
  }
  const installed: Canister = record(
    s,
    { ...cur, wasm: state, globalTimer: timer, certifiedData: certified, cycles, version: c.version + 1n, log: appendLog(cur.log, s.time, prints.map((p) => new TextEncoder().encode(p))) },
    sender,
    m,
    { kind: 'code_deployment', mode: kind, moduleHash: module.hash },
  );
  // the cycles init burned are consumed ([CYC-SYSAPI.1])
  return { state: consume(putCanister(s, installed), installed, burned, 'BurnedCycles')[0], reply: EMPTY_REPLY, report: { instructions: used, slices: 1, debugPrints: prints } };
};

/** uninstall_code: the module and memories go, open calls are rejected ([EXE-UNINSTALL.1]). */
const uninstall = (s: ExecState, c: Canister, sender: Principal, m: Extract<Message, { kind: 'call' }>): ExecState => {
  dropLive(c.id.text);
  let st = s;
  for (const [id, ctx] of s.contexts.entries()) {
    if (ctx.canister !== c.id.text) continue;
    if (ctx.needsToRespond) {
      const e = userError('CanisterWasmModuleNotFound', `Canister ${c.id.text} has been uninstalled.`);
      st = respondTo(st, ctx.origin, rejectWith(e), ctx.availableCycles, e);
    }
    st = dropContext(st, id);
  }
  // (the canister as the answers left it: answering its own expired call credits it a refund)
  const cur = getCanister(st, c.id.text)!;
  const c2 = record(s, { ...cur, wasm: undefined, certifiedData: new Uint8Array(), globalTimer: 0n, version: c.version + 1n }, sender, m, { kind: 'code_uninstall' });
  return maybeStopped(putCanister(st, c2), c.id.text);
};

/**
 * [CYC-OUT-OF-CYCLES.1] a canister that cannot pay for its memory and allocations is
 * uninstalled: its code, memories, log, chunks and snapshots go, its open calls are rejected,
 * its allocations are reset and its history emptied (the count of changes stays), and what is
 * left of both its balances is burned. Its id, controllers, status and other settings stay, so a
 * top-up and a new installation revive it.
 */
export const uninstallOutOfCycles = (s: ExecState, c: Canister): ExecState => {
  dropLive(c.id.text);
  let st = s;
  for (const [id, ctx] of s.contexts.entries()) {
    if (ctx.canister !== c.id.text) continue;
    if (ctx.needsToRespond) {
      const e = userError('CanisterRejectedMessage', 'Canister has been uninstalled.');
      st = respondTo(st, ctx.origin, { kind: 'reject', code: 4, message: e.message }, ctx.availableCycles, ctx.origin.kind === 'ingress' ? e : undefined);
    }
    st = dropContext(st, id);
  }
  const c2: Canister = {
    ...getCanister(st, c.id.text)!,
    wasm: undefined,
    certifiedData: new Uint8Array(),
    globalTimer: 0n,
    version: c.version + 1n,
    log: EMPTY_LOG,
    chunks: [],
    snapshots: [],
    history: [],
    settings: { ...c.settings, computeAllocation: 0n, memoryAllocation: 0n },
  };
  const [st2] = consume(putCanister(st, c2), c2, c2.cycles + c2.reserved, 'Uninstall');
  return maybeStopped(st2, c.id.text);
};

// ---------------------------------------------------------------------------------------
// Snapshots ([EXE-SNAPSHOT.1])

const snapshotNotFound = (canister: string, id: string): UserError =>
  userError('CanisterSnapshotNotFound', `Could not find the snapshot ID ${id} for canister ${canister}.`);

const snapshotSize = (w: WasmState | undefined): bigint => (w === undefined ? 0n : BigInt(w.heap.byteLength + w.stable.byteLength + w.module.raw.length));

const takeSnapshot = (s: ExecState, c: Canister, replace: Uint8Array | undefined, uninstallAfter: boolean, sender: Principal, m: Extract<Message, { kind: 'call' }>): Outcome => {
  if (c.wasm === undefined) return { error: userError('CanisterWasmModuleNotFound', `Canister ${c.id.text} does not contain a Wasm module.`) };
  let snaps = c.snapshots;
  if (replace !== undefined) {
    const rid = toHex(replace);
    if (!snaps.some((x) => x.id === rid)) return { error: snapshotNotFound(c.id.text, rid) };
    snaps = snaps.filter((x) => x.id !== rid);
  } else if (snaps.length >= s.config.maxSnapshots) {
    return {
      error: userError(
        'CanisterRejectedMessage',
        `Canister ${c.id.text} has reached the maximum number of snapshots allowed: ${s.config.maxSnapshots}.`,
      ),
    };
  }
  // the snapshot id embeds the canister id: an 8-byte counter followed by the canister's bytes
  const idBytes = new Uint8Array(8 + c.id.bytes.length);
  new DataView(idBytes.buffer).setBigUint64(0, c.nextSnapshot, false);
  idBytes.set(c.id.bytes, 8);
  const snap = {
    id: toHex(idBytes),
    takenAt: s.time,
    wasm: c.wasm,
    certifiedData: c.certifiedData,
    globalTimer: c.globalTimer,
    canisterVersion: c.version,
    size: snapshotSize(c.wasm),
  };
  let c2: Canister = { ...c, snapshots: [...snaps, snap], nextSnapshot: c.nextSnapshot + 1n };
  let st = putCanister(s, c2);
  if (uninstallAfter) {
    st = uninstall(st, c2, sender, m);
    c2 = getCanister(st, c.id.text)!;
  }
  return { state: st, reply: encodeRet('take_canister_snapshot', [snapshotValue(snap)]) };
};

/**
 * Loading a snapshot replaces the canister's module, memories, certified data and timer.
 * The snapshot may belong to another canister the caller also controls: that is how a
 * canister forks itself on the IC ([EXE-SNAPSHOT-FORK.1]).
 */
const loadSnapshot = (s: ExecState, c: Canister, idBytes: Uint8Array, sender: Principal, m: Extract<Message, { kind: 'call' }>): Outcome => {
  const id = toHex(idBytes);
  const owner = idBytes.length > 8 ? idBytes.subarray(8) : new Uint8Array();
  const src = [...s.canisters.entries()].map(([, x]) => x).find((x) => toHex(x.id.bytes) === toHex(owner)) ?? c;
  if (src.id.text !== c.id.text && !src.controllers.some((p) => p.text === sender.text)) return { error: notController(src, sender) };
  const snap = src.snapshots.find((x) => x.id === id);
  if (snap === undefined) return { error: snapshotNotFound(c.id.text, id) };
  if (openContexts(s, c.id.text) > 0 && c.status !== 'stopped')
    return { error: userError('CanisterNotStopped', `Canister ${c.id.text} must be stopped before loading a snapshot.`) };
  dropLive(c.id.text);
  const c2 = record(
    s,
    { ...c, wasm: snap.wasm, certifiedData: snap.certifiedData, globalTimer: snap.globalTimer, version: c.version + 1n },
    sender,
    m,
    { kind: 'load_snapshot', snapshotId: id, canisterVersion: snap.canisterVersion, takenAt: snap.takenAt },
  );
  return { state: putCanister(s, c2), reply: EMPTY_REPLY };
};

const snapshotValue = (x: Canister['snapshots'][number]) => ({ id: fromHex(x.id)!, taken_at_timestamp: x.takenAt, total_size: x.size });

// ---------------------------------------------------------------------------------------
// canister_status and canister_info values

/** The `canister_status` record of a canister. */
export const statusRecord = (s: ExecState, c: Canister) => ({
  status: { [c.status]: null },
  version: c.version,
  settings: {
    controllers: c.controllers.map(toDfinity),
    compute_allocation: c.settings.computeAllocation,
    memory_allocation: c.settings.memoryAllocation,
    freezing_threshold: c.settings.freezingThreshold,
    reserved_cycles_limit: c.settings.reservedCyclesLimit,
    log_visibility: { [c.settings.logVisibility]: null },
    wasm_memory_limit: c.settings.wasmMemoryLimit,
    wasm_memory_threshold: c.settings.wasmMemoryThreshold,
  },
  module_hash: c.wasm ? [fromHex(c.wasm.module.hash)!] : [],
  memory_size: memoryUsage(c),
  // [CYC-STATUS.1] the main and reserved balances, and the idle burn per day
  cycles: c.cycles,
  reserved_cycles: c.reserved,
  idle_cycles_burned_per_day: idleCyclesPerDay(s, c),
  query_stats: { num_calls_total: 0n, num_instructions_total: 0n, request_payload_bytes_total: 0n, response_payload_bytes_total: 0n },
});

const changeValue = (ch: Change) => ({
  timestamp_nanos: ch.timestampNanos,
  canister_version: ch.canisterVersion,
  origin:
    ch.origin.kind === 'user'
      ? { from_user: { user_id: toDfinity(ch.origin.user) } }
      : { from_canister: { canister_id: toDfinity(ch.origin.canister), canister_version: ch.origin.version !== undefined ? [ch.origin.version] : [] } },
  details: (() => {
    const d = ch.details;
    switch (d.kind) {
      case 'creation':
        return { creation: { controllers: d.controllers.map(toDfinity) } };
      case 'code_uninstall':
        return { code_uninstall: null };
      case 'code_deployment':
        return { code_deployment: { mode: { [d.mode]: null }, module_hash: fromHex(d.moduleHash)! } };
      case 'controllers_change':
        return { controllers_change: { controllers: d.controllers.map(toDfinity) } };
      case 'load_snapshot':
        return { load_snapshot: { snapshot_id: fromHex(d.snapshotId)!, canister_version: d.canisterVersion, taken_at_timestamp: d.takenAt } };
    }
  })(),
});
