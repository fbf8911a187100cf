/**
 * The Wasm host: runs one entry point of a canister in V8 under the System API, metered, and
 * returns what it did as data. The machine's rules call `execute` and
 * stay pure: the result is a function of the inputs only.
 *
 * Live instances are a memo, like `PMap`'s re-rooting: a canister that runs again on the
 * memory version its live instance reflects reuses it, and a message then costs what it
 * touches (the write barrier lists the 4 KiB pages it wrote; only those are copied out into
 * the new `PageMap` version, or restored on a trap). Any other version is materialized
 * afresh from its `PageMap` (cost ∝ touched pages of that version). Nothing outside the
 * result reveals which path was taken.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8Length } from '../core/bytes.js';
import type { Principal } from '../core/principal.js';
import { principalFromBytes, isPrincipalError } from '../core/principal.js';
import { validateModule, type ModuleInfo, type WasmValidationError } from '../wasm/validate.js';
import { instrument, type InstrumentedModule } from '../wasm/instrument.js';
import { systemApiCost } from '../wasm/costs.js';
import { ensureDirtyCovers, markDirtyRange, takeDirtyPages } from '../wasm/dirty.js';
import { GLOBAL_FLAGS_OFFSET } from '../wasm/instrument.js';
import { allocPages, PageMap, OS_PAGE, WASM_PAGE } from './pagemap.js';
import type { Trap } from './errors.js';
import { availableIn, modeName, type EntryKind } from './sysapi.js';
import { wrongModeHelp } from './errors.js';
import { LOG_CAPACITY } from './log.js';
import * as A from '../cycles/account.js';

// ---------------------------------------------------------------------------------------
// Compiled modules, shared by every canister with the same module hash

export interface CanisterModule {
  /** SHA-256 of the module as installed (before decompression) */
  readonly hash: string;
  readonly raw: Uint8Array;
  readonly info: ModuleInfo;
  readonly inst: InstrumentedModule;
  readonly compiled: WebAssembly.Module;
}

const modules = new Map<string, CanisterModule>();

/** Validate, instrument and compile a module ([EXE-INSTALL.1]); memoized by hash. */
export const loadModule = (raw: Uint8Array): { ok: CanisterModule } | { err: WasmValidationError } => {
  const hash = toHex(sha256(raw));
  const hit = modules.get(hash);
  if (hit !== undefined) return { ok: hit };
  const v = validateModule(raw);
  if (v._tag === 'Left') return { err: v.left };
  const inst = instrument(v.right.bytes, v.right);
  let compiled: WebAssembly.Module;
  try {
    compiled = new WebAssembly.Module(inst.binary as BufferSource);
  } catch (e) {
    return { err: { code: 'InstrumentationFailed', message: `Could not instrument wasm module of canister: ${(e as Error).message}`, req: 'EXE-INSTALL.1' } as unknown as WasmValidationError };
  }
  const m: CanisterModule = { hash, raw, info: v.right, inst, compiled };
  modules.set(hash, m);
  return { ok: m };
};

// ---------------------------------------------------------------------------------------
// The Wasm state of an installed canister

/** A mutable global's value: i32/f32/f64 as number, i64 as bigint. */
export type GlobalValue = number | bigint;

/** Everything Wasm that persists between messages ([EXE-STATE.1]). */
export interface WasmState {
  readonly module: CanisterModule;
  readonly heap: PageMap;
  readonly stable: PageMap;
  readonly globals: readonly GlobalValue[];
}

// ---------------------------------------------------------------------------------------
// What an execution sees and what it produces

export interface CallArgs {
  readonly callee: Principal;
  readonly method: string;
  readonly arg: Uint8Array;
  readonly cycles: bigint;
  readonly reply: { readonly fun: bigint; readonly env: bigint };
  readonly reject: { readonly fun: bigint; readonly env: bigint };
  readonly cleanup?: { readonly fun: bigint; readonly env: bigint };
  /** best-effort timeout in seconds, if set */
  readonly timeoutSeconds?: number;
  /** prepaid at `call_perform` ([CYC-CALL-FEE.1]) */
  readonly prepaidExecution: bigint;
  readonly prepaidTransmission: bigint;
}

/**
 * What an execution needs to know of the cycles accounts ([CYC-SYSAPI.1]): the fees, and the
 * canister's freezing limit as a function of its memory (which the execution may grow).
 */
export interface CyclesEnv {
  readonly fees: A.Fees;
  /** the freezing limit at a memory usage and a message memory, in bytes ([CYC-FREEZE.1]) */
  readonly threshold: (memoryUsage: bigint, messageMemory: bigint) => bigint;
  /** memory usage besides the Wasm and stable memories, and the message memory, at the start */
  readonly otherMemory: bigint;
  readonly messageMemory: bigint;
  /** the instruction limit a call's response callback is prepaid for */
  readonly responseLimit: bigint;
  readonly wasm64: boolean;
  /** the caller is a controller: errors tell the cycles missing */
  readonly reveal: boolean;
  /** bytes; 0 = best effort */
  readonly memoryAllocation: bigint;
  /** cycles to reserve for `bytes` newly allocated, after `before` bytes allocated earlier in this execution ([CYC-RESERVE.1]) */
  readonly reservation: (bytes: bigint, before: bigint) => bigint;
  readonly reserved: bigint;
  readonly reservedLimit: bigint;
}


export type Response =
  | { readonly kind: 'reply'; readonly data: Uint8Array }
  | { readonly kind: 'reject'; readonly code: number; readonly message: string };

/** The inputs of one execution. */
export interface ExecInput {
  readonly kind: EntryKind;
  /** export to call: `canister_update inc`, `canister_init`, … or a callback */
  readonly entry: { readonly export: string } | { readonly callback: { readonly fun: bigint; readonly env: bigint } };
  readonly canisterId: Principal;
  readonly caller: Principal;
  readonly arg: Uint8Array;
  readonly methodName: string;
  readonly time: bigint;
  readonly balance: bigint;
  readonly cyclesAvailable: bigint;
  readonly cyclesRefunded: bigint;
  readonly rejectCode: number;
  readonly rejectMessage: string;
  readonly controllers: readonly Principal[];
  readonly status: 1 | 2 | 3; // running, stopping, stopped
  readonly version: bigint;
  readonly certificate?: Uint8Array;
  readonly deadline: bigint;
  /** total instruction limit of the message and the slice limit (equal without DTS) */
  readonly limit: bigint;
  readonly sliceLimit: bigint;
  /** wasm_memory_limit in bytes, 0 = none, enforced only where the spec says ([EXE-MEM-LIMIT.1]) */
  readonly wasmMemoryLimit: bigint;
  readonly stableMemoryLimitBytes: bigint;
  /** instructions of earlier executions in the same call context (performance counter type 1) */
  readonly callContextInstructions: bigint;
  /** the call context was already answered by an earlier execution: replying traps ([EXE-STARVED.1]) */
  readonly alreadyReplied?: boolean;
  /** free bytes in the canister log, which the charge of `debug_print` and `trap` depends on ([EXE-LOG.1]) */
  readonly logRemaining?: number;
  /** the cycles accounts; none: nothing is charged or frozen */
  readonly cycles?: CyclesEnv;
}

