/**
 * Reject codes, the replica's error codes and its user-facing texts ([EXE-ERRORS.1],
 * [EXE-ERRORS.1]). Errors are data: a reject code, an error code (`IC0502`) and the
 * replica's message, so that a transcript from a replica and one from icspec compare line by
 * line.
 */

import { fmtCycles } from '../cycles/account.js';

/** Reject codes of the interface spec. */
export const RejectCode = {
  SYS_FATAL: 1,
  SYS_TRANSIENT: 2,
  DESTINATION_INVALID: 3,
  CANISTER_REJECT: 4,
  CANISTER_ERROR: 5,
  SYS_UNKNOWN: 6,
} as const;
export type RejectCode = (typeof RejectCode)[keyof typeof RejectCode];

/** The replica's `ErrorCode` values used here (hundreds digit = reject code). */
export const ErrorCode = {
  SubnetOversubscribed: 101,
  MaxNumberOfCanistersReached: 102,
  CanisterQueueFull: 201,
  IngressMessageTimeout: 202,
  CanisterNotFound: 301,
  CanisterSnapshotNotFound: 305,
  InsufficientMemoryAllocation: 402,
  InsufficientCyclesForCreateCanister: 403,
  SubnetNotFound: 404,
  CanisterNotHostedBySubnet: 405,
  CanisterRejectedMessage: 406,
  UnknownManagementMessage: 407,
  InvalidManagementPayload: 408,
  CanisterTrapped: 502,
  CanisterCalledTrap: 503,
  CanisterContractViolation: 504,
  CanisterInvalidWasm: 505,
  CanisterDidNotReply: 506,
  CanisterOutOfMemory: 507,
  CanisterStopped: 508,
  CanisterStopping: 509,
  CanisterNotStopped: 510,
  CanisterStoppingCancelled: 511,
  CanisterInvalidController: 512,
  CanisterFunctionNotFound: 513,
  CanisterNonEmpty: 514,
  QueryCallGraphLoopDetected: 517,
  InsufficientCyclesInCall: 520,
  CanisterWasmEngineError: 521,
  CanisterInstructionLimitExceeded: 522,
  CanisterMemoryAccessLimitExceeded: 524,
  QueryCallGraphTooDeep: 525,
  QueryCallGraphTotalInstructionLimitExceeded: 526,
  CompositeQueryCalledInReplicatedMode: 527,
  CanisterMethodNotFound: 536,
  CanisterWasmModuleNotFound: 537,
  CanisterAlreadyInstalled: 538,
  CanisterWasmMemoryLimitExceeded: 539,
  CanisterOutOfCycles: 207,
  CanisterQueueNotEmpty: 203,
  InsufficientCyclesInComputeAllocation: 530,
  InsufficientCyclesInMemoryAllocation: 531,
  InsufficientCyclesInMemoryGrow: 532,
  ReservedCyclesLimitExceededInMemoryAllocation: 533,
  ReservedCyclesLimitExceededInMemoryGrow: 534,
  InsufficientCyclesInMessageMemoryGrow: 535,
  ReservedCyclesLimitIsTooLow: 540,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

/** A user-facing error: what an ingress message or a failed execution ends with. */
export interface UserError {
  readonly code: ErrorCodeName;
  readonly message: string;
}

/** `IC0502` */
export const errorCodeText = (code: ErrorCodeName): string => `IC${String(ErrorCode[code]).padStart(4, '0')}`;

/** The reject code an error code maps to: its hundreds digit. */
export const rejectCodeOf = (code: ErrorCodeName): RejectCode => Math.floor(ErrorCode[code] / 100) as RejectCode;

export const userError = (code: ErrorCodeName, message: string): UserError => ({ code, message });

/** The replica's documentation link for an error section ([EXE-ERRORS.1]). */
export const docRef = (section: string): string => `https://internetcomputer.org/docs/current/references/execution-errors#${section}`;

/** The help text of errors that are the toolchain's fault. */
export const TOOLCHAIN_HELP =
  'If you are running this canister in a test environment (e.g., dfx), make sure the test environment is up to date. Otherwise, this is likely an error with the compiler/CDK toolchain being used to build the canister. Please report the error to IC devs on the forum: https://forum.dfinity.org and include which language/CDK was used to create the canister.';

/**
 * The envelope of errors raised while executing a canister: the error's own text, a period
 * (so a text that ends in one shows two, as the replica's do), and the help on the next line.
 */
export const fromCanister = (canister: string, text: string, help?: string): string =>
  `Error from Canister ${canister}: ${text}.` + (help !== undefined ? `\n${help}` : '');

export const helpWith = (suggestion: string, section: string): string => `${suggestion} See documentation: ${docRef(section)}`;
const HANDLE = 'Consider gracefully handling failures from this canister or altering the canister to handle exceptions.';

/** What a trap inside a canister turns into ([EXE-TRAP-ERROR.1]). */
export const trapError = (canister: string, trap: Trap): UserError => {
  switch (trap.kind) {
    case 'CalledTrap':
      return userError('CanisterCalledTrap', fromCanister(canister, `Canister called \`ic0.trap\` with message: '${trap.message}'`, helpWith(HANDLE, 'trapped-explicitly')));
    case 'InstructionLimitExceeded':
      return userError(
        'CanisterInstructionLimitExceeded',
        fromCanister(
          canister,
          `Canister exceeded the limit of ${trap.limit} instructions for single message execution.`,
          helpWith('Try optimizing this method to consume fewer instructions or split the work across multiple messages.', 'instruction-limit-exceeded'),
        ),
      );
    case 'SliceOverrun':
      return userError(
        'CanisterInstructionLimitExceeded',
        fromCanister(
          canister,
          `Canister attempted to perform a large memory operation that used ${trap.instructions} instructions and exceeded the slice limit ${trap.limit}.`,
          helpWith('Try breaking up large copies within the canister code into smaller chunks.', 'slice-overrun'),
        ),
      );
    case 'ContractViolation':
      return userError('CanisterContractViolation', fromCanister(canister, `Canister violated contract: ${trap.message}`, trap.help ?? TOOLCHAIN_HELP));
    case 'WasmMemoryLimitExceeded':
      return userError(
        'CanisterWasmMemoryLimitExceeded',
        fromCanister(
          canister,
          `Canister exceeded its current Wasm memory limit of ${trap.limit} bytes. The peak Wasm memory usage was ${trap.used} bytes. If the canister reaches 4GiB, then it may stop functioning and may become unrecoverable. Please reach out to the canister owner to investigate the reason for the increased memory usage. It might be necessary to move data from the Wasm memory to the stable memory. If such high Wasm memory usage is expected and safe, then the developer can increase the Wasm memory limit in the canister settings.`,
          helpWith('Try checking the canister for a possible memory leak or modifying it to use more stable memory instead of Wasm memory.', 'wasm-memory-limit-exceeded'),
        ),
      );
    case 'OutOfMemory':
      return userError(
        'CanisterOutOfMemory',
        fromCanister(
          canister,
          'Canister cannot grow its memory usage.',
          helpWith('Check the canister\'s memory usage against its allocation and the system wide limits to determine why more memory cannot be allocated.', 'out-of-memory'),
        ),
      );
    case 'Wasm':
      return userError('CanisterTrapped', fromCanister(canister, `Canister trapped: ${trap.message}`, helpWith(HANDLE, 'trapped')));
    case 'OutOfCyclesInCall':
      // [CYC-SYSAPI.1] attaching more than the liquid balance (the amount is not revealed)
      return userError('CanisterContractViolation', fromCanister(canister, `Canister ${canister} is out of cycles`));
    case 'InsufficientCyclesInMemoryGrow':
      return userError(
        'InsufficientCyclesInMemoryGrow',
        fromCanister(
          canister,
          `Canister cannot grow memory by ${trap.bytes} bytes due to insufficient cycles.` + (trap.needed !== undefined ? ` At least ${fmtCycles(trap.needed)} additional cycles are required.` : ''),
          helpWith('Try topping up the canister.', 'insufficient-cycles-in-memory-grow'),
        ),
      );
    case 'ReservedCyclesLimitExceededInMemoryGrow':
      return userError(
        'ReservedCyclesLimitExceededInMemoryGrow',
        fromCanister(
          canister,
          `Canister cannot grow memory by ${trap.bytes} bytes due to its reserved cycles limit. The current limit (${fmtCycles(trap.limit)}) would be exceeded by ${fmtCycles(trap.requested - trap.limit)}.`,
          helpWith("Try increasing the canister's reserved cycles limit.", 'reserved-cycles-limit-exceeded-in-memory-grow'),
        ),
      );
  }
};

/**
 * Why an execution stopped before returning ([EXE-TRAP-ERROR.1]). `Wasm` carries the
 * replica's trap text ("unreachable", "heap out of bounds", …).
 */
export type Trap =
  | { readonly kind: 'Wasm'; readonly message: string }
  | { readonly kind: 'CalledTrap'; readonly message: string }
  | { readonly kind: 'InstructionLimitExceeded'; readonly limit: bigint }
  | { readonly kind: 'SliceOverrun'; readonly instructions: bigint; readonly limit: bigint }
  | { readonly kind: 'ContractViolation'; readonly message: string; readonly help?: string }
  | { readonly kind: 'WasmMemoryLimitExceeded'; readonly limit: bigint; readonly used: bigint }
  | { readonly kind: 'OutOfMemory' }
  | { readonly kind: 'OutOfCyclesInCall' }
  /** `needed` only when the caller is a controller ([CYC-MEMORY-GROW.1]) */
  | { readonly kind: 'InsufficientCyclesInMemoryGrow'; readonly bytes: bigint; readonly needed?: bigint }
  | { readonly kind: 'ReservedCyclesLimitExceededInMemoryGrow'; readonly bytes: bigint; readonly requested: bigint; readonly limit: bigint };

// ---------------------------------------------------------------------------------------
// Errors the system raises before or around an execution ([EXE-ERRORS.1])

export const canisterNotFound = (canister: string): UserError => userError('CanisterNotFound', `Canister ${canister} not found`);
export const canisterEmpty = (canister: string): UserError =>
  userError(
    'CanisterWasmModuleNotFound',
    fromCanister(canister, 'Attempted to execute a message, but the canister contains no Wasm module.', helpWith('Please install code to this canister before calling it.', 'wasm-module-not-found')),
  );
export const methodNotFound = (canister: string, kind: 'update' | 'query' | 'composite_query', method: string): UserError =>
  userError(
    'CanisterMethodNotFound',
    fromCanister(canister, `Canister has no ${kind} method '${method}'.`, helpWith('Check that the method being called is exported by the target canister.', 'method-not-found')),
  );
export const canisterStopped = (canister: string): UserError => userError('CanisterStopped', `Canister ${canister} is stopped`);
export const canisterStopping = (canister: string): UserError => userError('CanisterStopping', `Canister ${canister} is stopping`);
export const didNotReply = (canister: string): UserError => userError('CanisterDidNotReply', `Canister ${canister} did not reply to the call`);
export const compositeInReplicated = (canister: string): UserError =>
  userError('CompositeQueryCalledInReplicatedMode', fromCanister(canister, 'Composite query cannot be called in replicated mode'));
/** A system API function called where it is not available ([EXE-SYSAPI-AVAILABILITY.1]). */
export const wrongModeHelp = helpWith('Check the ICP documentation to make sure APIs are being called in the correct message types.', 'calling-a-system-api-from-the-wrong-mode');
