/**
 * What things cost, in cycles: the replica's cycles account manager as pure functions of a
 * cost table and a subnet size. Every amount is a u128: additions and multiplications saturate
 * at 2^128 − 1, subtractions at 0, divisions floor — in the order the replica computes them,
 * because the order decides the last cycle ([CYC-ARITH.1]).
 */
import { U128_MAX, type CostTable } from './table.js';

/**
 * Why cycles were consumed: the replica's `CyclesUseCase` ([CYC-CONSERVATION.1]). `NonConsumed`
 * is not a use case: cycles moved between balances are not consumed.
 */
export type UseCase =
  | 'Memory'
  | 'ComputeAllocation'
  | 'IngressInduction'
  | 'Instructions'
  | 'RequestAndResponseTransmission'
  | 'Uninstall'
  | 'CanisterCreation'
  | 'ECDSAOutcalls'
  | 'HTTPOutcalls'
  | 'DeletedCanisters'
  | 'BurnedCycles'
  | 'SchnorrOutcalls'
  | 'VetKd'
  | 'DroppedMessages';

export const USE_CASES: readonly UseCase[] = [
  'Memory',
  'ComputeAllocation',
  'IngressInduction',
  'Instructions',
  'RequestAndResponseTransmission',
  'Uninstall',
  'CanisterCreation',
  'ECDSAOutcalls',
  'HTTPOutcalls',
  'DeletedCanisters',
  'BurnedCycles',
  'SchnorrOutcalls',
  'VetKd',
  'DroppedMessages',
];

/** A cost table applied to one subnet. */
export interface Fees {
  readonly table: CostTable;
  /** the number of nodes of the subnet */
  readonly subnetSize: bigint;
  /** a subnet with the `Free` cost schedule (rented subnets): nothing is charged */
  readonly free?: boolean;
}

// ---------------------------------------------------------------------------------------
// u128 arithmetic ([CYC-ARITH.1])

export const add = (a: bigint, b: bigint): bigint => (a + b > U128_MAX ? U128_MAX : a + b);
export const sub = (a: bigint, b: bigint): bigint => (a > b ? a - b : 0n);
export const mul = (a: bigint, b: bigint): bigint => (a * b > U128_MAX ? U128_MAX : a * b);
export const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** Cycles as the replica prints them: digits grouped in threes by `_` (`1_234_567`). */
export const fmtCycles = (x: bigint): string => x.toString().replace(/\B(?=(\d{3})+(?!\d))/g, '_');

const GiB = 1n << 30n;
export const DAY = 86_400n;

// ---------------------------------------------------------------------------------------
// Scaling ([CYC-SCALE.1])

/** [CYC-SCALE.1] a fee on an n-node subnet: fee · n / reference size (13), multiplied first. */
export const scale = (f: Fees, x: bigint): bigint => {
  if (f.free === true) return 0n;
  const r = f.table.referenceSubnetSize > 0n ? f.table.referenceSubnetSize : 1n;
  return mul(x, f.subnetSize) / r;
};

/**
 * [CYC-SYSTEM-FREE.1] whether messages cost nothing under these fees — the Free schedule, or a
 * table (a system subnet's) whose execution, ingress, transmission and resource fees are all 0 —
 * so that every charge and freezing limit of a message is 0 and need not be computed.
 */
export const chargesNothing = (f: Fees): boolean => {
  if (f.free === true) return true;
  let z = FREE_TABLES.get(f.table);
  if (z === undefined) {
    const t = f.table;
    z = [
      t.updateMessageExecutionFee,
      t.tenUpdateInstructionsExecutionFee,
      t.tenUpdateInstructionsExecutionFeeWasm64,
      t.ingressMessageReceptionFee,
      t.ingressByteReceptionFee,
      t.xnetCallFee,
      t.xnetByteTransmissionFee,
      t.gibStoragePerSecondFee,
      t.computePercentAllocatedPerSecondFee,
      t.basePerSecondFee,
    ].every((x) => x === 0n);
    FREE_TABLES.set(t, z);
  }
  return z;
};
const FREE_TABLES = new WeakMap<CostTable, boolean>();

// ---------------------------------------------------------------------------------------
// Execution ([CYC-EXEC-FEE.1])

/** Instructions to cycles, unscaled: fee per ten instructions · n / 10 (Wasm64 pays twice the fee). */
export const instructionsToCycles = (f: Fees, n: bigint, wasm64: boolean): bigint =>
  mul(wasm64 ? f.table.tenUpdateInstructionsExecutionFeeWasm64 : f.table.tenUpdateInstructionsExecutionFee, n) / 10n;