export interface ExecEffects {
  readonly response?: Response;
  readonly calls: readonly CallArgs[];
  readonly cyclesAccepted: bigint;
  readonly cyclesBurned: bigint;
  /** cycles moved to calls (deducted from the balance) */
  readonly cyclesSent: bigint;
  /** the calls' fees and reserved transmissions, and their callbacks' prepaid execution ([CYC-CALL-FEE.1]) */
  readonly transmissionCharged: bigint;
  readonly executionCharged: bigint;
  /** moved into the reserved balance for memory the execution allocated ([CYC-RESERVE.1]) */
  readonly cyclesReserved: bigint;
  readonly certifiedData?: Uint8Array;
  readonly globalTimer?: bigint;
  readonly accepted: boolean;
}

export type ExecOutcome =
  | ({ readonly kind: 'ok'; readonly state: WasmState } & ExecEffects)
  | { readonly kind: 'trap'; readonly trap: Trap };

export interface ExecResult {
  readonly outcome: ExecOutcome;
  readonly instructions: bigint;
  /** DTS slices the execution took (1 without time slicing) */
  readonly slices: number;
  readonly debugPrints: readonly string[];
  /** the cycles requirements it exercised, for a replay's account ([CYC-SYSAPI.1], [CYC-COST-API.1], …) */
  readonly reqs?: readonly string[];
}

// ---------------------------------------------------------------------------------------
// Host traps

const reqsOf = (h: Host): { reqs?: readonly string[] } => (h.reqs.size === 0 ? {} : { reqs: [...h.reqs] });

class HostTrap {
  constructor(readonly trap: Trap) {}
}
const violation = (message: string): never => {
  throw new HostTrap({ kind: 'ContractViolation', message });
};

/** V8's trap texts → the replica's ([EXE-TRAP-ERROR.1]). */
const v8TrapText = (e: unknown): string | undefined => {
  if (e instanceof RangeError && /call stack/i.test(e.message)) return 'stack overflow';
  if (!(e instanceof WebAssembly.RuntimeError)) return undefined;
  const m = e.message;
  if (/unreachable/.test(m)) return 'unreachable';
  if (/memory access out of bounds|out of bounds memory access/.test(m)) return 'heap out of bounds';
  if (/divide by zero|remainder by zero/.test(m)) return 'integer division by 0';
  if (/table index is out of bounds|table access out of bounds|element segment out of bounds/.test(m)) return 'table out of bounds';
  if (/integer overflow|float unrepresentable/.test(m)) return 'integer overflow';
  if (/function signature mismatch|null function/.test(m)) return 'indirect call type mismatch';
  return m;
};

// ---------------------------------------------------------------------------------------
// Live instances

interface Live {
  readonly module: CanisterModule;
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory | undefined;
  readonly dirty: WebAssembly.Memory | undefined;
  readonly counter: WebAssembly.Global;
  readonly globals: readonly WebAssembly.Global[];
  readonly callback: ((fun: number | bigint, env: number | bigint) => void) | undefined;
  /** the versions this instance reflects; undefined when it must be rebuilt */
  heap: PageMap | undefined;
  globalValues: readonly GlobalValue[] | undefined;
  host: Host;
}

/** Live instances by canister id (a bounded memo; evicting one only costs a rebuild). */
const lives = new Map<string, Live>();
const MAX_LIVE = 256;

/** The execution in progress, seen by the host functions of an instance. */
class Host {
  in!: ExecInput;
  live!: Live;
  is64 = false;
  // metering
  sliceLimit = 0n;
  executedBefore = 0n;
  slices = 1;
  // effects
  stable!: PageMap;
  replyChunks: Uint8Array[] = [];
  replySize = 0;
  response: Response | undefined;
  pending: { callee: Principal; method: string; args: Uint8Array[]; argSize: number; cycles: bigint; reply: { fun: bigint; env: bigint }; reject: { fun: bigint; env: bigint }; cleanup?: { fun: bigint; env: bigint }; timeout?: number } | undefined;
  calls: CallArgs[] = [];
  cyclesAccepted = 0n;
  cyclesBurned = 0n;
  cyclesSent = 0n;
  transmissionCharged = 0n;
  executionCharged = 0n;
  cyclesReserved = 0n;
  /** bytes allocated in this execution, and message memory of the calls it made */
  allocated = 0n;
  callMemory = 0n;
  certifiedData: Uint8Array | undefined;
  globalTimer: bigint | undefined;
  accepted = false;
  prints: string[] = [];
  /** the cycles requirements the execution exercised (reported, never traced) */
  readonly reqs = new Set<string>();

  reset(input: ExecInput, live: Live, stable: PageMap): void {
    this.in = input;
    this.live = live;
    this.is64 = live.module.info.memory?.is64 ?? false;
    this.sliceLimit = input.sliceLimit;
    this.executedBefore = 0n;
    this.slices = 1;
    this.stable = stable;
    this.replyChunks = [];
    this.replySize = 0;
    this.response = undefined;
    this.pending = undefined;
    this.calls = [];
    this.cyclesAccepted = 0n;
    this.cyclesBurned = 0n;
    this.cyclesSent = 0n;
    this.transmissionCharged = 0n;
    this.executionCharged = 0n;
    this.cyclesReserved = 0n;
    this.allocated = 0n;
    this.callMemory = 0n;
    this.certifiedData = undefined;
    this.globalTimer = undefined;
    this.accepted = false;
    this.prints = [];
    this.reqs.clear();
    this.logFree = input.logRemaining ?? 0;
  }

  // ---- metering ([EXE-METER-SYSAPI.1], [EXE-DTS.1])

