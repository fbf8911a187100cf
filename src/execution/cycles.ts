/**
 * The execution machine's cycles accounts: what a canister holds, its freezing limit, and the
 * two ways cycles leave or return to a balance — consumed for a use case (and refunded), or
 * minted. Every charge goes through `consume`, so the subnet's books always balance
 * ([CYC-CONSERVATION.1]).
 */
import * as A from '../cycles/account.js';
import type { UseCase } from '../cycles/account.js';
import type { CallbackEntry, CallContext, Canister, Consumed, ExecState, Settings } from './state.js';
import type { CyclesEnv, WasmState } from './runtime.js';
import { helpWith, userError, type UserError } from './errors.js';
import { utf8Length } from '../core/bytes.js';

// ---------------------------------------------------------------------------------------
// What a canister holds ([CYC-MEMORY-USAGE.1])

/** The bytes one change of the canister history occupies: the change record, and 30 per controller it lists. */
const CHANGE_BYTES = 192n;
const historyBytes = (c: Canister): bigint => {
  let n = 0n;
  for (const ch of c.history) {
    n += CHANGE_BYTES;
    if (ch.details.kind === 'creation' || ch.details.kind === 'controllers_change') n += 30n * BigInt(ch.details.controllers.length);
  }
  return n;
};

/** One chunk of the chunk store counts as a whole 1 MiB chunk. */
const CHUNK_BYTES = 1024n * 1024n;

/** A global occupies 32 bytes (the replica's `Global` holds a v128). */
const GLOBAL_BYTES = 32n;

/**
 * The Wasm state's memory: the memories, the globals the replica keeps (exported ones, the
 * mutable ones it exports itself, and the instruction counter), the module and its `icp:`
 * custom sections.
 */
export const wasmMemoryUsage = (w: WasmState): bigint => BigInt(w.heap.byteLength) + BigInt(w.stable.byteLength) + moduleBytes(w.module);

/** What a module occupies whatever its memories hold: its globals, its bytes and its `icp:` sections (computed once per module). */
const moduleBytes = (mod: WasmState['module']): bigint => {
  const known = MODULE_BYTES.get(mod);
  if (known !== undefined) return known;
  const m = mod.info;
  const exported = new Set(m.module.exports.filter((e) => e.kind === GLOBAL_KIND).map((e) => e.index));
  let globals = 1n + BigInt(exported.size);
  for (const g of m.globals) if (g.mutable && !exported.has(g.index)) globals++;
  let custom = 0n;
  for (const [name, sec] of m.customSections) custom += BigInt(utf8Length(name)) + 1n + BigInt(sec.content.length);
  const n = globals * GLOBAL_BYTES + BigInt(mod.raw.length) + custom;
  MODULE_BYTES.set(mod, n);
  return n;
};
const MODULE_BYTES = new WeakMap<WasmState['module'], bigint>();

const GLOBAL_KIND = 3;

/** [CYC-MEMORY-USAGE.1] the memory a canister is charged for: its Wasm state, history, chunk store and snapshots. */
export const memoryUsage = (c: Canister): bigint => {
  let n = c.wasm === undefined ? 0n : wasmMemoryUsage(c.wasm);
  n += historyBytes(c);
  n += BigInt(c.chunks.length) * CHUNK_BYTES;
  for (const s of c.snapshots) n += s.size;
  return n;
};


/**
 * [CYC-MEMORY-USAGE.1] the canister's message memory: a response slot for each outstanding
 * guaranteed-response call, in either direction — the calls it made and awaits, and the calls
 * from canisters it has still to answer.
 */
export const messageMemory = (s: ExecState, canister: string): bigint => BigInt(s.messageSlots.get(canister) ?? 0) * A.MAX_RESPONSE_COUNT_BYTES;

/** Whether a call context holds a response slot of its canister: it has to answer a guaranteed-response call of a canister. */
export const contextSlot = (ctx: CallContext | undefined): number => (ctx !== undefined && ctx.needsToRespond && ctx.origin.kind === 'canister' && ctx.deadline === 0n ? 1 : 0);
/** Whether a callback holds a response slot of its canister: it awaits a guaranteed response. */
export const callbackSlot = (cb: CallbackEntry | undefined): number => (cb !== undefined && cb.deadline === 0n ? 1 : 0);

