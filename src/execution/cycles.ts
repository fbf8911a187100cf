/**
 * The execution machine's cycles accounts: what a canister holds, its freezing limit, and the
 * two ways cycles leave or return to a balance — consumed for a use case (and refunded), or
 * minted. Every charge goes through `consume`, so the subnet's books always balance
 * ([CYC-CONSERVATION.1]).
 */
import * as A from '../cycles/account.js';
import type { UseCase } from '../cycles/account.js';
import type { Canister, Consumed, ExecState } from './state.js';
import type { CyclesEnv, WasmState } from './runtime.js';
import { userError, type UserError } from './errors.js';

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
export const wasmMemoryUsage = (w: WasmState): bigint => {
  const m = w.module.info;
  const exported = new Set(m.module.exports.filter((e) => e.kind === GLOBAL_KIND).map((e) => e.index));
  let globals = 1n + BigInt(exported.size);
  for (const g of m.globals) if (g.mutable && !exported.has(g.index)) globals++;
  let custom = 0n;
  for (const [name, sec] of m.customSections) custom += BigInt(utf8Len(name)) + 1n + BigInt(sec.content.length);
  return BigInt(w.heap.byteLength) + BigInt(w.stable.byteLength) + globals * GLOBAL_BYTES + BigInt(w.module.raw.length) + custom;
};

const GLOBAL_KIND = 3;
const utf8Len = (s: string): number => new TextEncoder().encode(s).length;

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
export const messageMemory = (s: ExecState, canister: string): bigint => {
  let n = 0n;
  for (const [, cb] of s.callbacks.entries()) if (cb.canister === canister && cb.deadline === 0n) n++;
  for (const [, ctx] of s.contexts.entries()) if (ctx.canister === canister && ctx.needsToRespond && ctx.origin.kind === 'canister' && ctx.deadline === 0n) n++;
  return n * A.MAX_RESPONSE_COUNT_BYTES;
};

export const holdings = (s: ExecState, c: Canister, usage: bigint = memoryUsage(c)): A.Holdings => ({
  memoryAllocation: c.settings.memoryAllocation,
  memoryUsage: usage,
  messageMemory: messageMemory(s, c.id.text),
  computeAllocation: c.settings.computeAllocation,
});

/** [CYC-FREEZE.1] the canister's freezing limit now (with `usage` bytes of memory, if given). */
export const freezingLimit = (s: ExecState, c: Canister, usage?: bigint): bigint => A.freezeThreshold(s.config.fees, holdings(s, c, usage), c.settings.freezingThreshold, c.reserved);

/** [CYC-IDLE.1] cycles burned per day by the canister doing nothing (`canister_status`). */
export const idleCyclesPerDay = (s: ExecState, c: Canister): bigint => A.idleTotal(A.idleRate(s.config.fees, holdings(s, c)));

// ---------------------------------------------------------------------------------------
// Moving cycles ([CYC-CONSERVATION.1])

const bump = (m: Consumed, u: UseCase, by: bigint): Consumed => ({ ...m, [u]: (m[u] ?? 0n) + by });

/** The reserved balance pays for storage and allocations (and is burned on uninstall) before the main balance. */
const fromReservedFirst = (u: UseCase): boolean => u === 'Memory' || u === 'ComputeAllocation' || u === 'Uninstall';

/**
 * Consume `amount` from the canister for `u`: the caller has checked it can be paid. The books
 * record it as consumed by the canister and by the subnet.
 */
export const consume = (s: ExecState, c: Canister, amount: bigint, u: UseCase): [ExecState, Canister] => {
  if (amount === 0n) return [s, c];
  const fromReserved = fromReservedFirst(u) ? A.min(amount, c.reserved) : 0n;
  const c2: Canister = { ...c, reserved: c.reserved - fromReserved, cycles: c.cycles - (amount - fromReserved), consumed: bump(c.consumed, u, amount) };
  return [{ ...s, canisters: s.canisters.set(c.id.text, c2), books: { ...s.books, consumed: bump(s.books.consumed, u, amount) } }, c2];
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

export const isWasm64 = (w: WasmState | undefined): boolean => w?.module.info.memory?.is64 === true;

export const isController = (c: Canister, p: { readonly text: string }): boolean => c.controllers.some((x) => x.text === p.text);

// ---------------------------------------------------------------------------------------
// Prepaying an execution ([CYC-PREPAY.1])

/** What an execution prepaid: refunded, less what its instructions cost, when it completes. */
export interface Prepaid {
  readonly amount: bigint;
  readonly limit: bigint;
  readonly wasm64: boolean;
}

export const NOTHING_PREPAID: Prepaid = { amount: 0n, limit: 0n, wasm64: false };

/**
 * [CYC-PREPAY.1] take the cost of `limit` instructions before an execution, above the freezing
 * limit; or the replica's out-of-cycles error.
 */
export const prepay = (s: ExecState, c: Canister, limit: bigint, reveal: boolean): { readonly state: ExecState; readonly canister: Canister; readonly prepaid: Prepaid } | { readonly error: UserError } => {
  const wasm64 = isWasm64(c.wasm);
  const cost = A.executionCost(s.config.fees, limit, wasm64);
  const thr = freezingLimit(s, c);
  if (!A.canWithdraw(c.cycles, thr, cost)) return { error: userError('CanisterOutOfCycles', A.outOfCyclesText(c.id.text, c.cycles, cost, thr, reveal)) };
  const [st, c2] = consume(s, c, cost, 'Instructions');
  return { state: st, canister: c2, prepaid: { amount: cost, limit, wasm64 } };
};

/** [CYC-PREPAY.1] refund the instructions an execution did not use: on success and on a trap alike. */
export const refundUnused = (s: ExecState, canister: string, p: Prepaid, used: bigint): ExecState => {
  if (p.amount === 0n) return s;
  const c = s.canisters.get(canister);
  const amount = A.executionRefund(s.config.fees, p.limit > used ? p.limit - used : 0n, p.limit, p.amount, p.wasm64);
  // a canister deleted meanwhile keeps nothing: its prepayment stays consumed
  if (c === undefined) return s;
  return refund(s, c, amount, 'Instructions')[0];
};