  /** `out_of_instructions`: the counter went below zero at a reentrant check. */
  outOfInstructions(): void {
    const c = this.live.counter.value as bigint;
    const used = this.executedBefore + (this.sliceLimit - c);
    const left = this.in.limit - this.executedBefore;
    if (this.sliceLimit >= left) throw new HostTrap({ kind: 'InstructionLimitExceeded', limit: this.in.limit });
    // [EXE-DTS.1] pause at the end of the slice; the next slice gets the slice limit less the overshoot
    const overshoot = -c;
    const remaining = this.in.limit - used;
    let next = this.in.sliceLimit - overshoot;
    if (next > remaining) next = remaining;
    if (next <= 0n) {
      if (remaining <= 0n) throw new HostTrap({ kind: 'InstructionLimitExceeded', limit: this.in.limit });
      throw new HostTrap({ kind: 'SliceOverrun', instructions: overshoot, limit: this.in.sliceLimit });
    }
    this.executedBefore = used;
    this.sliceLimit = next;
    this.slices++;
    this.live.counter.value = next;
  }

  /** the log's free space as this execution has left it so far */
  logFree = 0;

  charge(fn: string, bytes: number): void {
    const fee = fn === 'debug_print' || fn === 'trap' ? systemApiCost(fn, bytes, { capacity: BigInt(LOG_CAPACITY), remaining: BigInt(Math.max(0, this.logFree)), printing: false }) : systemApiCost(fn, bytes);
    if (fee === 0n) return;
    const g = this.live.counter;
    if ((g.value as bigint) < 0n) this.outOfInstructions();
    g.value = (g.value as bigint) - fee;
    if ((g.value as bigint) < 0n) this.outOfInstructions();
  }

  instructions(): bigint {
    return this.executedBefore + (this.sliceLimit - (this.live.counter.value as bigint));
  }

  // ---- memory access

  private view: Uint8Array | undefined;
  /** The Wasm memory as bytes (a view kept until the memory grows and detaches its buffer). */
  private mem(): Uint8Array {
    const m = this.live.memory;
    if (m === undefined) return violation('the canister has no memory');
    if (this.view === undefined || this.view.byteLength === 0) this.view = new Uint8Array(m.buffer);
    return this.view;
  }

  num(x: number | bigint): number {
    if (typeof x === 'number') return x >>> 0;
    return x > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(x);
  }

  read(src: number | bigint, size: number | bigint, what: string): Uint8Array {
    const s = this.num(src);
    const n = this.num(size);
    const mem = this.mem();
    if (s + n > mem.length) violation(`${what}: src=${s} + length=${n} exceeds the slice size=${mem.length}`);
    return mem.slice(s, s + n);
  }

  write(dst: number | bigint, bytes: Uint8Array, what: string): void {
    const d = this.num(dst);
    const mem = this.mem();
    if (d + bytes.length > mem.length) violation(`${what}: dst=${d} + length=${bytes.length} exceeds the slice size=${mem.length}`);
    markDirty(this.live, d, bytes.length);
    mem.set(bytes, d);
  }

  copyOut(name: string, blob: Uint8Array, dst: number | bigint, offset: number | bigint, size: number | bigint): void {
    const o = this.num(offset);
    const n = this.num(size);
    this.charge(name, n);
    if (o + n > blob.length) violation(`${name}: offset=${o} + length=${n} exceeds the source size=${blob.length}`);
    this.write(dst, blob.subarray(o, o + n), name);
  }

  ret(v: number): number | bigint {
    return this.is64 ? BigInt(v) : v;
  }

  guard(fn: string): void {
    if (!availableIn(fn, this.in.kind)) {
      const entry = 'export' in this.in.entry ? this.in.entry.export : '';
      throw new HostTrap({ kind: 'ContractViolation', message: `"ic0_${fn}" cannot be executed in ${modeName(this.in.kind, entry)} mode`, help: wrongModeHelp });
    }
  }

  write128(dst: number | bigint, v: bigint, what: string): void {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, v & 0xffffffffffffffffn, true);
    dv.setBigUint64(8, v >> 64n, true);
    this.write(dst, b, what);
  }

  balanceNow(): bigint {
    return this.in.balance + this.cyclesAccepted - this.cyclesBurned - this.cyclesSent - (this.pending?.cycles ?? 0n) - this.transmissionCharged - this.executionCharged - this.cyclesReserved;
  }

  // ---- cycles ([CYC-SYSAPI.1], [CYC-FREEZE.1])

  /** the canister's memory usage as the execution has grown it */
  usageNow(): bigint {
    const heap = BigInt(this.live.memory?.buffer.byteLength ?? 0);
    return (this.in.cycles?.otherMemory ?? 0n) + heap + BigInt(this.stable.byteLength);
  }

  thresholdNow(extraMessageMemory = 0n): bigint {
    const c = this.in.cycles;
    return c === undefined ? 0n : c.threshold(this.usageNow(), c.messageMemory + this.callMemory + extraMessageMemory);
  }

  /** [CYC-FREEZE.1] what can be spent above the freezing limit */
  liquidNow(): bigint {
    return A.liquid(this.balanceNow(), this.thresholdNow());
  }

  /**
   * [CYC-MEMORY-GROW.1] memory grew from `before` to `after` bytes of usage: an update or a
   * system task must stay above its freezing limit, and storage may have to be reserved.
   */
  memoryGrew(before: bigint, after: bigint): void {
    const c = this.in.cycles;
    if (c === undefined) return;
    const alloc = (u: bigint): bigint => A.allocatedBytes({ memoryAllocation: c.memoryAllocation, memoryUsage: u });
    const bytes = alloc(after) - alloc(before);
    if (bytes <= 0n) return;
    const k = this.in.kind;
    if (k === 'U' || k === 'T') {
      this.reqs.add('CYC-MEMORY-GROW.1');
      const thr = this.thresholdNow();
      const bal = this.balanceNow();
      if (bal < thr) throw new HostTrap({ kind: 'InsufficientCyclesInMemoryGrow', bytes, ...(c.reveal ? { needed: thr - bal } : {}) });
    }
    if (k === 'U' || k === 'T' || k === 'Ry' || k === 'Rt' || k === 'I') {
      const r = c.reservation(bytes, this.allocated);
      if (r > 0n) {
        const requested = c.reserved + this.cyclesReserved + r;
        if (requested > c.reservedLimit) throw new HostTrap({ kind: 'ReservedCyclesLimitExceededInMemoryGrow', bytes, requested, limit: c.reservedLimit });
        const bal = this.balanceNow();
        if (bal < r) throw new HostTrap({ kind: 'InsufficientCyclesInMemoryGrow', bytes, ...(c.reveal ? { needed: r - bal } : {}) });
        this.cyclesReserved += r;
        this.reqs.add('CYC-RESERVE.1');
      }
    }
    this.allocated += bytes;
  }

  // ---- stable memory ([EXE-STABLE.1])
  stableBounds(offset: number, size: number): void {
    if (offset + size > this.stable.byteLength) throw new HostTrap({ kind: 'Wasm', message: 'stable memory out of bounds' });
  }
}

