/**
 * The execution machine's state: one subnet's canisters, their messages and call contexts,
 * the ingress history and the time ([EXE-STATE.1]). Everything is immutable; the large parts
 * (memories) are persistent `PageMap`s inside each canister's `WasmState`.
 */
import { PMap } from '../core/pmap.js';
import type { Principal } from '../core/principal.js';
import type { LedgerState } from '../ledger/types.js';
import type { UserError } from './errors.js';
import type { CanisterLog } from './log.js';
import type { Response, WasmState } from './runtime.js';
import type { Paused } from './canister.js';
import type { Fees, UseCase } from '../cycles/account.js';
import type { SubnetKind } from '../cycles/table.js';

/** Cycles consumed, by use case (the replica's `consumed_cycles_by_use_cases`) ([CYC-CONSERVATION.1]). */
export type Consumed = Readonly<Partial<Record<UseCase, bigint>>>;

/** Nothing consumed: every use case present (at 0), so that every copy has one shape. */
export const NOTHING_CONSUMED: Consumed = {
  Memory: 0n,
  ComputeAllocation: 0n,
  IngressInduction: 0n,
  Instructions: 0n,
  RequestAndResponseTransmission: 0n,
  Uninstall: 0n,
  CanisterCreation: 0n,
  ECDSAOutcalls: 0n,
  HTTPOutcalls: 0n,
  DeletedCanisters: 0n,
  BurnedCycles: 0n,
  SchnorrOutcalls: 0n,
  VetKd: 0n,
  DroppedMessages: 0n,
};

export type CanisterStatus = 'running' | 'stopping' | 'stopped';

export interface Settings {
  readonly computeAllocation: bigint;
  readonly memoryAllocation: bigint;
  readonly freezingThreshold: bigint;
  readonly reservedCyclesLimit: bigint;
  /** bytes; 0 = no limit */
  readonly wasmMemoryLimit: bigint;
  readonly wasmMemoryThreshold: bigint;
  readonly logVisibility: 'controllers' | 'public';
}

/** A change in the canister's history (`canister_info`). */
export interface Change {
  readonly timestampNanos: bigint;
  readonly canisterVersion: bigint;
  readonly origin: { readonly kind: 'user'; readonly user: Principal } | { readonly kind: 'canister'; readonly canister: Principal; readonly version?: bigint };
  readonly details:
    | { readonly kind: 'creation'; readonly controllers: readonly Principal[] }
    | { readonly kind: 'code_uninstall' }
    | { readonly kind: 'code_deployment'; readonly mode: 'install' | 'reinstall' | 'upgrade'; readonly moduleHash: string }
    | { readonly kind: 'controllers_change'; readonly controllers: readonly Principal[] }
    | { readonly kind: 'load_snapshot'; readonly snapshotId: string; readonly canisterVersion: bigint; readonly takenAt: bigint };
}

export interface Snapshot {
  readonly id: string;
  readonly takenAt: bigint;
  readonly wasm: WasmState;
  readonly certifiedData: Uint8Array;
  readonly globalTimer: bigint;
  readonly canisterVersion: bigint;
  readonly size: bigint;
}

export interface Canister {
  readonly id: Principal;
  readonly controllers: readonly Principal[];
  readonly settings: Settings;
  /** the main balance ([CYC-STATE.1]) */
  readonly cycles: bigint;
  /** the reserved balance: cycles set aside for future storage ([CYC-RESERVE.1]) */
  readonly reserved: bigint;
  /** what this canister has consumed, by use case (refunds lower it again) */
  readonly consumed: Consumed;
  /** when the canister was last charged for its allocations and storage ([CYC-PERIODIC.1]) */
  readonly lastCharge: bigint;
  readonly status: CanisterStatus;
  /** the callers of `stop_canister` waiting for the canister to stop */
  readonly stopWaiters: readonly Origin[];
  readonly version: bigint;
  /** undefined: the canister is empty */
  readonly wasm: WasmState | undefined;
  readonly certifiedData: Uint8Array;
  /** 0 = not set */
  readonly globalTimer: bigint;
  readonly totalChanges: bigint;
  readonly history: readonly Change[];
  readonly snapshots: readonly Snapshot[];
  readonly chunks: readonly Uint8Array[];
  readonly nextSnapshot: bigint;
  /** the canister log ([EXE-LOG.1]) */
  readonly log: CanisterLog;
  /** a native canister (the ICP ledger) instead of a Wasm module */
  readonly native?: { readonly kind: 'icp_ledger'; readonly ledger: LedgerState };
}

/** Who is waiting for the answer of a call context. */
export type Origin =
  | { readonly kind: 'ingress'; readonly messageId: string }
  | { readonly kind: 'canister'; readonly caller: string; readonly ctx: number; readonly callback: number }
  | { readonly kind: 'system' };

export interface CallContext {
  readonly id: number;
  readonly canister: string;
  readonly origin: Origin;
  /** who called: what `ic0.msg_caller_*` returns in every execution of the context */
  readonly caller: Principal;
  readonly needsToRespond: boolean;
  /** cycles the caller attached that have not been accepted */
  readonly availableCycles: bigint;
  /** calls made from this context whose responses have not been executed */
  readonly outstanding: number;
  /** instructions of every execution in this context so far (performance counter type 1) */
  readonly instructions: bigint;
  /** the trap of the last execution in this context, if it trapped */
  readonly lastTrap?: UserError;
  /** the deadline of the call that opened the context (0: a guaranteed-response call) ([EXE-BEST-EFFORT.1]) */
  readonly deadline: bigint;
}

