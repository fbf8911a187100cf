/**
 * The IC's metering data, loaded from `spec/data/` (the weights are data, not code):
 * - `wasm-instruction-costs.json`: the weight of every instruction ([EXE-METER-WEIGHTS.1]) and the
 *   validation complexity of function bodies ([EXE-WASM-LIMITS.1]);
 * - `system-api-costs.json`: every ic0 function's signature ([EXE-WASM-IMPORTS.1]) and charge
 *   ([EXE-METER-SYSAPI.1]);
 * - `execution-limits.json`: instruction limits per message kind ([EXE-LIMITS-INSTRUCTIONS.1]),
 *   validation limits and the compilation charge ([EXE-METER-COMPILE.1]).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/root.js';
import { OPCODE_SPACE, VT, allOpcodes, opName, type ValType } from './binary.js';

const load = (name: string): unknown => JSON.parse(readFileSync(join(packageRoot(), 'spec', 'data', name), 'utf8'));

// ---------------------------------------------------------------------------------------
// Instruction weights

interface CostsJson {
  readonly default: number;
  readonly costs: Readonly<Record<string, number | { readonly wasm32: number; readonly wasm64: number }>>;
  readonly complexity: {
    readonly default: number;
    readonly weights: Readonly<Record<string, number>>;
    readonly unsupported: readonly string[];
  };
}

const costsJson = load('wasm-instruction-costs.json') as CostsJson;

const buildTables = (): { c32: Int32Array; c64: Int32Array; cx: Int32Array; unsupported: Uint8Array } => {
  const c32 = new Int32Array(OPCODE_SPACE).fill(costsJson.default);
  const c64 = new Int32Array(OPCODE_SPACE).fill(costsJson.default);
  const cx = new Int32Array(OPCODE_SPACE).fill(costsJson.complexity.default);
  const unsupported = new Uint8Array(OPCODE_SPACE);
  for (const op of allOpcodes()) {
    const name = opName(op)!;
    const c = costsJson.costs[name];
    if (c === undefined) continue;
    if (typeof c === 'number') {
      c32[op] = c;
      c64[op] = c;
    } else {
      c32[op] = c.wasm32;
      c64[op] = c.wasm64;
    }
    const w = costsJson.complexity.weights[name];
    if (w !== undefined) cx[op] = w;
    if (costsJson.complexity.unsupported.includes(name)) unsupported[op] = 1;
  }
  return { c32, c64, cx, unsupported };
};
const tables = buildTables();

/** [EXE-METER-WEIGHTS.1] The weight table for a module whose memory is 32-bit (or absent) or 64-bit, by opcode code. */
export const costTable = (is64: boolean): Int32Array => (is64 ? tables.c64 : tables.c32);

/** [EXE-METER-WEIGHTS.1] The weight of one instruction. */
export const instructionCost = (op: number, is64: boolean): number => costTable(is64)[op] ?? costsJson.default;

/** [EXE-WASM-LIMITS.1] The complexity weight of one instruction (validation). */
export const complexityWeight = (op: number): number => tables.cx[op] ?? costsJson.complexity.default;

/** [EXE-WASM-LIMITS.1] Instructions validation rejects as `UnsupportedWasmInstruction`. */
export const isUnsupportedInstruction = (op: number): boolean => tables.unsupported[op] === 1;

// ---------------------------------------------------------------------------------------
// The System API

export type ByteRule =
  | { readonly params: readonly string[]; readonly factor: number }
  | { readonly log: 'debug_print' | 'trap'; readonly param: string };

export interface SystemApiEntry {
  readonly name: string;
  /** parameter names and types; "I" is the pointer type (i32, or i64 with a 64-bit memory) */
  readonly params: readonly { readonly name: string; readonly type: 'I' | 'i32' | 'i64' }[];
  readonly results: readonly ('I' | 'i32' | 'i64')[];
  readonly overhead: bigint;
  readonly bytes: ByteRule | undefined;
  readonly wasm32Only: boolean;
}