// ---------------------------------------------------------------------------------------
// The imports: ic0 functions and the instrumentation's hooks

const u64 = (x: number | bigint): bigint => BigInt.asUintN(64, BigInt(x));

const ic0Imports = (h: Host): Record<string, (...a: (number | bigint)[]) => number | bigint | void> => {
  const G = (fn: string, bytes = 0): void => {
    h.guard(fn);
    h.charge(fn, bytes);
  };
  // [CYC-SYSAPI.1] the cycles functions: the step reports that it used them
  const GC = (fn: string): void => {
    G(fn);
    h.reqs.add('CYC-SYSAPI.1');
  };
  const self = (): Uint8Array => h.in.canisterId.bytes;
  const callerBytes = (): Uint8Array => h.in.caller.bytes;
  return {
    msg_arg_data_size: () => (G('msg_arg_data_size'), h.ret(h.in.arg.length)),
    msg_arg_data_copy: (dst, off, size) => (h.guard('msg_arg_data_copy'), h.copyOut('msg_arg_data_copy', h.in.arg, dst!, off!, size!)),
    msg_caller_size: () => (G('msg_caller_size'), h.ret(callerBytes().length)),
    msg_caller_copy: (dst, off, size) => (h.guard('msg_caller_copy'), h.copyOut('msg_caller_copy', callerBytes(), dst!, off!, size!)),
    msg_reject_code: () => (G('msg_reject_code'), h.in.rejectCode),
    msg_reject_msg_size: () => (G('msg_reject_msg_size'), h.ret(utf8Length(h.in.rejectMessage))),
    msg_reject_msg_copy: (dst, off, size) => (h.guard('msg_reject_msg_copy'), h.copyOut('msg_reject_msg_copy', new TextEncoder().encode(h.in.rejectMessage), dst!, off!, size!)),
    msg_deadline: () => (G('msg_deadline'), h.in.deadline),
    msg_reply_data_append: (src, size) => {
      h.guard('msg_reply_data_append');
      h.charge('msg_reply_data_append', h.num(size!));
      if (h.response !== undefined || h.in.alreadyReplied === true) violation('ic0.msg_reply_data_append: the call is already replied.');
      const b = h.read(src!, size!, 'ic0.msg_reply_data_append');
      h.replyChunks.push(b);
      h.replySize += b.length;
    },
    msg_reply: () => {
      G('msg_reply');
      // [EXE-ANSWER-ONCE.1] a context answers once: a second reply or reject traps
      if (h.response !== undefined || h.in.alreadyReplied === true) violation('ic0.msg_reply: the call is already replied');
      const data = new Uint8Array(h.replySize);
      let o = 0;
      for (const c of h.replyChunks) (data.set(c, o), (o += c.length));
      h.response = { kind: 'reply', data };
    },
    msg_reject: (src, size) => {
      h.guard('msg_reject');
      h.charge('msg_reject', h.num(size!));
      if (h.response !== undefined || h.in.alreadyReplied === true) violation('ic0.msg_reject: the call is already replied');
      const b = h.read(src!, size!, 'ic0.msg_reject');
      h.response = { kind: 'reject', code: 4, message: new TextDecoder().decode(b) };
    },
    msg_cycles_available: () => {
      GC('msg_cycles_available');
      const a = h.in.cyclesAvailable - h.cyclesAccepted;
      if (a > 0xffffffffffffffffn) violation('cycles amount exceeds 64-bit representation');
      return a;
    },
    msg_cycles_available128: (dst) => (GC('msg_cycles_available128'), h.write128(dst!, h.in.cyclesAvailable - h.cyclesAccepted, 'ic0.msg_cycles_available128')),
    msg_cycles_refunded: () => {
      GC('msg_cycles_refunded');
      if (h.in.cyclesRefunded > 0xffffffffffffffffn) violation('cycles amount exceeds 64-bit representation');
      return h.in.cyclesRefunded;
    },
    msg_cycles_refunded128: (dst) => (GC('msg_cycles_refunded128'), h.write128(dst!, h.in.cyclesRefunded, 'ic0.msg_cycles_refunded128')),
    msg_cycles_accept: (max) => {
      GC('msg_cycles_accept');
      const left = h.in.cyclesAvailable - h.cyclesAccepted;
      const want = u64(max!);
      const take = want < left ? want : left;
      h.cyclesAccepted += take;
      return take;
    },
    msg_cycles_accept128: (hi, lo, dst) => {
      GC('msg_cycles_accept128');
      const left = h.in.cyclesAvailable - h.cyclesAccepted;
      const want = (u64(hi!) << 64n) | u64(lo!);
      const take = want < left ? want : left;
      h.cyclesAccepted += take;
      h.write128(dst!, take, 'ic0.msg_cycles_accept128');
    },
    cycles_burn128: (hi, lo, dst) => {
      GC('cycles_burn128');
      // [CYC-SYSAPI.1] at most the liquid balance is burned
      const want = (u64(hi!) << 64n) | u64(lo!);
      const take = A.min(want, h.liquidNow());
      h.cyclesBurned += take;
      h.write128(dst!, take, 'ic0.cycles_burn128');
    },
    canister_self_size: () => (G('canister_self_size'), h.ret(self().length)),
    canister_self_copy: (dst, off, size) => (h.guard('canister_self_copy'), h.copyOut('canister_self_copy', self(), dst!, off!, size!)),
    canister_cycle_balance: () => {
      GC('canister_cycle_balance');
      const b = h.balanceNow();
      if (b > 0xffffffffffffffffn) violation('cycles amount exceeds 64-bit representation');
      return b;
    },
    canister_cycle_balance128: (dst) => (GC('canister_cycle_balance128'), h.write128(dst!, h.balanceNow(), 'ic0.canister_cycle_balance128')),
    // [CYC-SYSAPI.1] the balance above the freezing limit, with the memory as it is now
    canister_liquid_cycle_balance128: (dst) => (GC('canister_liquid_cycle_balance128'), h.write128(dst!, h.liquidNow(), 'ic0.canister_liquid_cycle_balance128')),
    canister_status: () => (G('canister_status'), h.in.status),
    canister_version: () => (G('canister_version'), h.in.version),
    msg_method_name_size: () => (G('msg_method_name_size'), h.ret(utf8Length(h.in.methodName))),
    msg_method_name_copy: (dst, off, size) => (h.guard('msg_method_name_copy'), h.copyOut('msg_method_name_copy', new TextEncoder().encode(h.in.methodName), dst!, off!, size!)),
    accept_message: () => {
      G('accept_message');
      if (h.accepted) violation('ic0.accept_message: the function was already called.');
      h.accepted = true;
    },
    call_new: (cs, csz, ns, nsz, rf, re, jf, je) => {
      h.guard('call_new');
      h.charge('call_new', h.num(csz!) + h.num(nsz!));
      const callee = principalFromBytes(h.read(cs!, csz!, 'ic0.call_new'));
      if (isPrincipalError(callee)) violation('ic0.call_new: the callee is not a valid principal');
      const method = new TextDecoder().decode(h.read(ns!, nsz!, 'ic0.call_new'));
      // [EXE-CALL-BUILD.1] a new call discards the one under construction (its cycles return)
      h.pending = { callee: callee as Principal, method, args: [], argSize: 0, cycles: 0n, reply: { fun: u64(rf!), env: u64(re!) }, reject: { fun: u64(jf!), env: u64(je!) } };
    },
    call_on_cleanup: (fun, env) => {
      G('call_on_cleanup');
      const p = h.pending ?? violation('ic0.call_on_cleanup called when no call is under construction.');
      if (p.cleanup !== undefined) violation('ic0.call_on_cleanup: a cleanup callback is already set');
      p.cleanup = { fun: u64(fun!), env: u64(env!) };
    },
    call_data_append: (src, size) => {
      h.guard('call_data_append');
      h.charge('call_data_append', h.num(size!));
      const p = h.pending ?? violation('ic0.call_data_append called when no call is under construction.');
      const b = h.read(src!, size!, 'ic0.call_data_append');
      p.args.push(b);
      p.argSize += b.length;
    },
    call_with_best_effort_response: (timeout) => {
      G('call_with_best_effort_response');
      const p = h.pending ?? violation('ic0.call_with_best_effort_response called when no call is under construction.');
      if (p.timeout !== undefined) violation('ic0_call_with_best_effort_response failed because a timeout is already set.');
      p.timeout = Math.min(Number(timeout!) >>> 0, 300);
    },
    call_cycles_add: (amount) => {
      GC('call_cycles_add');
      const p = h.pending ?? violation('ic0.call_cycles_add called when no call is under construction.');
      addCycles(h, p, u64(amount!));
    },
    call_cycles_add128: (hi, lo) => {
      GC('call_cycles_add128');
      const p = h.pending ?? violation('ic0.call_cycles_add128 called when no call is under construction.');
      addCycles(h, p, (u64(hi!) << 64n) | u64(lo!));
    },
    call_perform: () => {
      G('call_perform');
      const p = h.pending ?? violation('ic0.call_perform called when no call is under construction.');
      h.pending = undefined;
      const arg = new Uint8Array(p.argSize);
      let o = 0;
      for (const c of p.args) (arg.set(c, o), (o += c.length));
      // [CYC-CALL-FEE.1] the call fee, its bytes and the response's reservations, above the freezing limit
      const env = h.in.cycles;
      let charge: A.CallCharge = { transmission: 0n, execution: 0n };
      const slot = p.timeout === undefined ? A.MAX_RESPONSE_COUNT_BYTES : 0n;
      if (env !== undefined) {
        charge = A.callCharge(env.fees, BigInt(utf8Length(p.method) + arg.length), env.responseLimit, env.wasm64);
        // (the call is no longer pending, so its attached cycles are taken off here)
        const bal = h.balanceNow() - p.cycles;
        if (!A.canWithdraw(bal, h.thresholdNow(slot), charge.transmission + charge.execution)) {
          h.reqs.add('CYC-FREEZE.1');
          return 2; // its cycles return to the balance
        }
      }
      h.cyclesSent += p.cycles;
      h.transmissionCharged += charge.transmission;
      h.executionCharged += charge.execution;
      h.callMemory += slot;
      h.calls.push({
        callee: p.callee,
        method: p.method,
        arg,
        cycles: p.cycles,
        reply: p.reply,
        reject: p.reject,
        ...(p.cleanup ? { cleanup: p.cleanup } : {}),
        ...(p.timeout !== undefined ? { timeoutSeconds: p.timeout } : {}),
        prepaidExecution: charge.execution,
        // [CYC-RESPONSE-RESERVE.1] of the transmission, only the largest response's is a reservation
        prepaidTransmission: env === undefined ? 0n : A.responseTransmissionReserve(env.fees),
      });
      return 0;
    },
    // ---- stable memory, 32 and 64 bit ([EXE-STABLE.1])
    stable_size: () => {
      G('stable_size');
      if (h.stable.wasmPages > 65536) violation('32 bit stable memory api used on a memory larger than 4GB');
      return h.stable.wasmPages;
    },
    stable_grow: (n) => {
      G('stable_grow');
      if (h.stable.wasmPages > 65536) violation('32 bit stable memory api used on a memory larger than 4GB');
      return stableGrow(h, BigInt((n as number) >>> 0), true);
    },
    stable64_size: () => (G('stable64_size'), BigInt(h.stable.wasmPages)),
    stable64_grow: (n) => (G('stable64_grow'), BigInt(stableGrow(h, u64(n!), false))),
    stable_write: (off, src, size) => stableWrite(h, 'stable_write', off!, src!, size!, true),
    stable64_write: (off, src, size) => stableWrite(h, 'stable64_write', off!, src!, size!, false),
    stable_read: (dst, off, size) => stableRead(h, 'stable_read', dst!, off!, size!, true),
    stable64_read: (dst, off, size) => stableRead(h, 'stable64_read', dst!, off!, size!, false),
    certified_data_set: (src, size) => {
      h.guard('certified_data_set');
      h.charge('certified_data_set', h.num(size!));
      if (h.num(size!) > 32) violation(`ic0_certified_data_set failed because the passed data must be no larger than 32 bytes. Found ${h.num(size!)} bytes.`);
      h.certifiedData = h.read(src!, size!, 'ic0.certified_data_set');
    },
    data_certificate_present: () => (G('data_certificate_present'), h.in.certificate !== undefined ? 1 : 0),
    data_certificate_size: () => {
      G('data_certificate_size');
      return h.ret((h.in.certificate ?? violation('ic0.data_certificate_size: no certificate is available')).length);
    },
    data_certificate_copy: (dst, off, size) => {
      h.guard('data_certificate_copy');
      h.copyOut('data_certificate_copy', h.in.certificate ?? violation('ic0.data_certificate_copy: no certificate is available'), dst!, off!, size!);
    },
    time: () => (G('time'), h.in.time),
    global_timer_set: (t) => {
      G('global_timer_set');
      const prev = h.globalTimer ?? CURRENT_TIMER.get(h) ?? 0n;
      h.globalTimer = u64(t!);
      return prev;
    },
    performance_counter: (type) => {
      G('performance_counter');
      // [EXE-PERF-COUNTER.1] charge first, then read: type 0 the message, type 1 the call context
      const t = Number(type);
      if (t === 0) return h.instructions();
      if (t === 1) return h.in.callContextInstructions + h.instructions();
      return violation(`ic0.performance_counter: unknown counter type ${t}`);
    },
    ...costImports(h, (fn, bytes) => (G(fn, bytes), h.reqs.add('CYC-COST-API.1'))),
    is_controller: (src, size) => {
      h.guard('is_controller');
      h.charge('is_controller', h.num(size!));
      const b = h.read(src!, size!, 'ic0.is_controller');
      const p = principalFromBytes(b);
      if (isPrincipalError(p)) violation(`ic0.is_controller: the argument is not a valid principal`);
      return h.in.controllers.some((c) => c.text === (p as Principal).text) ? 1 : 0;
    },
    in_replicated_execution: () => (G('in_replicated_execution'), h.in.kind === 'NRQ' || h.in.kind === 'CQ' || h.in.kind === 'CRy' || h.in.kind === 'CRt' || h.in.kind === 'CC' || h.in.kind === 'F' ? 0 : 1),
    debug_print: (src, size) => {
      h.guard('debug_print');
      h.charge('debug_print', h.num(size!));
      const s = h.num(src!);
      const n = h.num(size!);
      const mem = new Uint8Array(h.live.memory?.buffer ?? new ArrayBuffer(0));
      // the replica prints what it can read; an out-of-bounds print prints nothing
      if (s + n <= mem.length) h.prints.push(new TextDecoder().decode(mem.subarray(s, s + n)));
      h.logFree -= 40 + n;
    },
    trap: (src, size) => {
      h.guard('trap');
      h.charge('trap', h.num(size!));
      const s = h.num(src!);
      const n = h.num(size!);
      const mem = new Uint8Array(h.live.memory?.buffer ?? new ArrayBuffer(0));
      const msg = s + n <= mem.length ? new TextDecoder().decode(mem.subarray(s, s + n)) : '';
      throw new HostTrap({ kind: 'CalledTrap', message: msg });
    },
  };
};