/** The response slots by canister, counted afresh from the contexts and callbacks (what `messageSlots` must equal). */
export const countMessageSlots = (s: ExecState): Map<string, number> => {
  const n = new Map<string, number>();
  for (const [, cb] of s.callbacks.entries()) if (callbackSlot(cb)) n.set(cb.canister, (n.get(cb.canister) ?? 0) + 1);
  for (const [, ctx] of s.contexts.entries()) if (contextSlot(ctx)) n.set(ctx.canister, (n.get(ctx.canister) ?? 0) + 1);
  return n;
};

export const holdings = (s: ExecState, c: Canister, usage: bigint = memoryUsage(c)): A.Holdings => ({
  memoryAllocation: c.settings.memoryAllocation,
  memoryUsage: usage,
  messageMemory: messageMemory(s, c.id.text),
  computeAllocation: c.settings.computeAllocation,
});

/** [CYC-FREEZE.1] the canister's freezing limit now (with `usage` bytes of memory, if given). */
export const freezingLimit = (s: ExecState, c: Canister, usage: bigint = memoryUsage(c)): bigint => {
  const f = s.config.fees;
  const slots = messageMemory(s, c.id.text);
  // the last limit computed for these settings, if nothing else it depends on has changed
  const m = LAST_LIMIT.get(c.settings);
  if (m !== undefined && m.fees === f && m.usage === usage && m.slots === slots && m.reserved === c.reserved) return m.limit;
  const limit = A.freezeThreshold(f, holdings(s, c, usage), c.settings.freezingThreshold, c.reserved);
  LAST_LIMIT.set(c.settings, { fees: f, usage, slots, reserved: c.reserved, limit });
  return limit;
};
/** A memo of `freezingLimit` (a pure function of its key and these inputs), by the canister's settings. */
const LAST_LIMIT = new WeakMap<Canister['settings'], { readonly fees: A.Fees; readonly usage: bigint; readonly slots: bigint; readonly reserved: bigint; readonly limit: bigint }>();

/** [CYC-IDLE.1] cycles burned per day by the canister doing nothing (`canister_status`). */
export const idleCyclesPerDay = (s: ExecState, c: Canister): bigint => A.idleTotal(A.idleRate(s.config.fees, holdings(s, c)));

// ---------------------------------------------------------------------------------------
// Moving cycles ([CYC-CONSERVATION.1])

const bump = (m: Consumed, u: UseCase, by: bigint): Consumed => {
  // a copy, then one field set: the copy keeps the shape of NOTHING_CONSUMED
  const n: Partial<Record<UseCase, bigint>> = { ...m };
  n[u] = (m[u] ?? 0n) + by;
  return n;
};

/** The reserved balance pays for storage and allocations (and is burned on uninstall) before the main balance. */
const fromReservedFirst = (u: UseCase): boolean => u === 'Memory' || u === 'ComputeAllocation' || u === 'Uninstall';

/** Amounts consumed for use cases that the main balance pays (never the reserved balance). */
export type Charges = readonly (readonly [UseCase, bigint])[];

/** The consumed counts after `charges`. */
export const bumpAll = (m: Consumed, charges: Charges): Consumed => {
  let n: Partial<Record<UseCase, bigint>> | undefined;
  for (const [u, a] of charges) {
    if (a === 0n) continue;
    n ??= { ...m };
    n[u] = (n[u] ?? 0n) + a;
  }
  return n ?? m;
};

/**
 * Consume `amount` from the canister for `u`: the caller has checked it can be paid. The books
 * record it as consumed by the canister and by the subnet.
 */
export const consume = (s: ExecState, c: Canister, amount: bigint, u: UseCase): [ExecState, Canister] => {
  if (amount === 0n) return [s, c];
  const f = consumed(s, c, amount, u);
  return [{ ...s, ...f }, f.canisters.get(c.id.text)!];
};

