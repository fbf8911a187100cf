/**
 * Validation of a canister module, as the replica performs it when code is installed
 * (dfinity/ic `rs/embedders/src/wasm_utils/decoding.rs` `decode_wasm`, `validation.rs`
 * `validate_wasm_binary`, and the data-segment check of `instrumentation.rs`), in the same order
 * and with the same error variants (`code`) and, where the replica's text is known, its message.
 *
 * The replica validates structure with Wasmtime (its own feature configuration); here V8's
 * `WebAssembly.validate` checks structure and types, and this module's decoder rejects the
 * proposals V8 enables but the IC does not (exceptions, threads, GC, typed function references,
 * tail calls, relaxed SIMD, multiple memories). The inner text of `WasmtimeValidation` errors is
 * therefore V8's or ours, not Wasmtime's ([EXE-WASM-FORMAT.1]).
 */
import { crc32, inflateRawSync } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import {
  DecodeError,
  InstrReader,
  OP,
  EXTERNAL,
  VT,
  allMemories,
  allTables,
  codeSectionSize,
  decodeModule,
  funcTypeOf,
  isRelaxedSimd,
  opName,
  type ConstExpr,
  type FuncType,
  type ValType,
  type WasmModule,
} from './binary.js';
import { complexityWeight, isUnsupportedInstruction, systemApiSignature, validationLimits, type ValidationLimits } from './costs.js';
import { utf8Length } from '../core/bytes.js';

// ---------------------------------------------------------------------------------------
// Errors

/** The replica's `WasmValidationError` variants, plus `InvalidDataSegment` (its
 * `WasmInstrumentationError` for a data segment outside the initial memory). */
export type WasmValidationErrorCode =
  | 'DecodingError'
  | 'ModuleTooLarge'
  | 'CodeSectionTooLarge'
  | 'WasmtimeValidation'
  | 'InvalidFunctionSignature'
  | 'InvalidImportSection'
  | 'InvalidExportSection'
  | 'DuplicateExport'
  | 'TooManyExports'
  | 'ExportedNamesTooLong'
  | 'InvalidDataSection'
  | 'InvalidGlobalSection'
  | 'TooManyGlobals'
  | 'TooManyFunctions'
  | 'FunctionComplexityTooHigh'
  | 'UnsupportedWasmInstruction'
  | 'FunctionTooLarge'
  | 'InvalidCustomSection'
  | 'TooManyCustomSections'
  | 'InvalidDataSegment';

export interface WasmValidationError {
  readonly code: WasmValidationErrorCode;
  /** the replica's Display text of the error (own text where marked in the code) */
  readonly message: string;
  /** the requirement that rejected the module */
  readonly req: string;
}

const err = (req: string, code: WasmValidationErrorCode, message: string): Either<WasmValidationError, never> =>
  E.left({ code, message, req });

// Display texts of rs/types/wasm_types/src/errors.rs
const T = {
  decoding: (e: string) => `Failed to decode wasm module: ${e}`,
  tooLarge: (size: bigint | number, allowed: number) => `Wasm module size of ${size} exceeds the maximum allowed size of ${allowed}.`,
  codeTooLarge: (size: number, allowed: number) =>
    `Wasm module code section size of ${size} exceeds the maximum allowed size of ${allowed}.`,
  wasmtime: (e: string) => `Wasmtime failed to validate wasm module wasmtime::Module::validate() failed with ${e}`,
  signature: (e: string) => `Wasm module has an invalid function signature. ${e}`,
  imports: (e: string) => `Wasm module has an invalid import section. ${e}`,
  exports: (e: string) => `Wasm module has an invalid export section. ${e}`,
  duplicate: (name: string) =>
    `Duplicate function '${name}' exported multiple times with different call types: update, query, or composite_query.`,
  tooManyExports: (defined: number, allowed: number) =>
    `The number of exported functions called \`canister_update <name>\`, \`canister_query <name>\`, or \`canister_composite_query <name>\` is ${defined} which exceeds ${allowed}.`,
  namesTooLong: (total: number, allowed: number) =>
    `The sum of \`<name>\` lengths in exported functions called \`canister_update <name>\`, \`canister_query <name>\`, or \`canister_composite_query <name>\` is ${total} which exceeds the allowed limit of ${allowed}.`,
  data: (e: string) => `Wasm module has an invalid data section. ${e}`,
  custom: (e: string) => `Wasm module has an invalid custom section. ${e}`,
  global: (e: string) => `Wasm module has an invalid global section. ${e}`,
  tooManyGlobals: (d: number, a: number) => `Wasm module defined ${d} globals which exceeds the maximum number allowed ${a}.`,
  tooManyFunctions: (d: number, a: number) => `Wasm module defined ${d} functions which exceeds the maximum number allowed ${a}.`,
  tooManyCustom: (d: number, a: number) => `Wasm module defined ${d} custom sections which exceeds the maximum number allowed ${a}.`,
  complexity: (i: number, c: number, a: number) =>
    `Wasm module contains a function at index ${i} with complexity ${c} which exceeds the maximum complexity allowed ${a}.`,
  unsupported: (i: number, instr: string) => `Wasm module contains a function at index ${i} with unsupported instruction ${instr}.`,
  functionTooLarge: (i: number, size: number, a: number) =>
    `Wasm module contains a function at index ${i} of size ${size} that exceeds the maximum allowed size of ${a}.`,
  dataSegment: (offset: bigint, len: number) => `Wasm module has invalid data segment of ${len} bytes at ${offset}`,
};