/**
 * [CYC-SYSAPI.1] cycles attached to the call under construction leave the balance at once, and
 * only what lies above the freezing limit can be attached.
 */
const addCycles = (h: Host, p: NonNullable<Host['pending']>, amount: bigint): void => {
  if (amount > h.liquidNow()) throw new HostTrap({ kind: 'OutOfCyclesInCall' });
  p.cycles += amount;
};

/** The `cost_*` functions write a u128 ([CYC-COST-API.1]). */
const costImports = (h: Host, G: (fn: string, bytes?: number) => void): Record<string, (...a: (number | bigint)[]) => number | bigint | void> => {
  // without a cycles environment nothing is charged: every cost is 0
  const cost = (f: (env: CyclesEnv) => bigint): bigint => (h.in.cycles === undefined ? 0n : f(h.in.cycles));
  return {
    cost_call: (m, p, dst) => {
      G('cost_call');
      const c = cost((e) => {
        const ch = A.callCharge(e.fees, u64(m!) + u64(p!), e.responseLimit, e.wasm64);
        return ch.transmission + ch.execution;
      });
      h.write128(dst!, c, 'ic0.cost_call');
    },
    cost_create_canister: (dst) => (G('cost_create_canister'), h.write128(dst!, cost((e) => A.canisterCreationFee(e.fees)), 'ic0.cost_create_canister')),
    cost_http_request: (req, max, dst) => (G('cost_http_request'), h.write128(dst!, cost((e) => A.httpRequestFee(e.fees, u64(req!), u64(max!))), 'ic0.cost_http_request')),
    // this subnet holds no threshold keys: a known curve or algorithm names an unknown key (2)
    cost_sign_with_ecdsa: (src, size, curve) => thresholdCost(h, G, 'cost_sign_with_ecdsa', src!, size!, curve!, 1),
    cost_sign_with_schnorr: (src, size, alg) => thresholdCost(h, G, 'cost_sign_with_schnorr', src!, size!, alg!, 2),
    cost_vetkd_derive_key: (src, size, curve) => thresholdCost(h, G, 'cost_vetkd_derive_key', src!, size!, curve!, 1),
  };
};