/** The canisters and books after `consume` (for a rule that changes the state further in the same copy). */
export const consumed = (s: ExecState, c: Canister, amount: bigint, u: UseCase): Pick<ExecState, 'canisters' | 'books'> => {
  const fromReserved = fromReservedFirst(u) ? A.min(amount, c.reserved) : 0n;
  const c2: Canister = { ...c, reserved: c.reserved - fromReserved, cycles: c.cycles - (amount - fromReserved), consumed: bump(c.consumed, u, amount) };
  return { canisters: s.canisters.set(c.id.text, c2), books: { ...s.books, consumed: bump(s.books.consumed, u, amount) } };
};

/** Return `amount` of what was consumed for `u` (an unused prepayment). */
export const refund = (s: ExecState, c: Canister, amount: bigint, u: UseCase): [ExecState, Canister] => {
  if (amount === 0n) return [s, c];
  const c2: Canister = { ...c, cycles: c.cycles + amount, consumed: bump(c.consumed, u, -amount) };
  return [{ ...s, canisters: s.canisters.set(c.id.text, c2), books: { ...s.books, consumed: bump(s.books.consumed, u, -amount) } }, c2];
};

/** Cycles that leave the subnet's accounts without a canister (deleted canisters, dropped messages). */
export const consumeSubnet = (s: ExecState, amount: bigint, u: UseCase): ExecState =>
  amount === 0n ? s : { ...s, books: { ...s.books, consumed: bump(s.books.consumed, u, amount) } };

/** New cycles: provisional creation and top-ups (later the CMC) ([CYC-CONSERVATION.1]). */
export const mint = (s: ExecState, amount: bigint): ExecState => ({ ...s, books: { ...s.books, minted: s.books.minted + amount } });

// ---------------------------------------------------------------------------------------
// The conservation law ([CYC-CONSERVATION.1])

/** Cycles in flight: attached to pending calls, refunded in pending responses, available in call contexts. */
export const inFlight = (s: ExecState): bigint => {
  let n = 0n;
  for (const [, m] of s.messages.entries()) n += m.kind === 'call' ? m.cycles : m.refund;
  for (const [, ctx] of s.contexts.entries()) n += ctx.availableCycles;
  return n;
};

export const totalConsumed = (m: Consumed): bigint => Object.values(m).reduce((a: bigint, b) => a + (b ?? 0n), 0n);

/** minted − (balances + reserved + in flight + consumed): 0 when every cycle is accounted for. */
export const unaccounted = (s: ExecState): bigint => {
  let held = 0n;
  for (const [, c] of s.canisters.entries()) held += c.cycles + c.reserved;
  return s.books.minted - (held + inFlight(s) + totalConsumed(s.books.consumed));
};

// ---------------------------------------------------------------------------------------
// What an execution sees of the accounts ([CYC-SYSAPI.1])

const GiB = 1n << 30n;
/** SUBNET_MEMORY_RESERVATION: memory the subnet keeps back for executions (2560 MiB per thread). */
const SUBNET_MEMORY_RESERVATION = 10n * GiB;

/**
 * [CYC-RESERVE.1] how full the subnet's memory is, per execution thread: the replica divides
 * the subnet's memory, its threshold and capacity over its threads.
 */
export const subnetSaturation = (s: ExecState): A.Saturation => {
  let used = SUBNET_MEMORY_RESERVATION;
  for (const [, c] of s.canisters.entries()) used += A.allocatedBytes({ memoryAllocation: c.settings.memoryAllocation, memoryUsage: memoryUsage(c) });
  const k = s.config.schedulerCores > 0n ? s.config.schedulerCores : 1n;
  return { usage: used / k, threshold: s.config.subnetMemoryThreshold / k, capacity: s.config.subnetMemoryCapacity / k };
};