// ---------------------------------------------------------------------------------------
// The result

export interface MemoryInfo {
  readonly is64: boolean;
  /** initial and maximum size in Wasm pages */
  readonly initial: bigint;
  readonly maximum: bigint | undefined;
  /** imported as `env.memory` (else defined by the module) */
  readonly imported: boolean;
}

export interface TableInfo {
  readonly is64: boolean;
  readonly refType: 'funcref' | 'externref';
  readonly initial: bigint;
  readonly maximum: bigint | undefined;
  readonly imported: boolean;
}

export interface GlobalInfo {
  /** index in the global index space */
  readonly index: number;
  readonly type: 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
  readonly mutable: boolean;
}

export interface DataSegmentInfo {
  readonly mode: 'active' | 'passive';
  /** the offset of an active segment (its single constant, as the replica reads it) */
  readonly offset: bigint | undefined;
  readonly size: number;
}

export interface CustomSectionInfo {
  readonly visibility: 'public' | 'private';
  readonly content: Uint8Array;
}

export type SystemExport =
  | 'canister_init'
  | 'canister_pre_upgrade'
  | 'canister_post_upgrade'
  | 'canister_inspect_message'
  | 'canister_heartbeat'
  | 'canister_global_timer'
  | 'canister_on_low_wasm_memory';

export interface ModuleInfo {
  /** the module's binary (decompressed) */
  readonly bytes: Uint8Array;
  readonly module: WasmModule;
  readonly memory: MemoryInfo | undefined;
  readonly table: TableInfo | undefined;
  /** the `<name>`s of the method exports, by kind */
  readonly exports: {
    readonly update: readonly string[];
    readonly query: readonly string[];
    readonly compositeQuery: readonly string[];
  };
  /** the system entry points the module exports */
  readonly systemExports: readonly SystemExport[];
  /** `icp:public <name>` / `icp:private <name>` sections by `<name>` */
  readonly customSections: ReadonlyMap<string, CustomSectionInfo>;
  readonly globals: readonly GlobalInfo[];
  readonly dataSegments: readonly DataSegmentInfo[];
  /** the ic0 functions imported */
  readonly ic0Imports: readonly string[];
  readonly hasStart: boolean;
  /** the largest instruction count and complexity of a function body */
  readonly largestFunctionInstructionCount: number;
  readonly maxComplexity: number;
}

// ---------------------------------------------------------------------------------------
// Decoding the container ([EXE-WASM-FORMAT.1])

/** [EXE-WASM-FORMAT.1] A raw module (`\0asm`) or a gzip stream (`1f 8b 08`) whose footer size and
 * actual size are at most the limit. */