interface SysJson {
  readonly instructionsPerByte: number;
  readonly logging: { readonly allocatedFactor: number; readonly transmittedFactor: number };
  readonly apis: Readonly<
    Record<
      string,
      {
        readonly params: readonly string[];
        readonly results: readonly ('I' | 'i32' | 'i64')[];
        readonly overhead: number;
        readonly bytes?: ByteRule;
        readonly wasm32Only?: boolean;
      }
    >
  >;
}

const sysJson = load('system-api-costs.json') as SysJson;

/** [EXE-WASM-IMPORTS.1] Every ic0 function the replica links, by name. */
export const systemApi: ReadonlyMap<string, SystemApiEntry> = new Map(
  Object.entries(sysJson.apis).map(([name, e]) => [
    name,
    {
      name,
      params: e.params.map((p) => {
        const [n, t] = p.split(':');
        return { name: n!, type: t as 'I' | 'i32' | 'i64' };
      }),
      results: e.results,
      overhead: BigInt(e.overhead),
      bytes: e.bytes,
      wasm32Only: e.wasm32Only === true,
    },
  ]),
);

const vt = (t: 'I' | 'i32' | 'i64', is64: boolean): ValType => (t === 'i64' || (t === 'I' && is64) ? VT.i64 : VT.i32);

/** [EXE-WASM-IMPORTS.1] The exact signature `ic0.<name>` must have, for a 32- or 64-bit memory;
 * undefined when the function does not exist for that memory width. */
export const systemApiSignature = (
  name: string,
  is64: boolean,
): { readonly params: readonly ValType[]; readonly results: readonly ValType[] } | undefined => {
  const e = systemApi.get(name);
  if (e === undefined || (e.wasm32Only && is64)) return undefined;
  return { params: e.params.map((p) => vt(p.type, is64)), results: e.results.map((r) => vt(r, is64)) };
};

/** The state of the canister log that the logging charge depends on. */
export interface LogState {
  /** the log's byte capacity */
  readonly capacity: bigint;
  /** bytes still free in the log */
  readonly remaining: bigint;
  /** whether debug printing is enabled (rate limiting off, or a system subnet) */
  readonly printing: boolean;
}

const minB = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** [EXE-METER-SYSAPI.1] The bytes charged by `ic0.debug_print`/`ic0.trap` for a message of `len` bytes. */
export const loggingChargeBytes = (kind: 'debug_print' | 'trap', len: bigint, log: LogState): bigint => {
  const allocated = minB(len, log.capacity);
  const transmitted = minB(len, log.remaining);
  const base = BigInt(sysJson.logging.allocatedFactor) * allocated + BigInt(sysJson.logging.transmittedFactor) * transmitted;
  if (kind === 'trap') return len + base;
  return base + (log.printing ? len : 0n);
};

const NO_LOG: LogState = { capacity: 0n, remaining: 0n, printing: false };

/**
 * [EXE-METER-SYSAPI.1] The instructions charged for one call of `ic0.<name>`: its overhead plus
 * `instructionsPerByte` × its byte charge. `size` is the raw byte count the call's rule names:
 * the sum of its byte parameters (e.g. `callee_size + name_size` for `call_new`), or the message
 * length for `debug_print`/`trap`, whose charge also depends on `log` (without it: an empty,
 * full log with printing disabled). Throws on an unknown name (a host bug, not a canister's).
 */
export const systemApiCost = (name: string, size: number | bigint = 0, log: LogState = NO_LOG): bigint => {
  const e = systemApi.get(name);
  if (e === undefined) throw new Error(`systemApiCost: unknown System API function ${name}`);
  const n = BigInt(size);
  let bytes = 0n;
  if (e.bytes !== undefined) bytes = 'log' in e.bytes ? loggingChargeBytes(e.bytes.log, n, log) : BigInt(e.bytes.factor) * n;
  return e.overhead + BigInt(sysJson.instructionsPerByte) * bytes;
};