/** The cycles environment of an execution of `c` (on Wasm state `wasm`); `reveal`: the caller is a controller. */
export const cyclesEnv = (s: ExecState, c: Canister, wasm: WasmState, reveal: boolean): CyclesEnv => {
  const f = s.config.fees;
  const usage = memoryUsage({ ...c, wasm });
  let sat: A.Saturation | undefined;
  const base = (u: bigint, m: bigint): A.Holdings => ({ memoryAllocation: c.settings.memoryAllocation, memoryUsage: u, messageMemory: m, computeAllocation: c.settings.computeAllocation });
  return {
    fees: f,
    threshold: (u, m) => A.freezeThreshold(f, base(u, m), c.settings.freezingThreshold, c.reserved),
    otherMemory: usage - BigInt(wasm.heap.byteLength) - BigInt(wasm.stable.byteLength),
    messageMemory: messageMemory(s, c.id.text),
    responseLimit: s.config.limits.update,
    wasm64: isWasm64(wasm),
    reveal,
    memoryAllocation: c.settings.memoryAllocation,
    reservation: (bytes, before) => {
      if (f.table.maxStorageReservationPeriod === 0n || f.free === true) return 0n;
      sat ??= subnetSaturation(s);
      return A.storageReservation(f, bytes, { ...sat, usage: sat.usage + before });
    },
    reserved: c.reserved,
    reservedLimit: c.settings.reservedCyclesLimit,
  };
};

/** Cycles to reserve for `bytes` newly allocated on this subnet now ([CYC-RESERVE.1]). */
export const reservationFor = (s: ExecState, bytes: bigint): bigint => {
  const f = s.config.fees;
  if (bytes <= 0n || f.table.maxStorageReservationPeriod === 0n || f.free === true) return 0n;
  return A.storageReservation(f, bytes, subnetSaturation(s));
};

// ---------------------------------------------------------------------------------------
// Settings that need cycles ([CYC-SETTINGS.1])

const KIB = 1024n;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;
/** A memory allocation as the replica prints it: `best-effort`, or bytes in the largest binary unit, two decimals. */
export const memoryAllocationText = (bytes: bigint): string => {
  if (bytes === 0n) return 'best-effort';
  let k = 0;
  while (k + 1 < UNITS.length && bytes >= KIB ** BigInt(k + 1)) k++;
  if (k === 0) return `${bytes} B`;
  const hundredths = (bytes * 100n + KIB ** BigInt(k) / 2n) / KIB ** BigInt(k);
  return `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')} ${UNITS[k]}`;
};

const TOP_UP = 'Top up the canister with more cycles.';

/**
 * [CYC-SETTINGS.1] the cycles checks of new settings for canister `c` (whose main balance is
 * `c.cycles`), in the replica's order: the freezing limit under the new settings against the
 * balance when an allocation grows (IC0530, IC0531), the reserved cycles limit against the
 * reserved balance (IC0540) and the storage reservation the new memory allocation needs (IC0533),
 * and that reservation against the balance (IC0531). Otherwise the cycles to move into the
 * reserved balance.
 */
export const settingsCycles = (s: ExecState, c: Canister, next: Settings): { readonly error: UserError } | { readonly reservation: bigint } => {
  const f = s.config.fees;
  const usage = memoryUsage(c);
  const h = (st: Settings): A.Holdings => ({ memoryAllocation: st.memoryAllocation, memoryUsage: usage, messageMemory: messageMemory(s, c.id.text), computeAllocation: st.computeAllocation });
  const threshold = A.freezeThreshold(f, h(next), next.freezingThreshold, c.reserved);
  // (raising only the freezing threshold is allowed, even when it freezes the canister)
  if (c.cycles < threshold) {
    if (next.computeAllocation > c.settings.computeAllocation)
      return {
        error: userError(
          'InsufficientCyclesInComputeAllocation',
          `Cannot increase compute allocation to ${next.computeAllocation}% due to insufficient cycles. At least ${A.fmtCycles(threshold - c.cycles)} additional cycles are required.\n${helpWith(TOP_UP, 'insufficient-cycles-in-compute-allocation')}`,
        ),
      };
    if (next.memoryAllocation > c.settings.memoryAllocation) return { error: insufficientForMemory(next.memoryAllocation, threshold - c.cycles) };
  }
  const grown = A.allocatedBytes({ memoryAllocation: next.memoryAllocation, memoryUsage: usage }) - A.allocatedBytes({ memoryAllocation: c.settings.memoryAllocation, memoryUsage: usage });
  const reservation = reservationFor(s, grown);
  const limit = next.reservedCyclesLimit;
  if (c.reserved > limit)
    return {
      error: userError(
        'ReservedCyclesLimitIsTooLow',
        `Cannot set the reserved cycles limit ${A.fmtCycles(limit)} below the reserved cycles balance of the canister ${A.fmtCycles(c.reserved)}.\nSet the reserved cycles limit in the canister settings to a value that is at least the current reserved cycles balance. See documentation: reserved-cycles-limit-is-too-low`,
      ),
    };
  if (c.reserved + reservation > limit)
    return {
      error: userError(
        'ReservedCyclesLimitExceededInMemoryAllocation',
        `Cannot increase memory allocation to ${memoryAllocationText(next.memoryAllocation)} due to its reserved cycles limit. The current limit (${A.fmtCycles(limit)}) would be exceeded by ${A.fmtCycles(c.reserved + reservation - limit)}.\n${helpWith("Try increasing this canister's reserved cycles limit or moving it to a subnet with lower memory usage.", 'reserved-cycles-limit-exceeded-in-memory-allocation')}`,
      ),
    };
  // (the reservation alone, without the freezing limit, as when memory grows)
  if (c.cycles < reservation) return { error: insufficientForMemory(next.memoryAllocation, reservation - c.cycles) };
  return { reservation };
};