const thresholdCost = (h: Host, G: (fn: string, bytes?: number) => void, fn: string, src: number | bigint, size: number | bigint, curve: number | bigint, known: number): number => {
  G(fn, h.num(size));
  h.read(src, size, `ic0.${fn}`);
  return Number(curve) >>> 0 < known ? 2 : 1;
};


/** The canister's global timer before this execution (for `global_timer_set`'s result). */
const CURRENT_TIMER = new WeakMap<Host, bigint>();

const stableGrow = (h: Host, n: bigint, is32: boolean): number => {
  const old = h.stable.wasmPages;
  const max = is32 ? 65536n : h.in.stableMemoryLimitBytes / BigInt(WASM_PAGE);
  if (BigInt(old) + n > max) return -1;
  const before = h.usageNow();
  h.stable = h.stable.resize(old + Number(n));
  h.memoryGrew(before, h.usageNow());
  return old;
};

/** The checks and charge common to stable reads and writes; the offset and size. */
const stableAccess = (h: Host, fn: string, off: number | bigint, size: number | bigint, is32: boolean): [number, number] => {
  h.guard(fn);
  const n = h.num(size);
  h.charge(fn, n);
  if (is32 && h.stable.wasmPages > 65536) violation('32 bit stable memory api used on a memory larger than 4GB');
  const o = h.num(off);
  h.stableBounds(o, n);
  return [o, n];
};