/** [EXE-METER-SYSAPI.1] The charge computed from the call's arguments (in parameter order). */
export const systemApiCharge = (name: string, args: readonly (number | bigint)[], log: LogState = NO_LOG): bigint => {
  const e = systemApi.get(name);
  if (e === undefined) throw new Error(`systemApiCharge: unknown System API function ${name}`);
  const r = e.bytes;
  if (r === undefined) return e.overhead;
  const argOf = (p: string): bigint => {
    const i = e.params.findIndex((q) => q.name === p);
    const v = args[i];
    return v === undefined ? 0n : BigInt.asUintN(64, BigInt(v));
  };
  const size = 'log' in r ? argOf(r.param) : r.params.reduce((s, p) => s + argOf(p), 0n);
  return systemApiCost(name, size, log);
};

// ---------------------------------------------------------------------------------------
// Limits

interface LimitsJson {
  readonly instructionLimits: Readonly<Record<string, unknown>>;
  readonly systemSubnetInstructionLimits: unknown;
  readonly roundOverheads: Readonly<Record<string, number>>;
  readonly dts: { readonly maxSlices: number; readonly minSlices: number };
  readonly validation: Readonly<Record<string, number>>;
  readonly compile: { readonly costPerInstruction: number; readonly instructionsPerGlobal: number };
  readonly memory: { readonly wasmPageBytes: number; readonly osPageBytes: number };
}

const limitsJson = load('execution-limits.json') as LimitsJson;

export interface MessageLimit {
  readonly message: bigint;
  readonly slice: bigint;
}

const ml = (x: unknown): MessageLimit => {
  const o = x as { message: number; slice: number };
  return { message: BigInt(o.message), slice: BigInt(o.slice) };
};

/** [EXE-LIMITS-INSTRUCTIONS.1] Instruction limits of an application subnet, per kind of execution. */
export const instructionLimits = (() => {
  const l = limitsJson.instructionLimits as Record<string, unknown>;
  const cq = l['compositeQuery'] as { total: number; perCallOverhead: number };
  const sys = limitsJson.systemSubnetInstructionLimits as { message: number; installCode: { message: number; slice: number } };
  return {
    update: ml(l['update']),
    responseCallback: ml(l['responseCallback']),
    heartbeat: ml(l['heartbeat']),
    globalTimer: ml(l['globalTimer']),
    withoutDts: ml(l['withoutDts']),
    query: ml(l['query']),
    inspectMessage: ml(l['inspectMessage']),
    installCode: ml(l['installCode']),
    compositeQuery: { total: BigInt(cq.total), perCallOverhead: BigInt(cq.perCallOverhead) },
    round: BigInt(l['round'] as number),
    systemSubnet: { message: BigInt(sys.message), installCode: ml(sys.installCode) },
    roundOverheads: Object.fromEntries(Object.entries(limitsJson.roundOverheads).map(([k, v]) => [k, BigInt(v)])),
    dts: limitsJson.dts,
  } as const;
})();

/** Validation limits ([EXE-WASM-FORMAT.1], [EXE-WASM-LIMITS.1], [EXE-WASM-EXPORTS.1], [EXE-WASM-CUSTOM.1]). */
export interface ValidationLimits {
  readonly wasmMaxSizeBytes: number;
  readonly maxCodeSectionBytes: number;
  readonly maxFunctions: number;
  readonly maxGlobals: number;
  readonly maxExportedMethods: number;
  readonly maxSumExportedMethodNameBytes: number;
  readonly maxFunctionInstructions: number;
  readonly maxFunctionComplexity: number;
  readonly maxCustomSections: number;
  readonly maxCustomSectionsBytes: number;
}

export const validationLimits = limitsJson.validation as unknown as ValidationLimits;

/** [EXE-METER-COMPILE.1] Instructions charged per compiled Wasm instruction, and instructions counted per global. */
export const COMPILE_COST_PER_INSTRUCTION = BigInt(limitsJson.compile.costPerInstruction);
export const COMPILE_INSTRUCTIONS_PER_GLOBAL = BigInt(limitsJson.compile.instructionsPerGlobal);

export const WASM_PAGE_BYTES = limitsJson.memory.wasmPageBytes;
export const OS_PAGE_BYTES = limitsJson.memory.osPageBytes;