const insufficientForMemory = (bytes: bigint, missing: bigint): UserError =>
  userError(
    'InsufficientCyclesInMemoryAllocation',
    `Cannot increase memory allocation to ${memoryAllocationText(bytes)} due to insufficient cycles. At least ${A.fmtCycles(missing)} additional cycles are required.\n${helpWith(TOP_UP, 'insufficient-cycles-in-memory-allocation')}`,
  );

export const isWasm64 = (w: WasmState | undefined): boolean => w?.module.info.memory?.is64 === true;

export const isController = (c: Canister, p: { readonly text: string }): boolean => c.controllers.some((x) => x.text === p.text);

// ---------------------------------------------------------------------------------------
// Prepaying an execution ([CYC-PREPAY.1])

/** What an execution prepaid: refunded, less what its instructions cost, when it completes. */
export interface Prepaid {
  readonly amount: bigint;
  readonly limit: bigint;
  readonly wasm64: boolean;
  /**
   * false: taken from the canister the execution ran with but not yet from the state's — an
   * execution that completes in its slice pays prepayment less refund in one charge when it is
   * applied (the same accounts, one copy fewer); one that pauses commits it ([EXE-DTS.1]).
   */
  readonly deferred?: boolean;
}

export const NOTHING_PREPAID: Prepaid = { amount: 0n, limit: 0n, wasm64: false };

/**
 * [CYC-PREPAY.1] take the cost of `limit` instructions before an execution, above the freezing
 * limit; or the replica's out-of-cycles error.
 */
export const prepay = (s: ExecState, c: Canister, limit: bigint, reveal: boolean): { readonly state: ExecState; readonly canister: Canister; readonly prepaid: Prepaid } | { readonly error: UserError } => {
  if (A.chargesNothing(s.config.fees)) return { state: s, canister: c, prepaid: NOTHING_PREPAID };
  const wasm64 = isWasm64(c.wasm);
  const cost = A.executionCost(s.config.fees, limit, wasm64);
  const thr = freezingLimit(s, c);
  if (!A.canWithdraw(c.cycles, thr, cost)) return { error: userError('CanisterOutOfCycles', A.outOfCyclesText(c.id.text, c.cycles, cost, thr, reveal)) };
  const [st, c2] = consume(s, c, cost, 'Instructions');
  return { state: st, canister: c2, prepaid: { amount: cost, limit, wasm64 } };
};

/**
 * [CYC-PREPAY.1] the prepayment checked and taken from the canister the execution runs with, not
 * yet from the state (`commitPrepaid` or `netCharge` settle it).
 */