export interface Callback {
  readonly reply: { readonly fun: bigint; readonly env: bigint };
  readonly reject: { readonly fun: bigint; readonly env: bigint };
  readonly cleanup?: { readonly fun: bigint; readonly env: bigint };
}

export interface CallbackEntry extends Callback {
  readonly id: number;
  readonly ctx: number;
  readonly canister: string;
  readonly callee: string;
  readonly method: string;
  /** a best-effort call's deadline (0: guaranteed response) ([EXE-BEST-EFFORT.1]) */
  readonly deadline: bigint;
  /** the id of the call message while it is pending */
  readonly message: number;
  /** the cycles attached to the call */
  readonly cyclesSent: bigint;
  /** prepaid at `call_perform`: the execution of this callback ([CYC-CALL-FEE.1]) */
  readonly prepaidExecution: bigint;
  /** prepaid at `call_perform`: the largest response's transmission ([CYC-RESPONSE-RESERVE.1]) */
  readonly prepaidTransmission: bigint;
  /** the deadline passed and the caller was answered SYS_UNKNOWN: a late response is dropped */
  readonly expired?: boolean;
}

/** A message waiting for execution. `queue` names the FIFO it belongs to ([EXE-ORDER.1]). */
export type Message =
  | {
      readonly kind: 'call';
      readonly id: number;
      readonly queue: string;
      readonly origin: Origin;
      readonly caller: Principal;
      readonly callee: Principal;
      readonly method: string;
      readonly arg: Uint8Array;
      readonly cycles: bigint;
      /** a best-effort call's deadline (0: guaranteed response) */
      readonly deadline: bigint;
    }
  | {
      readonly kind: 'response';
      readonly id: number;
      readonly queue: string;
      readonly canister: string;
      readonly callback: number;
      readonly response: Response;
      readonly refund: bigint;
    };

export type IngressStatus = (
  | { readonly status: 'received'; readonly time: bigint }
  | { readonly status: 'processing'; readonly time: bigint }
  | { readonly status: 'replied'; readonly time: bigint; readonly reply: Uint8Array }
  | { readonly status: 'rejected'; readonly time: bigint; readonly code: number; readonly message: string; readonly errorCode: string }
  | { readonly status: 'done'; readonly time: bigint }
) & {
  /** the message's ingress expiry, if it has one ([EXE-INGRESS-EXPIRY.1]) */
  readonly expiry?: bigint;
};

export interface ExecConfig {
  /** first canister index of this subnet's range */
  readonly rangeStart: bigint;
  readonly rangeEnd: bigint;
  readonly limits: {
    readonly update: bigint;
    readonly updateSlice: bigint;
    readonly query: bigint;
    readonly install: bigint;
    readonly installSlice: bigint;
    readonly inspect: bigint;
  };
  /** stable memory limit in bytes */
  readonly stableMemoryLimit: bigint;
  /** wasm_memory_limit given to new canisters (the replica's 3 GiB; the spec says 0) */
  readonly defaultWasmMemoryLimit: bigint;
  readonly maxSnapshots: number;
  /** the subnet type and the fees it charges ([CYC-TABLE.1]) */
  readonly subnetKind: SubnetKind;
  readonly fees: Fees;
  /** subnet memory above which storage is reserved, and the capacity ([CYC-RESERVE.1]) */
  readonly subnetMemoryThreshold: bigint;
  readonly subnetMemoryCapacity: bigint;
  /** the replica's execution threads, over which the subnet's memory is divided */
  readonly schedulerCores: bigint;
}

/** The subnet's cycles books: what was minted and what was consumed, by cause ([CYC-CONSERVATION.1]). */
export interface CyclesBooks {
  readonly minted: bigint;
  readonly consumed: Consumed;
}

export interface ExecState {
  readonly config: ExecConfig;
  readonly time: bigint;
  readonly canisters: PMap<string, Canister>;
  /** canister ids in creation order */
  readonly canisterOrder: readonly string[];
  readonly nextCanister: bigint;
  /** pending messages by id, and each FIFO's ids in order */
  readonly messages: PMap<number, Message>;
  readonly queues: PMap<string, readonly number[]>;
  readonly contexts: PMap<number, CallContext>;
  readonly callbacks: PMap<number, CallbackEntry>;
  /**
   * The response slots each canister holds ([CYC-MEMORY-USAGE.1]): an index of `contexts` and
   * `callbacks`, kept by ops.ts as they change, so that message memory costs O(1) to read.
   */
  readonly messageSlots: PMap<string, number>;
  readonly ingress: PMap<string, IngressStatus>;
  readonly nextId: number;
  /** the random tape of `raw_rand`: a counter hashed with a seed (the subnet's randomness is an argument) */
  readonly randCounter: bigint;
  /** executions paused between slices, by canister ([EXE-DTS.1]) */
  readonly paused: PMap<string, Paused>;
  /** the canisters as of the last certification, which queries read ([EXE-CERTIFIED-STATE.1]) */
  readonly certified: { readonly canisters: PMap<string, Canister>; readonly time: bigint };
  /** [CYC-CONSERVATION.1] */
  readonly books: CyclesBooks;
}

export const emptyState = (config: ExecConfig, time: bigint): ExecState => ({
  config,
  time,
  canisters: PMap.empty(),
  canisterOrder: [],
  nextCanister: config.rangeStart,
  messages: PMap.empty(),
  queues: PMap.empty(),
  contexts: PMap.empty(),
  callbacks: PMap.empty(),
  messageSlots: PMap.empty(),
  ingress: PMap.empty(),
  nextId: 0,
  randCounter: 0n,
  paused: PMap.empty(),
  certified: { canisters: PMap.empty(), time },
  books: { minted: 0n, consumed: NOTHING_CONSUMED },
});