export const decodeWasm = (raw: Uint8Array, maxSize: number = validationLimits.wasmMaxSizeBytes): Either<WasmValidationError, Uint8Array> => {
  const R = 'EXE-WASM-FORMAT.1';
  const isWasm = raw.length >= 4 && raw[0] === 0x00 && raw[1] === 0x61 && raw[2] === 0x73 && raw[3] === 0x6d;
  const isGzip = raw.length >= 3 && raw[0] === 0x1f && raw[1] === 0x8b && raw[2] === 0x08;
  if (isWasm) {
    if (raw.length > maxSize) return err(R, 'ModuleTooLarge', T.tooLarge(raw.length, maxSize));
    return E.right(raw);
  }
  if (!isGzip) return err(R, 'DecodingError', T.decoding('unsupported canister module format'));
  if (raw.length < 16) return err(R, 'DecodingError', T.decoding('invalid Wasm module: gzip stream is too short'));
  // the uncompressed size from the footer (untrusted: checked against the output below)
  const n = raw.length;
  const size = (raw[n - 4]! | (raw[n - 3]! << 8) | (raw[n - 2]! << 16) | (raw[n - 1]! << 24)) >>> 0;
  if (size > maxSize) return err(R, 'ModuleTooLarge', T.tooLarge(size, maxSize));
  // the deflate stream after the gzip header (RFC 1952 §2.3); the 8-byte trailer is the footer
  let pos = 10;
  const flg = raw[3]!;
  if (flg & 4) pos += 2 + (raw[10]! | (raw[11]! << 8));
  for (const bit of [8, 16]) if (flg & bit) while (pos < n && raw[pos++] !== 0);
  if (flg & 2) pos += 2;
  let out: Uint8Array;
  try {
    // read at most size + 1 bytes, like the replica (a gzip bomb stops there)
    out = inflateRawSync(raw.subarray(Math.min(pos, n - 8), n - 8), { maxOutputLength: Math.max(size + 1, 1) });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      return err(R, 'DecodingError', T.decoding(`specified uncompressed size ${size} does not match extracted size ${size + 1}`));
    // own text: the inner message is zlib's, not libflate's
    return err(R, 'DecodingError', T.decoding(`failed to decode compressed Wasm module: ${(e as Error).message}`));
  }
  if (out.length !== size)
    return err(R, 'DecodingError', T.decoding(`specified uncompressed size ${size} does not match extracted size ${out.length}`));
  const crc = (raw[n - 8]! | (raw[n - 7]! << 8) | (raw[n - 6]! << 16) | (raw[n - 5]! << 24)) >>> 0;
  // own text
  if (crc32(out) !== crc) return err(R, 'DecodingError', T.decoding('failed to decode compressed Wasm module: CRC32 mismatch'));
  return E.right(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
};

// ---------------------------------------------------------------------------------------
// Function bodies: one walk for the engine's feature checks and the IC's limits

interface BodyStats {
  readonly size: number;
  readonly complexity: number;
  readonly unsupported: number | undefined;
  readonly feature: string | undefined;
}

const walkBody = (m: WasmModule, i: number): BodyStats => {
  const b = m.codes[i]!;
  const ir = new InstrReader(b.buf, b.codeStart, b.codeEnd);
  let size = 0;
  let complexity = 0;
  let unsupported: number | undefined;
  let feature: string | undefined;
  while (ir.next()) {
    const op = ir.op;
    size++;
    if (unsupported === undefined) {
      if (isUnsupportedInstruction(op)) unsupported = op;
      else complexity += complexityWeight(op);
    }
    if (feature === undefined) {
      if (op === OP.return_call || op === OP.return_call_indirect) feature = 'tail calls';
      else if (isRelaxedSimd(op)) feature = 'relaxed SIMD';
    }
  }
  if (ir.pos !== b.codeEnd) throw new DecodeError('function body has bytes after its end', ir.pos);
  return { size, complexity, unsupported, feature };
};

// ---------------------------------------------------------------------------------------
// Imports ([EXE-WASM-IMPORTS.1])

const debugTypes = (ts: readonly ValType[]): string =>
  '[' +
  ts
    .map((t) =>
      t === VT.i32 ? 'I32' : t === VT.i64 ? 'I64' : t === VT.f32 ? 'F32' : t === VT.f64 ? 'F64' : t === VT.v128 ? 'V128' : t === VT.funcref ? 'Ref(funcref)' : 'Ref(externref)',
    )
    .join(', ') +
  ']';

const sameTypes = (a: readonly ValType[], b: readonly ValType[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

const checkSignature = (
  req: string,
  expected: { readonly params: readonly ValType[]; readonly results: readonly ValType[] },
  field: string,
  actual: FuncType,
): Either<WasmValidationError, void> => {
  if (!sameTypes(actual.params, expected.params))
    return err(
      req,
      'InvalidFunctionSignature',
      T.signature(`Expected input params ${debugTypes(expected.params)} for '${field}', got ${debugTypes(actual.params)}.`),
    );
  if (!sameTypes(actual.results, expected.results))
    return err(
      req,
      'InvalidFunctionSignature',
      T.signature(`Expected return type ${debugTypes(expected.results)} for '${field}', got ${debugTypes(actual.results)}.`),
    );
  return E.right(undefined);
};

const validateImports = (m: WasmModule, is64: boolean): Either<WasmValidationError, readonly string[]> => {
  const R = 'EXE-WASM-IMPORTS.1';
  const ic0: string[] = [];
  for (const imp of m.imports) {
    const d = imp.desc;
    switch (d.kind) {
      case 'func': {
        // [EXE-WASM-IMPORTS.1] only ic0.<name> from the System API, with its exact signature
        const sig = systemApiSignature(imp.name, is64);
        if (sig === undefined)
          return err(R, 'InvalidImportSection', T.imports(`Module imports function '${imp.name}' from '${imp.module}' that is not exported by the runtime.`));
        if (imp.module !== 'ic0')
          return err(
            R,
            'InvalidImportSection',
            T.imports(`Module imports function "${imp.name}" from "${imp.module}", expected to be imported from one of ["ic0"] instead.`),
          );
        const c = checkSignature(R, sig, imp.name, m.types[d.type]!);
        if (E.isLeft(c)) return c;
        ic0.push(imp.name);
        break;
      }
      case 'table':
        // [EXE-WASM-IMPORTS.1] a table named `table` only from `env`
        if (imp.name === 'table' && imp.module !== 'env')
          return err(R, 'InvalidImportSection', T.imports('Only tables imported from env.table are allowed.'));
        break;
      case 'memory':
        if (imp.name === 'memory' && imp.module !== 'env')
          return err(R, 'InvalidImportSection', T.imports('Only memory imported from env.memory is allowed.'));
        break;
      case 'global':
        return err(R, 'InvalidImportSection', T.imports('Importing globals is not allowed.'));
      case 'tag':
        return err(R, 'InvalidImportSection', T.imports('Importing tags is not allowed.'));
    }
  }
  return E.right(ic0);
};

// ---------------------------------------------------------------------------------------
// Exports ([EXE-WASM-EXPORTS.1])

/** Names no module may export: the instrumentation's own exports. */
export const RESERVED_SYMBOLS: readonly string[] = [
  'canister counter_instructions',
  'canister_start',
  'canister counter_dirty_pages',
  'canister counter_accessed_pages',
  'stable_memory',
  'stable_memory_bytemap',
];

export const SYSTEM_EXPORTS: readonly SystemExport[] = [
  'canister_init',
  'canister_pre_upgrade',
  'canister_post_upgrade',
  'canister_inspect_message',
  'canister_heartbeat',
  'canister_global_timer',
  'canister_on_low_wasm_memory',
];

const METHOD_PREFIXES = ['canister_query ', 'canister_composite_query ', 'canister_update '] as const;
const UNIT: { params: ValType[]; results: ValType[] } = { params: [], results: [] };

const validateExports = (
  m: WasmModule,
  limits: ValidationLimits,
): Either<WasmValidationError, { methods: ModuleInfo['exports']; system: SystemExport[] }> => {
  const R = 'EXE-WASM-EXPORTS.1';
  const seen = new Set<string>();
  const update: string[] = [];
  const query: string[] = [];
  const compositeQuery: string[] = [];
  const system: SystemExport[] = [];
  let count = 0;
  let sumLen = 0;
  for (const ex of m.exports) {
    if (RESERVED_SYMBOLS.includes(ex.name))
      return err(R, 'InvalidExportSection', T.exports(`Exporting reserved symbol ${ex.name} not allowed.`));
    if (ex.kind !== EXTERNAL.func) continue;
    const prefix = METHOD_PREFIXES.find((p) => ex.name.startsWith(p));
    if (prefix !== undefined) {
      const name = ex.name.slice(prefix.length);
      if (seen.has(name)) return err(R, 'DuplicateExport', T.duplicate(name));
      seen.add(name);
      count++;
      sumLen += utf8Length(name);
      (prefix === 'canister_update ' ? update : prefix === 'canister_query ' ? query : compositeQuery).push(name);
    } else if (ex.name.startsWith('canister_')) {
      if (!SYSTEM_EXPORTS.includes(ex.name as SystemExport))
        return err(R, 'InvalidExportSection', T.exports(`Exporting reserved function '${ex.name}' with "canister_" prefix`));
      system.push(ex.name as SystemExport);
    } else continue;
    // every entry point has type () -> ()
    const c = checkSignature(R, UNIT, ex.name, funcTypeOf(m, ex.index)!);
    if (E.isLeft(c)) return c;
  }
  if (count > limits.maxExportedMethods) return err(R, 'TooManyExports', T.tooManyExports(count, limits.maxExportedMethods));
  if (sumLen > limits.maxSumExportedMethodNameBytes)
    return err(R, 'ExportedNamesTooLong', T.namesTooLong(sumLen, limits.maxSumExportedMethodNameBytes));
  return E.right({ methods: { update, query, compositeQuery }, system });
};

// ---------------------------------------------------------------------------------------
// Data ([EXE-WASM-DATA.1])

/** The value of a constant expression that is a single `i32.const` / `i64.const`, else the
 * first instruction's name. i32 values are sign-extended to 64 bits, as the replica reads them. */
const singleConst = (e: ConstExpr): { ok: true; kind: 'i32' | 'i64'; value: bigint } | { ok: false; what: string } => {
  const ir = new InstrReader(e, 0, e.length);
  ir.next();
  const op = ir.op;
  const first =
    op === OP.i32_const
      ? `I32Const { value: ${ir.i32} }`
      : op === OP.i64_const
        ? `I64Const { value: ${ir.i64} }`
        : op === OP.global_get
          ? `GlobalGet { global_index: ${ir.a} }`
          : (opName(op) ?? '?');
  const value = op === OP.i32_const ? BigInt(ir.i32) : op === OP.i64_const ? ir.i64 : 0n;
  ir.next();
  if (ir.op !== OP.end || !ir.done) return { ok: false, what: first };
  if (op === OP.i32_const) return { ok: true, kind: 'i32', value };
  if (op === OP.i64_const) return { ok: true, kind: 'i64', value };
  return { ok: false, what: first };
};

/** [EXE-WASM-DATA.1] The offset of an active data segment (validated: a single constant of the memory's width). */
export const dataOffset = (e: ConstExpr): bigint => {
  const c = singleConst(e);
  return c.ok ? BigInt.asUintN(64, c.value) : 0n;
};

const validateData = (m: WasmModule, is64: boolean): Either<WasmValidationError, void> => {
  const R = 'EXE-WASM-DATA.1';
  for (const d of m.datas) {
    if (d.mode !== 'active') continue;
    const c = singleConst(d.offset!);
    const want = is64 ? 'i64' : 'i32';
    if (!c.ok || c.kind !== want) {
      // own text for the operator (the replica prints wasmparser's Debug form)
      const what = c.ok ? (c.kind === 'i32' ? `I32Const { value: ${c.value} }` : `I64Const { value: ${c.value} }`) : c.what;
      return err(R, 'InvalidDataSection', T.data(`Invalid offset expression in data segment for ${is64 ? 64 : 32}bit memory: ${what}`));
    }
  }
  return E.right(undefined);
};

// ---------------------------------------------------------------------------------------
// Custom sections ([EXE-WASM-CUSTOM.1])

const validateCustom = (m: WasmModule, limits: ValidationLimits): Either<WasmValidationError, Map<string, CustomSectionInfo>> => {
  const R = 'EXE-WASM-CUSTOM.1';
  const out = new Map<string, CustomSectionInfo>();
  let total = 0;
  for (const c of m.customs) {
    if (!c.name.startsWith('icp:')) continue;
    let visibility: 'public' | 'private';
    let name: string;
    if (c.name.startsWith('icp:public ')) {
      visibility = 'public';
      name = c.name.slice('icp:public '.length);
    } else if (c.name.startsWith('icp:private ')) {
      visibility = 'private';
      name = c.name.slice('icp:private '.length);
    } else if (c.name === 'icp:public' || c.name === 'icp:private')
      return err(R, 'InvalidCustomSection', T.custom("'icp:' section names must have a space after the public/private scope"));
    else
      return err(R, 'InvalidCustomSection', T.custom(`Invalid custom section: Custom section '${c.name}' has no public/private scope defined.`));
    if (out.has(name)) return err(R, 'InvalidCustomSection', T.custom(`Invalid custom section: name ${name} already exists`));
    total += c.data.length + utf8Length(name);
    if (total > limits.maxCustomSectionsBytes)
      return err(
        R,
        'InvalidCustomSection',
        T.custom(
          `Invalid custom sections: total size of the custom sections exceeds the maximum allowed: size ${total} bytes, allowed ${limits.maxCustomSectionsBytes} bytes`,
        ),
      );
    out.set(name, { visibility, content: c.data });
    if (out.size > limits.maxCustomSections) return err(R, 'TooManyCustomSections', T.tooManyCustom(out.size, limits.maxCustomSections));
  }
  return E.right(out);
};

// ---------------------------------------------------------------------------------------
// The whole check

const globalTypeName = (t: ValType): GlobalInfo['type'] | undefined =>
  t === VT.i32 ? 'i32' : t === VT.i64 ? 'i64' : t === VT.f32 ? 'f32' : t === VT.f64 ? 'f64' : t === VT.v128 ? 'v128' : undefined;

/**
 * Validates a canister module (raw or gzip) the way the replica does on install, and describes
 * it. The checks run in the replica's order; the first failure is the result.
 */
export const validateModule = (
  raw: Uint8Array,
  limitOverrides: Partial<ValidationLimits> = {},
): Either<WasmValidationError, ModuleInfo> => {
  const limits: ValidationLimits = { ...validationLimits, ...limitOverrides };
  // [EXE-WASM-FORMAT.1] container, size
  const dec = decodeWasm(raw, limits.wasmMaxSizeBytes);
  if (E.isLeft(dec)) return dec;
  const bytes = dec.right;
  // [EXE-WASM-LIMITS.1] the code section's size, from the section headers
  const cs = codeSectionSize(bytes);
  if (E.isLeft(cs)) return err('EXE-WASM-FORMAT.1', 'DecodingError', T.decoding(`Error finding code section: ${cs.left.message}`));
  if (cs.right > limits.maxCodeSectionBytes)
    return err('EXE-WASM-LIMITS.1', 'CodeSectionTooLarge', T.codeTooLarge(cs.right, limits.maxCodeSectionBytes));
  // [EXE-WASM-FORMAT.1] the engine: structure and types (V8), then the IC's feature set
  if (!WebAssembly.validate(bytes as BufferSource)) {
    let why = 'invalid module';
    try {
      new WebAssembly.Module(bytes as BufferSource);
    } catch (e) {
      why = (e as Error).message;
    }
    return err('EXE-WASM-FORMAT.1', 'WasmtimeValidation', T.wasmtime(why));
  }
  const decoded = decodeModule(bytes);
  if (E.isLeft(decoded)) {
    const e = decoded.left;
    if (e.feature !== undefined)
      return err('EXE-WASM-FORMAT.1', 'WasmtimeValidation', T.wasmtime(`${e.message}: the ${e.feature} proposal is not enabled`));
    return err('EXE-WASM-FORMAT.1', 'DecodingError', T.decoding(e.message));
  }
  const m = decoded.right;
  const memories = allMemories(m);
  if (memories.length > 1) return err('EXE-WASM-FORMAT.1', 'WasmtimeValidation', T.wasmtime('multiple memories: the multi-memory proposal is not enabled'));
  if (m.imports.some((i) => i.desc.kind === 'tag'))
    return err('EXE-WASM-FORMAT.1', 'WasmtimeValidation', T.wasmtime('tag import: the exceptions proposal is not enabled'));
  const stats: BodyStats[] = [];
  try {
    for (let i = 0; i < m.codes.length; i++) {
      const s = walkBody(m, i);
      if (s.feature !== undefined)
        return err('EXE-WASM-FORMAT.1', 'WasmtimeValidation', T.wasmtime(`function ${i} uses ${s.feature}, which the IC does not enable`));
      stats.push(s);
    }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    if (e.feature !== undefined)
      return err('EXE-WASM-FORMAT.1', 'WasmtimeValidation', T.wasmtime(`${e.message}: the ${e.feature} proposal is not enabled`));
    return err('EXE-WASM-FORMAT.1', 'DecodingError', T.decoding(e.message));
  }
  const mem = memories[0];
  const is64 = mem?.is64 ?? false;
  // [EXE-WASM-IMPORTS.1]
  const imps = validateImports(m, is64);
  if (E.isLeft(imps)) return imps;
  // [EXE-WASM-EXPORTS.1]
  const exps = validateExports(m, limits);
  if (E.isLeft(exps)) return exps;
  // [EXE-WASM-DATA.1] active segments: one constant of the memory's width
  const data = validateData(m, is64);
  if (E.isLeft(data)) return data;
  // [EXE-WASM-LIMITS.1] globals: count and types
  if (m.globals.length > limits.maxGlobals) return err('EXE-WASM-LIMITS.1', 'TooManyGlobals', T.tooManyGlobals(m.globals.length, limits.maxGlobals));
  for (const g of m.globals)
    if (globalTypeName(g.type.type) === undefined)
      return err('EXE-WASM-LIMITS.1', 'InvalidGlobalSection', T.global(`Unsupported global type: ${debugTypes([g.type.type]).slice(1, -1)}`));
  // [EXE-WASM-LIMITS.1] functions
  if (m.funcs.length > limits.maxFunctions)
    return err('EXE-WASM-LIMITS.1', 'TooManyFunctions', T.tooManyFunctions(m.funcs.length, limits.maxFunctions));
  // [EXE-WASM-LIMITS.1] function bodies: unsupported instructions, complexity, size
  let largest = 0;
  let maxComplexity = 0;
  for (let i = 0; i < stats.length; i++) {
    const s = stats[i]!;
    if (s.unsupported !== undefined)
      return err('EXE-WASM-LIMITS.1', 'UnsupportedWasmInstruction', T.unsupported(i, opName(s.unsupported)!));
    if (s.complexity > limits.maxFunctionComplexity)
      return err('EXE-WASM-LIMITS.1', 'FunctionComplexityTooHigh', T.complexity(i, s.complexity, limits.maxFunctionComplexity));
    if (s.size > limits.maxFunctionInstructions)
      return err('EXE-WASM-LIMITS.1', 'FunctionTooLarge', T.functionTooLarge(i, s.size, limits.maxFunctionInstructions));
    largest = Math.max(largest, s.size);
    maxComplexity = Math.max(maxComplexity, s.complexity);
  }
  // [EXE-WASM-CUSTOM.1]
  const custom = validateCustom(m, limits);
  if (E.isLeft(custom)) return custom;
  // [EXE-WASM-DATA.1] at instrumentation: every active segment inside the initial memory
  const initialBytes = (mem?.min ?? 0n) * 65536n;
  const dataSegments: DataSegmentInfo[] = [];
  for (const d of m.datas) {
    if (d.mode !== 'active') {
      dataSegments.push({ mode: 'passive', offset: undefined, size: d.data.length });
      continue;
    }
    const offset = dataOffset(d.offset!);
    const end = offset + BigInt(d.data.length);
    if (end >= 2n ** 64n || end > initialBytes) return err('EXE-WASM-DATA.1', 'InvalidDataSegment', T.dataSegment(offset, d.data.length));
    dataSegments.push({ mode: 'active', offset, size: d.data.length });
  }
  // the description
  const memImported = m.imports.some((i) => i.desc.kind === 'memory');
  const tables = allTables(m);
  const t0 = tables[0];
  const globals: GlobalInfo[] = [
    ...m.imports.flatMap((i) => (i.desc.kind === 'global' ? [i.desc.global] : [])),
    ...m.globals.map((g) => g.type),
  ].map((g, index) => ({ index, type: globalTypeName(g.type)!, mutable: g.mutable }));
  return E.right({
    bytes,
    module: m,
    memory: mem === undefined ? undefined : { is64: mem.is64, initial: mem.min, maximum: mem.max, imported: memImported },
    table:
      t0 === undefined
        ? undefined
        : {
            is64: t0.limits.is64,
            refType: t0.refType === VT.funcref ? 'funcref' : 'externref',
            initial: t0.limits.min,
            maximum: t0.limits.max,
            imported: m.imports.some((i) => i.desc.kind === 'table'),
          },
    exports: exps.right.methods,
    systemExports: exps.right.system,
    customSections: custom.right,
    globals,
    dataSegments,
    ic0Imports: imps.right,
    hasStart: m.start !== undefined,
    largestFunctionInstructionCount: largest,
    maxComplexity,
  });
};