const stableWrite = (h: Host, fn: string, off: number | bigint, src: number | bigint, size: number | bigint, is32: boolean): void => {
  const [o] = stableAccess(h, fn, off, size, is32);
  h.stable = h.stable.write(o, h.read(src, size, `ic0.${fn}`));
};

const stableRead = (h: Host, fn: string, dst: number | bigint, off: number | bigint, size: number | bigint, is32: boolean): void => {
  const [o, n] = stableAccess(h, fn, off, size, is32);
  h.write(dst, h.stable.read(o, n), `ic0.${fn}`);
};

// ---------------------------------------------------------------------------------------
// Dirty pages

const markDirty = (live: Live, start: number, len: number): void => {
  if (live.dirty !== undefined) markDirtyRange(live.dirty, start, len);
};

/**
 * Visit the mutable globals the last execution may have changed, and clear their flags: those
 * whose `global.set` flagged them in the tracker, and every global the tracker cannot flag (a
 * module without memory, or an index beyond the flags).
 */
const forChangedGlobals = (live: Live, f: (i: number, g: WebAssembly.Global) => void): void => {
  const mg = live.module.inst.mutableGlobals;
  const flags = live.dirty === undefined ? undefined : new Uint8Array(live.dirty.buffer, GLOBAL_FLAGS_OFFSET, 1024);
  for (let i = 0; i < mg.length; i++) {
    const idx = mg[i]!.index;
    if (flags !== undefined && idx < 1024) {
      if (flags[idx] === 0) continue;
      flags[idx] = 0;
    }
    f(i, live.globals[i]!);
  }
};

/** The pages written since the last call, and the tracker cleared. */
const takeDirty = (live: Live): number[] => (live.dirty === undefined ? [] : takeDirtyPages(live.dirty));

// ---------------------------------------------------------------------------------------
// Instantiation

const instantiate = (module: CanisterModule): Live => {
  const host = new Host();
  const ic0 = ic0Imports(host);
  const imports: Record<string, Record<string, unknown>> = {
    ic0,
    __: {
      out_of_instructions: () => host.outOfInstructions(),
      try_grow_wasm_memory: (result: number | bigint) => tryGrow(host, result),
    },
  };
  const mi = module.inst.memoryImport;
  if (mi !== undefined) {
    const m = module.info.memory!;
    const desc = m.is64
      ? ({ initial: m.initial, ...(m.maximum !== undefined ? { maximum: m.maximum } : {}), address: 'i64' } as unknown as WebAssembly.MemoryDescriptor)
      : { initial: Number(m.initial), ...(m.maximum !== undefined ? { maximum: Number(m.maximum) } : {}) };
    (imports[mi.module] ??= {})[mi.name] = new WebAssembly.Memory(desc);
  }
  const instance = new WebAssembly.Instance(module.compiled, imports as WebAssembly.Imports);
  const ex = instance.exports;
  const inst = module.inst;
  const live: Live = {
    module,
    instance,
    memory: inst.memoryExport !== undefined ? (ex[inst.memoryExport] as WebAssembly.Memory) : undefined,
    dirty: inst.dirtyExport !== undefined ? (ex[inst.dirtyExport] as WebAssembly.Memory) : undefined,
    counter: ex[inst.counterExport] as WebAssembly.Global,
    globals: inst.mutableGlobals.map((g) => ex[g.exportName] as WebAssembly.Global),
    callback: inst.callbackExport !== undefined ? (ex[inst.callbackExport] as Live['callback']) : undefined,
    heap: undefined,
    globalValues: undefined,
    host,
  };
  if (live.memory !== undefined && live.dirty !== undefined) ensureDirtyCovers(live.dirty, live.memory.buffer.byteLength);
  return live;
};

/** After a native `memory.grow`: the Wasm memory limit, and the write barrier's bytemap grows too. */
const tryGrow = (h: Host, result: number | bigint): number | bigint => {
  if (Number(result) === -1) return result;
  const live = h.live;
  const bytes = BigInt(live.memory!.buffer.byteLength);
  const limit = h.in.wasmMemoryLimit;
  // [EXE-MEM-LIMIT.1] enforced for update, init and post_upgrade only
  if (limit !== 0n && bytes > limit && (h.in.kind === 'U' || h.in.kind === 'I')) {
    throw new HostTrap({ kind: 'WasmMemoryLimitExceeded', limit, used: bytes });
  }
  ensureBytemap(live);
  h.memoryGrew(h.usageNow() - (bytes - BigInt(Number(result)) * BigInt(WASM_PAGE)), h.usageNow());
  return result;
};

const ensureBytemap = (live: Live): void => {
  if (live.dirty !== undefined && live.memory !== undefined) ensureDirtyCovers(live.dirty, live.memory.buffer.byteLength);
};

const growMemoryTo = (live: Live, wasmPages: number): void => {
  const m = live.memory!;
  const have = m.buffer.byteLength / WASM_PAGE;
  if (wasmPages > have) {
    if (live.module.info.memory?.is64) m.grow(BigInt(wasmPages - have) as unknown as number);
    else m.grow(wasmPages - have);
  }
  ensureBytemap(live);
};

/** A live instance whose memory and globals are exactly `state`'s. */
const liveFor = (canister: string, state: WasmState): Live => {
  let live = lives.get(canister);
  if (live !== undefined && live.module === state.module && !live.module.inst.needsFreshInstance && live.heap === state.heap && live.globalValues === state.globals) return live;
  // materialize: a fresh instance, the version's pages and globals
  live = instantiate(state.module);
  if (live.memory !== undefined) {
    growMemoryTo(live, state.heap.wasmPages);
    const mem = new Uint8Array(live.memory.buffer);
    for (const i of state.heap.touchedIndices()) mem.set(state.heap.page(i), i * OS_PAGE);
  }
  live.globals.forEach((g, i) => {
    const v = state.globals[i];
    if (v !== undefined) g.value = v;
  });
  live.heap = state.heap;
  live.globalValues = state.globals;
  if (lives.size >= MAX_LIVE && !lives.has(canister)) {
    const first = lives.keys().next().value;
    if (first !== undefined) lives.delete(first);
  }
  lives.delete(canister);
  lives.set(canister, live);
  return live;
};