export const prepayDeferred = (s: ExecState, c: Canister, limit: bigint, reveal: boolean): { readonly canister: Canister; readonly prepaid: Prepaid } | { readonly error: UserError } => {
  if (A.chargesNothing(s.config.fees)) return { canister: c, prepaid: NOTHING_PREPAID };
  const wasm64 = isWasm64(c.wasm);
  const cost = A.executionCost(s.config.fees, limit, wasm64);
  const thr = freezingLimit(s, c);
  if (!A.canWithdraw(c.cycles, thr, cost)) return { error: userError('CanisterOutOfCycles', A.outOfCyclesText(c.id.text, c.cycles, cost, thr, reveal)) };
  return { canister: { ...c, cycles: c.cycles - cost }, prepaid: { amount: cost, limit, wasm64, deferred: true } };
};

/** A deferred prepayment taken from the state's canister (an execution that pauses). */
export const commitPrepaid = (s: ExecState, canister: string, p: Prepaid): [ExecState, Prepaid] => {
  if (p.deferred !== true) return [s, p];
  return [consume(s, s.canisters.get(canister)!, p.amount, 'Instructions')[0], { amount: p.amount, limit: p.limit, wasm64: p.wasm64 }];
};

const refundOf = (s: ExecState, p: Prepaid, used: bigint): bigint => A.executionRefund(s.config.fees, p.limit > used ? p.limit - used : 0n, p.limit, p.amount, p.wasm64);

/** What a deferred prepayment comes to once `used` instructions ran: the prepayment less its refund (0 when it was committed). */
export const netCharge = (s: ExecState, p: Prepaid, used: bigint): bigint => (p.deferred === true ? p.amount - refundOf(s, p, used) : 0n);

/** [CYC-PREPAY.1] refund the instructions an execution did not use: on success and on a trap alike. */
export const refundUnused = (s: ExecState, canister: string, p: Prepaid, used: bigint): ExecState => {
  if (p.amount === 0n || p.deferred === true) return s;
  const c = s.canisters.get(canister);
  const amount = refundOf(s, p, used);
  // a canister deleted meanwhile keeps nothing: its prepayment stays consumed
  if (c === undefined) return s;
  return refund(s, c, amount, 'Instructions')[0];
};

// ---------------------------------------------------------------------------------------
// What a step exercised (for a replay's account of the requirements it covers)

/** The requirement a use case's charge shows. */
const CHARGED_FOR: Readonly<Record<UseCase, readonly string[]>> = {
  Memory: ['CYC-STORAGE.1'],
  ComputeAllocation: ['CYC-COMPUTE.1'],
  IngressInduction: ['CYC-INGRESS.1'],
  Instructions: ['CYC-EXEC-FEE.1', 'CYC-PREPAY.1'],
  RequestAndResponseTransmission: ['CYC-CALL-FEE.1'],
  Uninstall: ['CYC-OUT-OF-CYCLES.1'],
  CanisterCreation: ['CYC-MGMT-FEES.1'],
  HTTPOutcalls: [],
  DeletedCanisters: ['CYC-MGMT-FEES.1'],
  BurnedCycles: ['CYC-SYSAPI.1'],
  SchnorrOutcalls: [],
  VetKd: [],
  ECDSAOutcalls: [],
  DroppedMessages: [],
};

/**
 * The cycles requirements a step from `b` to `a` exercised, as its books show them: each use
 * case charged, the table's scaled arithmetic behind any charge, a free system subnet, minting.
 */
export const cyclesExercised = (b: ExecState, a: ExecState): string[] => {
  const out: string[] = [];
  if (b.books === a.books) return a.config.subnetKind === 'system' ? ['CYC-SYSTEM-FREE.1'] : out;
  for (const u of A.USE_CASES) if ((a.books.consumed[u] ?? 0n) > (b.books.consumed[u] ?? 0n)) out.push(...CHARGED_FOR[u]);
  if (out.length > 0) out.push('CYC-TABLE.1', 'CYC-SCALE.1', 'CYC-ARITH.1');
  if (a.books.minted > b.books.minted) out.push('CYC-MGMT-FEES.1');
  if (a.config.subnetKind === 'system') out.push('CYC-SYSTEM-FREE.1');
  return out;
};