/** [CYC-EXEC-FEE.1] the cost of executing `n` instructions: one scaling over base fee + instructions. */
export const executionCost = (f: Fees, n: bigint, wasm64: boolean): bigint => scale(f, add(f.table.updateMessageExecutionFee, instructionsToCycles(f, n, wasm64)));

/**
 * [CYC-PREPAY.1] what is refunded after an execution that was prepaid `prepaid` for `limit`
 * instructions and left `left` of them unused: the scaled cost of the unused instructions, at
 * most what was prepaid.
 */
export const executionRefund = (f: Fees, left: bigint, limit: bigint, prepaid: bigint, wasm64: boolean): bigint =>
  min(scale(f, instructionsToCycles(f, min(left, limit), wasm64)), prepaid);

// ---------------------------------------------------------------------------------------
// Ingress ([CYC-INGRESS.1])

/** [CYC-INGRESS.1] the induction fee of an ingress message of `bytes` bytes. */
export const ingressInductionCost = (f: Fees, bytes: bigint): bigint =>
  f.table.ingressFeeScaling === 'sum'
    ? scale(f, add(f.table.ingressMessageReceptionFee, mul(f.table.ingressByteReceptionFee, bytes)))
    : add(scale(f, f.table.ingressMessageReceptionFee), mul(scale(f, f.table.ingressByteReceptionFee), bytes));

// ---------------------------------------------------------------------------------------
// Calls and responses ([CYC-CALL-FEE.1], [CYC-RESPONSE-RESERVE.1])

/** The largest inter-canister payload, for which every call reserves the response transmission. */
export const MAX_INTER_CANISTER_PAYLOAD_IN_BYTES = 2n * 1024n * 1024n;

/** The message memory one guaranteed response occupies: its payload limit and the message's overhead ([CYC-MEMORY-USAGE.1]). */
export const MAX_RESPONSE_COUNT_BYTES = MAX_INTER_CANISTER_PAYLOAD_IN_BYTES + 144n;

export const xnetCallPerformedFee = (f: Fees): bigint => scale(f, f.table.xnetCallFee);
export const xnetBytesFee = (f: Fees, bytes: bigint): bigint => scale(f, mul(f.table.xnetByteTransmissionFee, bytes));
/** [CYC-RESPONSE-RESERVE.1] the transmission of the largest response, reserved at `call_perform`. */
export const responseTransmissionReserve = (f: Fees): bigint => xnetBytesFee(f, MAX_INTER_CANISTER_PAYLOAD_IN_BYTES);

/** What `call_perform` takes for a request of `bytes` (method name + argument) bytes. */
export interface CallCharge {
  /** the call fee, the request's bytes and the reserved response transmission */
  readonly transmission: bigint;
  /** the execution of the response callback, prepaid for the message instruction limit */
  readonly execution: bigint;
}

/** [CYC-CALL-FEE.1] the call fee, the bytes, and the reservations for the response. */
export const callCharge = (f: Fees, bytes: bigint, maxInstructions: bigint, wasm64: boolean): CallCharge => ({
  transmission: add(add(xnetCallPerformedFee(f), xnetBytesFee(f, bytes)), responseTransmissionReserve(f)),
  execution: executionCost(f, maxInstructions, wasm64),
});

/** [CYC-RESPONSE-RESERVE.1] what returns of the reserved transmission when a response of `bytes` bytes arrives. */
export const responseTransmissionRefund = (f: Fees, bytes: bigint, prepaid: bigint): bigint => sub(prepaid, min(xnetBytesFee(f, bytes), prepaid));

// ---------------------------------------------------------------------------------------
// Allocations over time ([CYC-STORAGE.1], [CYC-COMPUTE.1])

/** [CYC-STORAGE.1] storage of `bytes` for `secs` seconds: bytes · fee · secs / GiB, then scaled. */
export const memoryCost = (f: Fees, bytes: bigint, secs: bigint): bigint => scale(f, mul(mul(bytes, f.table.gibStoragePerSecondFee), secs) / GiB);

/** The newer tables' base fee of a canister that holds memory, per second. */
export const baseCost = (f: Fees, bytes: bigint, secs: bigint): bigint => scale(f, bytes > 0n ? mul(f.table.basePerSecondFee, secs) : 0n);

/** [CYC-COMPUTE.1] a compute allocation of `percent` % for `secs` seconds. */
export const computeCost = (f: Fees, percent: bigint, secs: bigint): bigint => scale(f, mul(mul(f.table.computePercentAllocatedPerSecondFee, secs), percent));

/** What a canister holds, for its idle burn rate. */
export interface Holdings {
  /** 0: best effort */
  readonly memoryAllocation: bigint;
  readonly memoryUsage: bigint;
  readonly messageMemory: bigint;
  readonly computeAllocation: bigint;
}