/** Forget the live instance of a canister (it is rebuilt from its state when needed). */
export const dropLive = (canister: string): void => {
  lives.delete(canister);
};

// ---------------------------------------------------------------------------------------
// Fresh Wasm state of a newly installed module ([EXE-INSTALL.1])

/** The Wasm state right after instantiation: data segments applied, globals initial, stable memory given. */
export const freshState = (module: CanisterModule, stable: PageMap, keepHeap?: PageMap): WasmState => {
  const pages = module.info.memory?.initial ?? 0;
  let heap = keepHeap ?? PageMap.empty(Number(pages));
  if (keepHeap === undefined)
    for (const seg of module.inst.dataSegments) if (seg.bytes.length > 0) heap = heap.write(Number(seg.offset), seg.bytes);
  // the initial values of the mutable globals: read from a throwaway instance
  const live = instantiate(module);
  const globals = live.globals.map((g) => g.value as GlobalValue);
  return { module, heap, stable, globals };
};

/** Whether the data segments of a module fit its initial memory (else install traps "heap out of bounds"). */
export const segmentsFit = (module: CanisterModule): boolean => {
  const bytes = Number(module.info.memory?.initial ?? 0) * WASM_PAGE;
  return module.inst.dataSegments.every((s) => Number(s.offset) + s.bytes.length <= bytes);
};

// ---------------------------------------------------------------------------------------
// Execute one entry point

export const execute = (canister: string, state: WasmState, input: ExecInput, timer: bigint, persist = true): ExecResult => {
  const live = liveFor(canister, state);
  const h = live.host;
  h.reset(input, live, state.stable);
  CURRENT_TIMER.set(h, timer);
  live.counter.value = input.sliceLimit;
  const heapPagesBefore = live.memory ? live.memory.buffer.byteLength / WASM_PAGE : 0;
  let trap: Trap | undefined;
  try {
    if ('export' in input.entry) {
      const f = live.instance.exports[input.entry.export] as (() => void) | undefined;
      if (f === undefined) trap = { kind: 'Wasm', message: `function ${input.entry.export} not found` };
      else f();
    } else {
      const cb = live.callback;
      if (cb === undefined) trap = { kind: 'Wasm', message: 'table out of bounds' };
      else {
        const { fun, env } = input.entry.callback;
        if (h.is64) cb(fun, env);
        else cb(Number(fun), Number(BigInt.asIntN(32, env)));
      }
    }
  } catch (e) {
    if (e instanceof HostTrap) trap = e.trap;
    else {
      const t = v8TrapText(e);
      if (t === undefined) throw e;
      trap = { kind: 'Wasm', message: t };
    }
  }
  const instructions = h.instructions();
  const dirty = takeDirty(live);
  if (trap !== undefined || !persist) {
    // [EXE-TRAP-ROLLBACK.1] nothing of the execution remains: restore the pages it wrote and the globals
    const heapPagesAfter = live.memory ? live.memory.buffer.byteLength / WASM_PAGE : 0;
    if (heapPagesAfter !== heapPagesBefore) {
      dropLive(canister); // V8 cannot shrink a memory: rebuild from the state next time
    } else {
      const mem = new Uint8Array(live.memory?.buffer ?? new ArrayBuffer(0));
      for (const p of dirty) mem.set(state.heap.page(p), p * OS_PAGE);
      forChangedGlobals(live, (i, g) => {
        const v = state.globals[i];
        if (v !== undefined && g.value !== v) g.value = v;
      });
    }
    if (trap !== undefined) return { outcome: { kind: 'trap', trap }, instructions, slices: h.slices, debugPrints: h.prints, ...reqsOf(h) };
    return { outcome: effects(h, state), instructions, slices: h.slices, debugPrints: h.prints, ...reqsOf(h) };
  }
  // success: copy out the written pages into the new version
  let heap = state.heap;
  const heapPagesAfter = live.memory ? live.memory.buffer.byteLength / WASM_PAGE : 0;
  if (dirty.length > 0 || heapPagesAfter !== heap.wasmPages) {
    // one buffer for all the pages the message wrote (each page a view of it): one allocation
    const mem = new Uint8Array(live.memory!.buffer);
    const copy = allocPages(dirty.length);
    const pages = new Array<readonly [number, Uint8Array]>(dirty.length);
    for (let i = 0; i < dirty.length; i++) {
      const p = dirty[i]!;
      copy.set(mem.subarray(p * OS_PAGE, (p + 1) * OS_PAGE), i * OS_PAGE);
      pages[i] = [p, copy.subarray(i * OS_PAGE, (i + 1) * OS_PAGE)];
    }
    heap = heap.withPages(pages, heapPagesAfter);
  }
  let globals = state.globals;
  let changed: GlobalValue[] | undefined;
  forChangedGlobals(live, (i, g) => {
    const v = g.value as GlobalValue;
    if (v !== globals[i]) (changed ??= [...globals])[i] = v;
  });
  if (changed !== undefined) globals = changed;
  live.heap = heap;
  live.globalValues = globals;
  const next: WasmState = heap === state.heap && globals === state.globals && h.stable === state.stable ? state : { module: state.module, heap, stable: h.stable, globals };
  return { outcome: effects(h, next), instructions, slices: h.slices, debugPrints: h.prints, ...reqsOf(h) };
};

const effects = (h: Host, state: WasmState): ExecOutcome => ({
  kind: 'ok',
  state,
  ...(h.response !== undefined ? { response: h.response } : {}),
  calls: h.calls,
  cyclesAccepted: h.cyclesAccepted,
  cyclesBurned: h.cyclesBurned,
  cyclesSent: h.cyclesSent,
  transmissionCharged: h.transmissionCharged,
  executionCharged: h.executionCharged,
  cyclesReserved: h.cyclesReserved,
  ...(h.certifiedData !== undefined ? { certifiedData: h.certifiedData } : {}),
  ...(h.globalTimer !== undefined ? { globalTimer: h.globalTimer } : {}),
  accepted: h.accepted,
});

/** The memory a canister's Wasm state holds, in bytes (heap + stable). */
export const memoryUsage = (s: WasmState): bigint => BigInt(s.heap.byteLength) + BigInt(s.stable.byteLength);