/** The bytes storage is charged for: the allocation, or the usage above it. */
export const allocatedBytes = (h: Pick<Holdings, 'memoryAllocation' | 'memoryUsage'>): bigint => (h.memoryAllocation > 0n ? max(h.memoryAllocation, h.memoryUsage) : h.memoryUsage);

/** [CYC-IDLE.1] the cycles a canister burns per day doing nothing, by resource. */
export interface IdleRate {
  readonly memory: bigint;
  readonly messageMemory: bigint;
  readonly compute: bigint;
}

export const idleRate = (f: Fees, h: Holdings): IdleRate => {
  const bytes = allocatedBytes(h);
  return {
    memory: add(memoryCost(f, bytes, DAY), baseCost(f, bytes, DAY)),
    messageMemory: memoryCost(f, h.messageMemory, DAY),
    compute: computeCost(f, h.computeAllocation, DAY),
  };
};

export const idleTotal = (r: IdleRate): bigint => add(add(r.memory, r.messageMemory), r.compute);

/**
 * [CYC-FREEZE.1] the freezing limit: the idle burn for `thresholdSecs` seconds, less what the
 * reserved balance covers.
 */
export const freezeThreshold = (f: Fees, h: Holdings, thresholdSecs: bigint, reserved: bigint): bigint => sub(mul(idleTotal(idleRate(f, h)), thresholdSecs) / DAY, reserved);

/** [CYC-FREEZE.1] what may be spent above the freezing limit (0 when frozen). */
export const liquid = (balance: bigint, threshold: bigint): bigint => sub(balance, threshold);

/** [CYC-FREEZE.1] whether `amount` can be taken without going below the freezing limit. */
export const canWithdraw = (balance: bigint, threshold: bigint, amount: bigint): boolean => amount <= liquid(balance, threshold);

// ---------------------------------------------------------------------------------------
// Storage reservation ([CYC-RESERVE.1])

/** How full the subnet's memory is. */
export interface Saturation {
  readonly usage: bigint;
  readonly threshold: bigint;
  readonly capacity: bigint;
}

const saturation = (usage: bigint, threshold: bigint, capacity: bigint): Saturation => ({ usage: min(usage, capacity), threshold: min(threshold, capacity), capacity });

const totalReservation = (f: Fees, s: Saturation): bigint => {
  const span = sub(s.capacity, s.threshold);
  const factor = span === 0n ? 0n : (f.table.maxStorageReservationPeriod * sub(s.usage, s.threshold)) / span;
  // the replica halves a Duration (nanosecond precision) and memory_cost takes its whole seconds
  return memoryCost(f, sub(s.usage, s.threshold), (factor * 1_000_000_000n) / 2n / 1_000_000_000n);
};

/**
 * [CYC-RESERVE.1] the cycles to move into the reserved balance when `bytes` more are allocated
 * on a subnet at saturation `s`: the area under the linear price curve between the subnet's
 * threshold and capacity.
 */
export const storageReservation = (f: Fees, bytes: bigint, s: Saturation): bigint => {
  const before = saturation(s.usage, s.threshold, s.capacity);
  const after = saturation(add(before.usage, bytes), s.threshold, s.capacity);
  return sub(totalReservation(f, after), totalReservation(f, before));
};

// ---------------------------------------------------------------------------------------
// Other fees ([CYC-MGMT-FEES.1], [CYC-COST-API.1])

export const canisterCreationFee = (f: Fees): bigint => scale(f, f.table.canisterCreationFee);

/** HTTPS outcalls: multiplied by the subnet size, not scaled by the reference size. */
export const httpRequestFee = (f: Fees, requestBytes: bigint, maxResponseBytes: bigint | undefined): bigint => {
  if (f.free === true) return 0n;
  const t = f.table;
  const n = f.subnetSize;
  return mul(add(add(add(t.httpRequestLinearBaselineFee, mul(t.httpRequestQuadraticBaselineFee, n)), mul(t.httpRequestPerByteFee, requestBytes)), mul(t.httpResponsePerByteFee, maxResponseBytes ?? 2_000_000n)), n);
};

// ---------------------------------------------------------------------------------------
// The replica's error texts

/**
 * [CYC-FREEZE.1] `CanisterOutOfCyclesError`: with the top-up amount only for a controller
 * (`reveal`); others learn nothing about the balance.
 */
export const outOfCyclesText = (canister: string, available: bigint, requested: bigint, threshold: bigint, reveal: boolean): string =>
  reveal
    ? `Canister ${canister} is out of cycles: please top up the canister with at least ${fmtCycles(sub(add(threshold, requested), available))} additional cycles`
    : `Canister ${canister} is out of cycles`;
