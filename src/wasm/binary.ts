/**
 * The WebAssembly binary format, as far as the IC's module layer needs it: a decoder of every
 * section into a plain module record, an encoder back to bytes, LEB128, and an instruction
 * walker over function bodies (and constant expressions) that yields each instruction's
 * opcode, its immediates and its byte span.
 *
 * Coverage: MVP, sign extension, saturating float-to-int, bulk memory, reference types
 * (funcref/externref), multi-value, memory64 and table64 (64-bit limits, memarg offsets as u64),
 * multi-memory memargs (memory index flag, bit 6 of the alignment field), SIMD (every 0xFD
 * opcode with its immediates, relaxed SIMD included so that it can be recognised and rejected)
 * and tail calls (`return_call`, `return_call_indirect`: parsed here, rejected by validation).
 * Exceptions, threads (0xFE), GC and typed function references (0xFB, typed reference types,
 * non-function types) are not decoded: they raise a `DecodeError` naming the feature, which
 * validation reports as the engine's rejection (the IC's Wasmtime configuration disables them).
 *
 * Hand-written on purpose: no maintained JavaScript library decodes and re-encodes Wasm at the
 * byte level with memory64, multi-memory and SIMD while exposing each instruction's bytes, which
 * the instrumentation needs to copy every untouched instruction verbatim (wabt.js re-prints
 * through its own IR and lacks multi-memory; binaryen.js re-optimizes). The rest of icspec's
 * dependencies are listed in README.md.
 *
 * Internally the readers throw `DecodeError`; the exported entry points (`decodeModule`,
 * `readInstructions`) catch it and return an `Either`, so no exception leaves this module.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';

// ---------------------------------------------------------------------------------------
// Errors

/** A malformed or unsupported binary. `feature` is set when the construct is well-formed but
 * belongs to a proposal the IC does not enable (exceptions, threads, GC, ...). */
export class DecodeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly feature?: string,
  ) {
    super(message);
  }
}

const fail = (msg: string, at: number, feature?: string): never => {
  throw new DecodeError(msg, at, feature);
};

// ---------------------------------------------------------------------------------------
// Value types

/** Value type codes as they appear in the binary. */
export const VT = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
} as const;
export type ValType = number;

export const valTypeName = (t: ValType): string => {
  switch (t) {
    case VT.i32:
      return 'i32';
    case VT.i64:
      return 'i64';
    case VT.f32:
      return 'f32';
    case VT.f64:
      return 'f64';
    case VT.v128:
      return 'v128';
    case VT.funcref:
      return 'funcref';
    case VT.externref:
      return 'externref';
    default:
      return `0x${t.toString(16)}`;
  }
};

const isNumType = (b: number): boolean => b === 0x7f || b === 0x7e || b === 0x7d || b === 0x7c || b === 0x7b;
const isRefType = (b: number): boolean => b === 0x70 || b === 0x6f;

// ---------------------------------------------------------------------------------------
// Reading

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8enc = new TextEncoder();

/** A cursor over a byte array: LEB128 (u32/s32/s33/s64/u64), fixed-width numbers, names. */
export class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos = 0,
    public end = buf.length,
  ) {}

  eof(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) fail('unexpected end of input', this.pos);
    return this.buf[this.pos++]!;
  }

  /** Unsigned LEB128, at most 5 bytes, value < 2^32. */
  u32(): number {
    const at = this.pos;
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      if (shift === 28) {
        if ((b & 0x70) !== 0 || (b & 0x80) !== 0) fail('invalid u32 LEB128', at);
        return result + (b & 0x7f) * 2 ** 28;
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  /** Signed LEB128 i32 (as a JS number in [-2^31, 2^31)). */
  s32(): number {
    const at = this.pos;
    let result = 0;
    let shift = 0;
    let b: number;
    for (;;) {
      b = this.u8();
      if (shift === 28) {
        const top = b & 0x7f;
        // the 4 unused bits must be a sign extension of bit 3
        const sign = top & 0x08 ? 0x70 : 0;
        if ((b & 0x80) !== 0 || (top & 0x70) !== sign) fail('invalid s32 LEB128', at);
        return result | (top << 28);
      }
      result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (shift < 32 && (b & 0x40) !== 0) result |= -1 << shift;
    return result | 0;
  }

  /** Signed LEB128 s33 (block types): a JS number. */
  s33(): number {
    const v = this.s64();
    if (v < -(2n ** 32n) || v >= 2n ** 32n) fail('invalid s33 LEB128', this.pos);
    return Number(v);
  }

  /** Signed LEB128 i64 as a bigint. */
  s64(): bigint {
    const at = this.pos;
    let b = this.u8();
    if ((b & 0x80) === 0) return BigInt((b << 25) >> 25); // one byte: the common case
    let result = BigInt(b & 0x7f);
    let shift = 7n;
    for (let i = 1; ; i++) {
      b = this.u8();
      if (i === 9) {
        // 10th byte: only bit 0 is significant, the rest must sign-extend it
        if ((b & 0x80) !== 0 || (b !== 0 && b !== 0x7f)) fail('invalid s64 LEB128', at);
        result |= BigInt(b & 1) << 63n;
        return BigInt.asIntN(64, result);
      }
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    if ((b & 0x40) !== 0) result -= 1n << shift;
    return BigInt.asIntN(64, result);
  }

  /** Unsigned LEB128 u64 as a bigint. */
  u64(): bigint {
    const at = this.pos;
    let b = this.u8();
    if ((b & 0x80) === 0) return BigInt(b);
    let result = BigInt(b & 0x7f);
    let shift = 7n;
    for (let i = 1; ; i++) {
      b = this.u8();
      if (i === 9) {
        if ((b & 0xfe) !== 0) fail('invalid u64 LEB128', at);
        return result | (BigInt(b) << 63n);
      }
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return result;
    }
  }

  u32le(): number {
    if (this.pos + 4 > this.end) fail('unexpected end of input', this.pos);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  u64le(): bigint {
    const lo = this.u32le();
    const hi = this.u32le();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) fail('unexpected end of input', this.pos);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  name(): string {
    const n = this.u32();
    const at = this.pos;
    const b = this.bytes(n);
    try {
      return utf8.decode(b);
    } catch {
      return fail('malformed UTF-8 name', at);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Writing

/** A growable byte buffer with the encoders matching `Reader`. */
export class Writer {
  private buf: Uint8Array;
  len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  u8(b: number): this {
    this.ensure(1);
    this.buf[this.len++] = b;
    return this;
  }

  u32(v: number): this {
    this.ensure(5);
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.buf[this.len++] = b;
    } while (x !== 0);
    return this;
  }

  s32(v: number): this {
    this.ensure(5);
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) {
        this.buf[this.len++] = b;
        return this;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  s64(v: bigint): this {
    this.ensure(10);
    let x = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      if ((x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0)) {
        this.buf[this.len++] = b;
        return this;
      }
      this.buf[this.len++] = b | 0x80;
    }
  }

  u64(v: bigint): this {
    this.ensure(10);
    let x = BigInt.asUintN(64, v);
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      this.buf[this.len++] = b;
    } while (x !== 0n);
    return this;
  }

  /** A u32 LEB128 padded to exactly 5 bytes (for size fields patched afterwards). */
  u32padded(v: number): this {
    this.ensure(5);
    let x = v >>> 0;
    for (let i = 0; i < 4; i++) {
      this.buf[this.len++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.len++] = x & 0x7f;
    return this;
  }

  patchU32padded(at: number, v: number): void {
    let x = v >>> 0;
    for (let i = 0; i < 4; i++) {
      this.buf[at + i] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[at + 4] = x & 0x7f;
  }

  u32le(v: number): this {
    this.ensure(4);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 24) & 0xff;
    return this;
  }

  u64le(v: bigint): this {
    const x = BigInt.asUintN(64, v);
    this.u32le(Number(x & 0xffffffffn));
    return this.u32le(Number(x >> 32n));
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  name(s: string): this {
    const b = utf8enc.encode(s);
    this.u32(b.length);
    return this.bytes(b);
  }

  /** Writes `u32(len(content)) content` where content is produced by `f`. */
  sized(f: (w: Writer) => void): this {
    const inner = new Writer(64);
    f(inner);
    const b = inner.finish();
    this.u32(b.length);
    return this.bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---------------------------------------------------------------------------------------
// Opcodes: a dense code per instruction
//
// A single-byte opcode b is the code b; `0xFC n` is 0x100 + n; `0xFD n` is 0x200 + n.

export const PREFIX_FC = 0x100;
export const PREFIX_FD = 0x200;
export const OPCODE_SPACE = 0x400;

/** How an instruction's immediates are encoded. */
export const Imm = {
  None: 0,
  BlockType: 1,
  Label: 2,
  BrTable: 3,
  Func: 4,
  CallIndirect: 5,
  Local: 6,
  Global: 7,
  Table: 8,
  MemArg: 9,
  MemIdx: 10,
  I32: 11,
  I64: 12,
  F32: 13,
  F64: 14,
  RefNull: 15,
  SelectT: 16,
  MemInit: 17,
  Data: 18,
  MemCopy: 19,
  TableInit: 20,
  Elem: 21,
  TableCopy: 22,
  V128: 23,
  Shuffle: 24,
  Lane: 25,
  MemArgLane: 26,
} as const;
export type ImmKind = (typeof Imm)[keyof typeof Imm];

interface OpInfo {
  readonly name: string;
  readonly imm: ImmKind;
}

const OPS: (OpInfo | undefined)[] = new Array<OpInfo | undefined>(OPCODE_SPACE).fill(undefined);
const def = (code: number, name: string, imm: ImmKind = Imm.None): void => {
  OPS[code] = { name, imm };
};

// control
def(0x00, 'unreachable');
def(0x01, 'nop');
def(0x02, 'block', Imm.BlockType);
def(0x03, 'loop', Imm.BlockType);
def(0x04, 'if', Imm.BlockType);
def(0x05, 'else');
def(0x0b, 'end');
def(0x0c, 'br', Imm.Label);
def(0x0d, 'br_if', Imm.Label);
def(0x0e, 'br_table', Imm.BrTable);
def(0x0f, 'return');
def(0x10, 'call', Imm.Func);
def(0x11, 'call_indirect', Imm.CallIndirect);
def(0x12, 'return_call', Imm.Func);
def(0x13, 'return_call_indirect', Imm.CallIndirect);
// parametric
def(0x1a, 'drop');
def(0x1b, 'select');
def(0x1c, 'select_t', Imm.SelectT); // `select (result t)`; named apart from the untyped select
// variables
def(0x20, 'local.get', Imm.Local);
def(0x21, 'local.set', Imm.Local);
def(0x22, 'local.tee', Imm.Local);
def(0x23, 'global.get', Imm.Global);
def(0x24, 'global.set', Imm.Global);
def(0x25, 'table.get', Imm.Table);
def(0x26, 'table.set', Imm.Table);
// memory
[
  'i32.load',
  'i64.load',
  'f32.load',
  'f64.load',
  'i32.load8_s',
  'i32.load8_u',
  'i32.load16_s',
  'i32.load16_u',
  'i64.load8_s',
  'i64.load8_u',
  'i64.load16_s',
  'i64.load16_u',
  'i64.load32_s',
  'i64.load32_u',
  'i32.store',
  'i64.store',
  'f32.store',
  'f64.store',
  'i32.store8',
  'i32.store16',
  'i64.store8',
  'i64.store16',
  'i64.store32',
].forEach((n, i) => def(0x28 + i, n, Imm.MemArg));
def(0x3f, 'memory.size', Imm.MemIdx);
def(0x40, 'memory.grow', Imm.MemIdx);
def(0x41, 'i32.const', Imm.I32);
def(0x42, 'i64.const', Imm.I64);
def(0x43, 'f32.const', Imm.F32);
def(0x44, 'f64.const', Imm.F64);
// numeric 0x45..0xc4
[
  'i32.eqz', 'i32.eq', 'i32.ne', 'i32.lt_s', 'i32.lt_u', 'i32.gt_s', 'i32.gt_u', 'i32.le_s', 'i32.le_u', 'i32.ge_s', 'i32.ge_u',
  'i64.eqz', 'i64.eq', 'i64.ne', 'i64.lt_s', 'i64.lt_u', 'i64.gt_s', 'i64.gt_u', 'i64.le_s', 'i64.le_u', 'i64.ge_s', 'i64.ge_u',
  'f32.eq', 'f32.ne', 'f32.lt', 'f32.gt', 'f32.le', 'f32.ge',
  'f64.eq', 'f64.ne', 'f64.lt', 'f64.gt', 'f64.le', 'f64.ge',
  'i32.clz', 'i32.ctz', 'i32.popcnt', 'i32.add', 'i32.sub', 'i32.mul', 'i32.div_s', 'i32.div_u', 'i32.rem_s', 'i32.rem_u',
  'i32.and', 'i32.or', 'i32.xor', 'i32.shl', 'i32.shr_s', 'i32.shr_u', 'i32.rotl', 'i32.rotr',
  'i64.clz', 'i64.ctz', 'i64.popcnt', 'i64.add', 'i64.sub', 'i64.mul', 'i64.div_s', 'i64.div_u', 'i64.rem_s', 'i64.rem_u',
  'i64.and', 'i64.or', 'i64.xor', 'i64.shl', 'i64.shr_s', 'i64.shr_u', 'i64.rotl', 'i64.rotr',
  'f32.abs', 'f32.neg', 'f32.ceil', 'f32.floor', 'f32.trunc', 'f32.nearest', 'f32.sqrt', 'f32.add', 'f32.sub', 'f32.mul',
  'f32.div', 'f32.min', 'f32.max', 'f32.copysign',
  'f64.abs', 'f64.neg', 'f64.ceil', 'f64.floor', 'f64.trunc', 'f64.nearest', 'f64.sqrt', 'f64.add', 'f64.sub', 'f64.mul',
  'f64.div', 'f64.min', 'f64.max', 'f64.copysign',
  'i32.wrap_i64', 'i32.trunc_f32_s', 'i32.trunc_f32_u', 'i32.trunc_f64_s', 'i32.trunc_f64_u',
  'i64.extend_i32_s', 'i64.extend_i32_u', 'i64.trunc_f32_s', 'i64.trunc_f32_u', 'i64.trunc_f64_s', 'i64.trunc_f64_u',
  'f32.convert_i32_s', 'f32.convert_i32_u', 'f32.convert_i64_s', 'f32.convert_i64_u', 'f32.demote_f64',
  'f64.convert_i32_s', 'f64.convert_i32_u', 'f64.convert_i64_s', 'f64.convert_i64_u', 'f64.promote_f32',
  'i32.reinterpret_f32', 'i64.reinterpret_f64', 'f32.reinterpret_i32', 'f64.reinterpret_i64',
  'i32.extend8_s', 'i32.extend16_s', 'i64.extend8_s', 'i64.extend16_s', 'i64.extend32_s',
].forEach((n, i) => def(0x45 + i, n));
// reference types
def(0xd0, 'ref.null', Imm.RefNull);
def(0xd1, 'ref.is_null');
def(0xd2, 'ref.func', Imm.Func);
// 0xFC: saturating truncation, bulk memory, tables
[
  'i32.trunc_sat_f32_s', 'i32.trunc_sat_f32_u', 'i32.trunc_sat_f64_s', 'i32.trunc_sat_f64_u',
  'i64.trunc_sat_f32_s', 'i64.trunc_sat_f32_u', 'i64.trunc_sat_f64_s', 'i64.trunc_sat_f64_u',
].forEach((n, i) => def(PREFIX_FC + i, n));
def(PREFIX_FC + 8, 'memory.init', Imm.MemInit);
def(PREFIX_FC + 9, 'data.drop', Imm.Data);
def(PREFIX_FC + 10, 'memory.copy', Imm.MemCopy);
def(PREFIX_FC + 11, 'memory.fill', Imm.MemIdx);
def(PREFIX_FC + 12, 'table.init', Imm.TableInit);
def(PREFIX_FC + 13, 'elem.drop', Imm.Elem);
def(PREFIX_FC + 14, 'table.copy', Imm.TableCopy);
def(PREFIX_FC + 15, 'table.grow', Imm.Table);
def(PREFIX_FC + 16, 'table.size', Imm.Table);
def(PREFIX_FC + 17, 'table.fill', Imm.Table);
// 0xFD: SIMD (the fixed-width SIMD proposal, then relaxed SIMD at 0x100..0x113)
const simd: [number, string, ImmKind?][] = [
  [0x00, 'v128.load', Imm.MemArg], [0x01, 'v128.load8x8_s', Imm.MemArg], [0x02, 'v128.load8x8_u', Imm.MemArg],
  [0x03, 'v128.load16x4_s', Imm.MemArg], [0x04, 'v128.load16x4_u', Imm.MemArg], [0x05, 'v128.load32x2_s', Imm.MemArg],
  [0x06, 'v128.load32x2_u', Imm.MemArg], [0x07, 'v128.load8_splat', Imm.MemArg], [0x08, 'v128.load16_splat', Imm.MemArg],
  [0x09, 'v128.load32_splat', Imm.MemArg], [0x0a, 'v128.load64_splat', Imm.MemArg], [0x0b, 'v128.store', Imm.MemArg],
  [0x0c, 'v128.const', Imm.V128], [0x0d, 'i8x16.shuffle', Imm.Shuffle], [0x0e, 'i8x16.swizzle'],
  [0x0f, 'i8x16.splat'], [0x10, 'i16x8.splat'], [0x11, 'i32x4.splat'], [0x12, 'i64x2.splat'], [0x13, 'f32x4.splat'],
  [0x14, 'f64x2.splat'],
  [0x15, 'i8x16.extract_lane_s', Imm.Lane], [0x16, 'i8x16.extract_lane_u', Imm.Lane], [0x17, 'i8x16.replace_lane', Imm.Lane],
  [0x18, 'i16x8.extract_lane_s', Imm.Lane], [0x19, 'i16x8.extract_lane_u', Imm.Lane], [0x1a, 'i16x8.replace_lane', Imm.Lane],
  [0x1b, 'i32x4.extract_lane', Imm.Lane], [0x1c, 'i32x4.replace_lane', Imm.Lane], [0x1d, 'i64x2.extract_lane', Imm.Lane],
  [0x1e, 'i64x2.replace_lane', Imm.Lane], [0x1f, 'f32x4.extract_lane', Imm.Lane], [0x20, 'f32x4.replace_lane', Imm.Lane],
  [0x21, 'f64x2.extract_lane', Imm.Lane], [0x22, 'f64x2.replace_lane', Imm.Lane],
  [0x23, 'i8x16.eq'], [0x24, 'i8x16.ne'], [0x25, 'i8x16.lt_s'], [0x26, 'i8x16.lt_u'], [0x27, 'i8x16.gt_s'],
  [0x28, 'i8x16.gt_u'], [0x29, 'i8x16.le_s'], [0x2a, 'i8x16.le_u'], [0x2b, 'i8x16.ge_s'], [0x2c, 'i8x16.ge_u'],
  [0x2d, 'i16x8.eq'], [0x2e, 'i16x8.ne'], [0x2f, 'i16x8.lt_s'], [0x30, 'i16x8.lt_u'], [0x31, 'i16x8.gt_s'],
  [0x32, 'i16x8.gt_u'], [0x33, 'i16x8.le_s'], [0x34, 'i16x8.le_u'], [0x35, 'i16x8.ge_s'], [0x36, 'i16x8.ge_u'],
  [0x37, 'i32x4.eq'], [0x38, 'i32x4.ne'], [0x39, 'i32x4.lt_s'], [0x3a, 'i32x4.lt_u'], [0x3b, 'i32x4.gt_s'],
  [0x3c, 'i32x4.gt_u'], [0x3d, 'i32x4.le_s'], [0x3e, 'i32x4.le_u'], [0x3f, 'i32x4.ge_s'], [0x40, 'i32x4.ge_u'],
  [0x41, 'f32x4.eq'], [0x42, 'f32x4.ne'], [0x43, 'f32x4.lt'], [0x44, 'f32x4.gt'], [0x45, 'f32x4.le'], [0x46, 'f32x4.ge'],
  [0x47, 'f64x2.eq'], [0x48, 'f64x2.ne'], [0x49, 'f64x2.lt'], [0x4a, 'f64x2.gt'], [0x4b, 'f64x2.le'], [0x4c, 'f64x2.ge'],
  [0x4d, 'v128.not'], [0x4e, 'v128.and'], [0x4f, 'v128.andnot'], [0x50, 'v128.or'], [0x51, 'v128.xor'],
  [0x52, 'v128.bitselect'], [0x53, 'v128.any_true'],
  [0x54, 'v128.load8_lane', Imm.MemArgLane], [0x55, 'v128.load16_lane', Imm.MemArgLane],
  [0x56, 'v128.load32_lane', Imm.MemArgLane], [0x57, 'v128.load64_lane', Imm.MemArgLane],
  [0x58, 'v128.store8_lane', Imm.MemArgLane], [0x59, 'v128.store16_lane', Imm.MemArgLane],
  [0x5a, 'v128.store32_lane', Imm.MemArgLane], [0x5b, 'v128.store64_lane', Imm.MemArgLane],
  [0x5c, 'v128.load32_zero', Imm.MemArg], [0x5d, 'v128.load64_zero', Imm.MemArg],
  [0x5e, 'f32x4.demote_f64x2_zero'], [0x5f, 'f64x2.promote_low_f32x4'],
  [0x60, 'i8x16.abs'], [0x61, 'i8x16.neg'], [0x62, 'i8x16.popcnt'], [0x63, 'i8x16.all_true'], [0x64, 'i8x16.bitmask'],
  [0x65, 'i8x16.narrow_i16x8_s'], [0x66, 'i8x16.narrow_i16x8_u'],
  [0x67, 'f32x4.ceil'], [0x68, 'f32x4.floor'], [0x69, 'f32x4.trunc'], [0x6a, 'f32x4.nearest'],
  [0x6b, 'i8x16.shl'], [0x6c, 'i8x16.shr_s'], [0x6d, 'i8x16.shr_u'], [0x6e, 'i8x16.add'], [0x6f, 'i8x16.add_sat_s'],
  [0x70, 'i8x16.add_sat_u'], [0x71, 'i8x16.sub'], [0x72, 'i8x16.sub_sat_s'], [0x73, 'i8x16.sub_sat_u'],
  [0x74, 'f64x2.ceil'], [0x75, 'f64x2.floor'],
  [0x76, 'i8x16.min_s'], [0x77, 'i8x16.min_u'], [0x78, 'i8x16.max_s'], [0x79, 'i8x16.max_u'],
  [0x7a, 'f64x2.trunc'], [0x7b, 'i8x16.avgr_u'],
  [0x7c, 'i16x8.extadd_pairwise_i8x16_s'], [0x7d, 'i16x8.extadd_pairwise_i8x16_u'],
  [0x7e, 'i32x4.extadd_pairwise_i16x8_s'], [0x7f, 'i32x4.extadd_pairwise_i16x8_u'],
  [0x80, 'i16x8.abs'], [0x81, 'i16x8.neg'], [0x82, 'i16x8.q15mulr_sat_s'], [0x83, 'i16x8.all_true'],
  [0x84, 'i16x8.bitmask'], [0x85, 'i16x8.narrow_i32x4_s'], [0x86, 'i16x8.narrow_i32x4_u'],
  [0x87, 'i16x8.extend_low_i8x16_s'], [0x88, 'i16x8.extend_high_i8x16_s'], [0x89, 'i16x8.extend_low_i8x16_u'],
  [0x8a, 'i16x8.extend_high_i8x16_u'], [0x8b, 'i16x8.shl'], [0x8c, 'i16x8.shr_s'], [0x8d, 'i16x8.shr_u'],
  [0x8e, 'i16x8.add'], [0x8f, 'i16x8.add_sat_s'], [0x90, 'i16x8.add_sat_u'], [0x91, 'i16x8.sub'],
  [0x92, 'i16x8.sub_sat_s'], [0x93, 'i16x8.sub_sat_u'], [0x94, 'f64x2.nearest'], [0x95, 'i16x8.mul'],
  [0x96, 'i16x8.min_s'], [0x97, 'i16x8.min_u'], [0x98, 'i16x8.max_s'], [0x99, 'i16x8.max_u'], [0x9b, 'i16x8.avgr_u'],
  [0x9c, 'i16x8.extmul_low_i8x16_s'], [0x9d, 'i16x8.extmul_high_i8x16_s'], [0x9e, 'i16x8.extmul_low_i8x16_u'],
  [0x9f, 'i16x8.extmul_high_i8x16_u'],
  [0xa0, 'i32x4.abs'], [0xa1, 'i32x4.neg'], [0xa3, 'i32x4.all_true'], [0xa4, 'i32x4.bitmask'],
  [0xa7, 'i32x4.extend_low_i16x8_s'], [0xa8, 'i32x4.extend_high_i16x8_s'], [0xa9, 'i32x4.extend_low_i16x8_u'],
  [0xaa, 'i32x4.extend_high_i16x8_u'], [0xab, 'i32x4.shl'], [0xac, 'i32x4.shr_s'], [0xad, 'i32x4.shr_u'],
  [0xae, 'i32x4.add'], [0xb1, 'i32x4.sub'], [0xb5, 'i32x4.mul'], [0xb6, 'i32x4.min_s'], [0xb7, 'i32x4.min_u'],
  [0xb8, 'i32x4.max_s'], [0xb9, 'i32x4.max_u'], [0xba, 'i32x4.dot_i16x8_s'],
  [0xbc, 'i32x4.extmul_low_i16x8_s'], [0xbd, 'i32x4.extmul_high_i16x8_s'], [0xbe, 'i32x4.extmul_low_i16x8_u'],
  [0xbf, 'i32x4.extmul_high_i16x8_u'],
  [0xc0, 'i64x2.abs'], [0xc1, 'i64x2.neg'], [0xc3, 'i64x2.all_true'], [0xc4, 'i64x2.bitmask'],
  [0xc7, 'i64x2.extend_low_i32x4_s'], [0xc8, 'i64x2.extend_high_i32x4_s'], [0xc9, 'i64x2.extend_low_i32x4_u'],
  [0xca, 'i64x2.extend_high_i32x4_u'], [0xcb, 'i64x2.shl'], [0xcc, 'i64x2.shr_s'], [0xcd, 'i64x2.shr_u'],
  [0xce, 'i64x2.add'], [0xd1, 'i64x2.sub'], [0xd5, 'i64x2.mul'], [0xd6, 'i64x2.eq'], [0xd7, 'i64x2.ne'],
  [0xd8, 'i64x2.lt_s'], [0xd9, 'i64x2.gt_s'], [0xda, 'i64x2.le_s'], [0xdb, 'i64x2.ge_s'],
  [0xdc, 'i64x2.extmul_low_i32x4_s'], [0xdd, 'i64x2.extmul_high_i32x4_s'], [0xde, 'i64x2.extmul_low_i32x4_u'],
  [0xdf, 'i64x2.extmul_high_i32x4_u'],
  [0xe0, 'f32x4.abs'], [0xe1, 'f32x4.neg'], [0xe3, 'f32x4.sqrt'], [0xe4, 'f32x4.add'], [0xe5, 'f32x4.sub'],
  [0xe6, 'f32x4.mul'], [0xe7, 'f32x4.div'], [0xe8, 'f32x4.min'], [0xe9, 'f32x4.max'], [0xea, 'f32x4.pmin'],
  [0xeb, 'f32x4.pmax'],
  [0xec, 'f64x2.abs'], [0xed, 'f64x2.neg'], [0xef, 'f64x2.sqrt'], [0xf0, 'f64x2.add'], [0xf1, 'f64x2.sub'],
  [0xf2, 'f64x2.mul'], [0xf3, 'f64x2.div'], [0xf4, 'f64x2.min'], [0xf5, 'f64x2.max'], [0xf6, 'f64x2.pmin'],
  [0xf7, 'f64x2.pmax'],
  [0xf8, 'i32x4.trunc_sat_f32x4_s'], [0xf9, 'i32x4.trunc_sat_f32x4_u'], [0xfa, 'f32x4.convert_i32x4_s'],
  [0xfb, 'f32x4.convert_i32x4_u'], [0xfc, 'i32x4.trunc_sat_f64x2_s_zero'], [0xfd, 'i32x4.trunc_sat_f64x2_u_zero'],
  [0xfe, 'f64x2.convert_low_i32x4_s'], [0xff, 'f64x2.convert_low_i32x4_u'],
  // relaxed SIMD
  [0x100, 'i8x16.relaxed_swizzle'], [0x101, 'i32x4.relaxed_trunc_f32x4_s'], [0x102, 'i32x4.relaxed_trunc_f32x4_u'],
  [0x103, 'i32x4.relaxed_trunc_f64x2_s_zero'], [0x104, 'i32x4.relaxed_trunc_f64x2_u_zero'],
  [0x105, 'f32x4.relaxed_madd'], [0x106, 'f32x4.relaxed_nmadd'], [0x107, 'f64x2.relaxed_madd'],
  [0x108, 'f64x2.relaxed_nmadd'], [0x109, 'i8x16.relaxed_laneselect'], [0x10a, 'i16x8.relaxed_laneselect'],
  [0x10b, 'i32x4.relaxed_laneselect'], [0x10c, 'i64x2.relaxed_laneselect'], [0x10d, 'f32x4.relaxed_min'],
  [0x10e, 'f32x4.relaxed_max'], [0x10f, 'f64x2.relaxed_min'], [0x110, 'f64x2.relaxed_max'],
  [0x111, 'i16x8.relaxed_q15mulr_s'], [0x112, 'i16x8.relaxed_dot_i8x16_i7x16_s'],
  [0x113, 'i32x4.relaxed_dot_i8x16_i7x16_add_s'],
];
for (const [n, name, imm] of simd) def(PREFIX_FD + n, name, imm ?? Imm.None);

/** The text-format name of an opcode code, or undefined for an unknown code. */
export const opName = (op: number): string | undefined => OPS[op]?.name;
export const opImm = (op: number): ImmKind | undefined => OPS[op]?.imm;
const byName = new Map<string, number>();
OPS.forEach((o, i) => {
  if (o !== undefined && !byName.has(o.name)) byName.set(o.name, i);
});
/** The opcode code of a text-format name (the untyped `select` for "select"). */
export const opByName = (name: string): number | undefined => byName.get(name);
/** Every known opcode code. */
export const allOpcodes = (): number[] => OPS.flatMap((o, i) => (o === undefined ? [] : [i]));
/** Relaxed SIMD (0xFD 0x100..0x113). */
export const isRelaxedSimd = (op: number): boolean => op >= PREFIX_FD + 0x100 && op < PREFIX_FD + 0x200;

// Named opcodes used by the instrumentation and validation
export const OP = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  call_indirect: 0x11,
  return_call: 0x12,
  return_call_indirect: 0x13,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,
  table_get: 0x25,
  table_set: 0x26,
  i32_load8_u: 0x2d,
  i32_load: 0x28,
  i32_store: 0x36,
  i32_store8: 0x3a,
  memory_size: 0x3f,
  memory_grow: 0x40,
  i32_const: 0x41,
  i64_const: 0x42,
  f32_const: 0x43,
  f64_const: 0x44,
  i32_eqz: 0x45,
  i32_ne: 0x47,
  i32_lt_u: 0x49,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_lt_u: 0x54,
  i64_gt_s: 0x55,
  i64_gt_u: 0x56,
  i64_le_u: 0x58,
  f32_eq: 0x5b,
  f64_eq: 0x61,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_shl: 0x74,
  i32_shr_u: 0x76,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_gt_u: 0x4b,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_shl: 0x86,
  i64_shr_u: 0x88,
  i64_and: 0x83,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_u: 0xad,
  ref_null: 0xd0,
  ref_func: 0xd2,
  memory_init: PREFIX_FC + 8,
  data_drop: PREFIX_FC + 9,
  memory_copy: PREFIX_FC + 10,
  memory_fill: PREFIX_FC + 11,
  table_init: PREFIX_FC + 12,
  elem_drop: PREFIX_FC + 13,
  table_copy: PREFIX_FC + 14,
  table_grow: PREFIX_FC + 15,
  table_size: PREFIX_FC + 16,
  table_fill: PREFIX_FC + 17,
  v128_const: PREFIX_FD + 0x0c,
  v128_bitselect: PREFIX_FD + 0x52,
  f32x4_eq: PREFIX_FD + 0x41,
  f64x2_eq: PREFIX_FD + 0x47,
} as const;

/** Encodes an opcode code (with its prefix byte and LEB sub-opcode when prefixed). */
export const writeOp = (w: Writer, op: number): void => {
  if (op < 0x100) w.u8(op);
  else if (op < PREFIX_FD) w.u8(0xfc).u32(op - PREFIX_FC);
  else w.u8(0xfd).u32(op - PREFIX_FD);
};

// ---------------------------------------------------------------------------------------
// The instruction walker

/**
 * Walks the instructions of an expression (a function body after its locals, or a constant
 * expression) up to the `end` that closes it. After each `next()` the public fields describe
 * the instruction just read: `op`, `start`, `end` (its byte span) and the immediates of its
 * kind. The object is reused between instructions (no allocation per instruction).
 */
export class InstrReader {
  private readonly r: Reader;
  private depth = 0;
  done = false;
  op = 0;
  start = 0;
  end = 0;
  /** first u32 immediate: label, function, local, global, table, type, elem, data, memory, lane */
  a = 0;
  /** second u32 immediate: the table of call_indirect, the memory of memory.init, ... */
  b = 0;
  /** memarg: alignment exponent, memory index, offset (u64) */
  align = 0;
  mem = 0;
  offset = 0n;
  /** constants */
  i32 = 0;
  i64 = 0n;
  f32 = 0;
  f64 = 0n;
  /** v128.const bytes or i8x16.shuffle lanes (views into the input) */
  v128: Uint8Array = new Uint8Array(0);
  /** br_table: the labels, default last */
  labels: number[] = [];
  /** typed select: the result types */
  types: number[] = [];
  /** block type: -64 for none, a negative value type code (e.g. -1 for i32), or a type index */
  blockType = -64;

  constructor(buf: Uint8Array, start: number, end: number) {
    this.r = new Reader(buf, start, end);
  }

  get pos(): number {
    return this.r.pos;
  }

  /** Positions the reader at an instruction boundary (to re-read one instruction's immediates). */
  seek(pos: number): void {
    this.r.pos = pos;
    this.done = false;
    this.depth = 0;
  }

  /** Reads the next instruction; false after the closing `end` has been read. */
  next(): boolean {
    if (this.done) return false;
    const r = this.r;
    this.start = r.pos;
    const b0 = r.u8();
    let op = b0;
    if (b0 === 0xfc) op = PREFIX_FC + r.u32();
    else if (b0 === 0xfd) op = PREFIX_FD + r.u32();
    else if (b0 === 0xfe) fail('atomic instruction (threads proposal)', this.start, 'threads');
    else if (b0 === 0xfb) fail('GC instruction', this.start, 'gc');
    if (op >= OPCODE_SPACE) fail(`unknown opcode 0x${b0.toString(16)} ${op - (b0 === 0xfc ? PREFIX_FC : PREFIX_FD)}`, this.start);
    const info = OPS[op];
    if (info === undefined) {
      const feature =
        (op >= 0x06 && op <= 0x0a) || op === 0x18 || op === 0x19 || op === 0x1f
          ? 'exceptions'
          : op === 0x14 || op === 0x15 || (op >= 0xd3 && op <= 0xd6)
            ? 'function-references'
            : undefined;
      fail(`unknown or unsupported opcode ${describeOp(op)}`, this.start, feature);
    }
    this.op = op;
    switch (info!.imm) {
      case Imm.None:
        break;
      case Imm.BlockType: {
        const at = r.pos;
        const t = r.buf[at];
        if (t === 0x40) {
          r.pos++;
          this.blockType = -64;
        } else if (t !== undefined && (isNumType(t) || isRefType(t))) {
          r.pos++;
          this.blockType = t - 0x80;
        } else {
          const v = r.s33();
          if (v < 0) fail('unsupported block type', at, 'function-references');
          this.blockType = v;
        }
        this.depth++;
        break;
      }
      case Imm.Label:
      case Imm.Func:
      case Imm.Local:
      case Imm.Global:
      case Imm.Table:
      case Imm.Data:
      case Imm.Elem:
        this.a = r.u32();
        break;
      case Imm.MemIdx:
        this.a = r.u32();
        break;
      case Imm.BrTable: {
        const n = r.u32();
        const ls: number[] = new Array<number>(n + 1);
        for (let i = 0; i <= n; i++) ls[i] = r.u32();
        this.labels = ls;
        break;
      }
      case Imm.CallIndirect:
        this.a = r.u32();
        this.b = r.u32();
        break;
      case Imm.MemArg:
        this.memarg();
        break;
      case Imm.MemArgLane:
        this.memarg();
        this.a = r.u8();
        break;
      case Imm.I32:
        this.i32 = r.s32();
        break;
      case Imm.I64:
        this.i64 = r.s64();
        break;
      case Imm.F32:
        this.f32 = r.u32le();
        break;
      case Imm.F64:
        this.f64 = r.u64le();
        break;
      case Imm.RefNull: {
        const at = r.pos;
        const t = r.u8();
        if (!isRefType(t)) fail('unsupported heap type in ref.null', at, 'function-references');
        this.a = t;
        break;
      }
      case Imm.SelectT: {
        const n = r.u32();
        const ts: number[] = [];
        for (let i = 0; i < n; i++) ts.push(readValType(r));
        this.types = ts;
        break;
      }
      case Imm.MemInit:
        this.a = r.u32();
        this.b = r.u32();
        break;
      case Imm.MemCopy:
      case Imm.TableInit:
      case Imm.TableCopy:
        this.a = r.u32();
        this.b = r.u32();
        break;
      case Imm.V128:
      case Imm.Shuffle:
        this.v128 = r.bytes(16);
        break;
      case Imm.Lane:
        this.a = r.u8();
        break;
    }
    if (op === OP.end) {
      if (this.depth === 0) this.done = true;
      else this.depth--;
    }
    this.end = r.pos;
    return true;
  }

  private memarg(): void {
    const r = this.r;
    const flags = r.u32();
    if (flags & 0x40) {
      this.align = flags & ~0x40;
      this.mem = r.u32();
    } else {
      this.align = flags;
      this.mem = 0;
    }
    this.offset = r.u64();
  }
}

export const describeOp = (op: number): string =>
  op < 0x100 ? `0x${op.toString(16)}` : op < PREFIX_FD ? `0xfc ${op - PREFIX_FC}` : `0xfd ${op - PREFIX_FD}`;

/** One instruction as a plain record (for tests and tools; the instrumentation uses `InstrReader`). */
export interface Instr {
  readonly op: number;
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly imm: Readonly<Record<string, unknown>>;
}

const snapshot = (ir: InstrReader): Instr => {
  const kind = OPS[ir.op]!.imm;
  let imm: Record<string, unknown> = {};
  switch (kind) {
    case Imm.BlockType:
      imm = { blockType: ir.blockType };
      break;
    case Imm.Label:
    case Imm.Func:
    case Imm.Local:
    case Imm.Global:
    case Imm.Table:
    case Imm.Data:
    case Imm.Elem:
    case Imm.MemIdx:
    case Imm.Lane:
    case Imm.RefNull:
      imm = { index: ir.a };
      break;
    case Imm.BrTable:
      imm = { labels: ir.labels.slice(0, -1), default: ir.labels[ir.labels.length - 1] };
      break;
    case Imm.CallIndirect:
      imm = { type: ir.a, table: ir.b };
      break;
    case Imm.MemArg:
      imm = { align: ir.align, memory: ir.mem, offset: ir.offset };
      break;
    case Imm.MemArgLane:
      imm = { align: ir.align, memory: ir.mem, offset: ir.offset, lane: ir.a };
      break;
    case Imm.I32:
      imm = { value: ir.i32 };
      break;
    case Imm.I64:
      imm = { value: ir.i64 };
      break;
    case Imm.F32:
      imm = { bits: ir.f32 };
      break;
    case Imm.F64:
      imm = { bits: ir.f64 };
      break;
    case Imm.SelectT:
      imm = { types: ir.types };
      break;
    case Imm.MemInit:
      imm = { data: ir.a, memory: ir.b };
      break;
    case Imm.MemCopy:
      imm = { dst: ir.a, src: ir.b };
      break;
    case Imm.TableInit:
      imm = { elem: ir.a, table: ir.b };
      break;
    case Imm.TableCopy:
      imm = { dst: ir.a, src: ir.b };
      break;
    case Imm.V128:
    case Imm.Shuffle:
      imm = { bytes: ir.v128.slice() };
      break;
  }
  return { op: ir.op, name: OPS[ir.op]!.name, start: ir.start, end: ir.end, imm };
};

/** All instructions of the expression starting at `start` (through its closing `end`). */
export const readInstructions = (buf: Uint8Array, start: number, end = buf.length): Either<DecodeError, Instr[]> => {
  try {
    const ir = new InstrReader(buf, start, end);
    const out: Instr[] = [];
    while (ir.next()) out.push(snapshot(ir));
    return E.right(out);
  } catch (e) {
    if (e instanceof DecodeError) return E.left(e);
    throw e;
  }
};

// ---------------------------------------------------------------------------------------
// The module record

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** Limits of a memory or table. `flags` is the binary's flag byte (kept for re-encoding). */
export interface Limits {
  readonly flags: number;
  readonly min: bigint;
  readonly max: bigint | undefined;
  readonly is64: boolean;
  readonly shared: boolean;
}

export interface TableType {
  readonly refType: ValType;
  readonly limits: Limits;
}

export interface GlobalType {
  readonly type: ValType;
  readonly mutable: boolean;
}

export type ImportDesc =
  | { readonly kind: 'func'; readonly type: number }
  | { readonly kind: 'table'; readonly table: TableType }
  | { readonly kind: 'memory'; readonly limits: Limits }
  | { readonly kind: 'global'; readonly global: GlobalType }
  | { readonly kind: 'tag'; readonly type: number };

export interface Import {
  readonly module: string;
  readonly name: string;
  readonly desc: ImportDesc;
}

/** A constant expression: its bytes including the closing `end`. */
export type ConstExpr = Uint8Array;

export interface Global {
  readonly type: GlobalType;
  readonly init: ConstExpr;
}

export const EXTERNAL = { func: 0, table: 1, memory: 2, global: 3, tag: 4 } as const;
export type ExternalKind = (typeof EXTERNAL)[keyof typeof EXTERNAL];

export interface Export {
  readonly name: string;
  readonly kind: ExternalKind;
  readonly index: number;
}

export interface ElemSegment {
  /** the binary's flag (0..7), kept for re-encoding */
  readonly flags: number;
  readonly mode: 'active' | 'passive' | 'declarative';
  readonly table: number;
  readonly offset: ConstExpr | undefined;
  /** element kind 0x00 (funcref) for flags 1..3, or the reference type for 5..7 */
  readonly refType: ValType;
  /** function indices (flags 0..3) */
  readonly funcs: readonly number[] | undefined;
  /** element expressions (flags 4..7) */
  readonly exprs: readonly ConstExpr[] | undefined;
}

export interface DataSegment {
  readonly flags: number;
  readonly mode: 'active' | 'passive';
  readonly memory: number;
  readonly offset: ConstExpr | undefined;
  readonly data: Uint8Array;
}

export interface FuncBody {
  /** local declarations (count, type), in order */
  readonly locals: readonly { readonly count: number; readonly type: ValType }[];
  /** the whole module's bytes, and the span of the body's expression (after the locals, through its `end`) */
  readonly buf: Uint8Array;
  readonly codeStart: number;
  readonly codeEnd: number;
}

export interface CustomSection {
  readonly name: string;
  readonly data: Uint8Array;
  /** the id of the last non-custom section before it (0 when at the start) */
  readonly after: number;
}

/** A decoded module. Index spaces: imported entities come first. */
export interface WasmModule {
  readonly types: readonly FuncType[];
  readonly imports: readonly Import[];
  /** type index of each defined function */
  readonly funcs: readonly number[];
  readonly tables: readonly TableType[];
  readonly memories: readonly Limits[];
  readonly globals: readonly Global[];
  readonly exports: readonly Export[];
  readonly start: number | undefined;
  readonly elems: readonly ElemSegment[];
  readonly dataCount: number | undefined;
  readonly codes: readonly FuncBody[];
  readonly datas: readonly DataSegment[];
  readonly customs: readonly CustomSection[];
  /** the size in bytes of the code section's content (0 when absent) */
  readonly codeSectionSize: number;
  /** the ids of the non-custom sections in the order they appeared (tag = 13) */
  readonly sectionIds: readonly number[];
}

export const importedCount = (m: WasmModule, kind: ImportDesc['kind']): number => {
  let n = 0;
  for (const i of m.imports) if (i.desc.kind === kind) n++;
  return n;
};

/** The type of a function by its index in the function index space. */
export const funcTypeOf = (m: WasmModule, funcIndex: number): FuncType | undefined => {
  let k = 0;
  for (const i of m.imports) {
    if (i.desc.kind !== 'func') continue;
    if (k === funcIndex) return m.types[i.desc.type];
    k++;
  }
  const t = m.funcs[funcIndex - k];
  return t === undefined ? undefined : m.types[t];
};

/** All memories (imported first), all tables, all globals as types. */
export const allMemories = (m: WasmModule): Limits[] => [
  ...m.imports.flatMap((i) => (i.desc.kind === 'memory' ? [i.desc.limits] : [])),
  ...m.memories,
];
export const allTables = (m: WasmModule): TableType[] => [
  ...m.imports.flatMap((i) => (i.desc.kind === 'table' ? [i.desc.table] : [])),
  ...m.tables,
];
export const allGlobalTypes = (m: WasmModule): GlobalType[] => [
  ...m.imports.flatMap((i) => (i.desc.kind === 'global' ? [i.desc.global] : [])),
  ...m.globals.map((g) => g.type),
];

// ---------------------------------------------------------------------------------------
// Decoding

const readValType = (r: Reader): ValType => {
  const at = r.pos;
  const t = r.u8();
  if (isNumType(t) || isRefType(t)) return t;
  if (t === 0x63 || t === 0x64) return fail('typed function reference type', at, 'function-references');
  if (t === 0x69 || t === 0x74) return fail('exception reference type', at, 'exceptions');
  return fail(`unsupported value type 0x${t.toString(16)}`, at, 'gc');
};

const readRefType = (r: Reader): ValType => {
  const at = r.pos;
  const t = readValType(r);
  if (!isRefType(t)) fail('expected a reference type', at);
  return t;
};

const readLimits = (r: Reader, what: 'memory' | 'table'): Limits => {
  const at = r.pos;
  const flags = r.u8();
  if (flags & ~0x0f) fail(`invalid ${what} limits flags`, at);
  if (flags & 0x08) fail('custom page sizes', at, 'custom-page-sizes');
  const is64 = (flags & 0x04) !== 0;
  const shared = (flags & 0x02) !== 0;
  if (shared && what === 'memory') fail('shared memory (threads proposal)', at, 'threads');
  if (shared) fail('shared table', at, 'threads');
  const min = is64 ? r.u64() : BigInt(r.u32());
  const max = flags & 0x01 ? (is64 ? r.u64() : BigInt(r.u32())) : undefined;
  return { flags, min, max, is64, shared };
};

const readTableType = (r: Reader): TableType => {
  const at = r.pos;
  if (r.buf[r.pos] === 0x40) fail('table with an initializer expression', at, 'function-references');
  const refType = readRefType(r);
  return { refType, limits: readLimits(r, 'table') };
};

const readGlobalType = (r: Reader): GlobalType => {
  const type = readValType(r);
  const at = r.pos;
  const m = r.u8();
  if (m > 1) fail('invalid global mutability', at);
  return { type, mutable: m === 1 };
};

/** Reads a constant expression and returns its bytes (through `end`). */
const readConstExpr = (r: Reader): ConstExpr => {
  const start = r.pos;
  const ir = new InstrReader(r.buf, start, r.end);
  while (ir.next()) {
    /* walk to the end */
  }
  r.pos = ir.pos;
  return r.buf.subarray(start, r.pos);
};

const SECTION_ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

const decodeUnsafe = (buf: Uint8Array): WasmModule => {
  const r = new Reader(buf);
  const magic = r.u32le();
  if (magic !== 0x6d736100) fail('magic header not detected', 0);
  const version = r.u32le();
  if (version !== 1) fail(`unknown binary version ${version}`, 4);
  const types: FuncType[] = [];
  const imports: Import[] = [];
  let funcs: number[] = [];
  const tables: TableType[] = [];
  const memories: Limits[] = [];
  const globals: Global[] = [];
  const exports: Export[] = [];
  let start: number | undefined;
  const elems: ElemSegment[] = [];
  let dataCount: number | undefined;
  const codes: FuncBody[] = [];
  const datas: DataSegment[] = [];
  const customs: CustomSection[] = [];
  const sectionIds: number[] = [];
  let codeSectionSize = 0;
  let lastId = 0;
  let lastOrder = 0;
  while (!r.eof()) {
    const id = r.u8();
    const size = r.u32();
    const bodyStart = r.pos;
    const bodyEnd = bodyStart + size;
    if (bodyEnd > buf.length) fail('section size mismatch: section extends past the end', bodyStart);
    const s = new Reader(buf, bodyStart, bodyEnd);
    if (id !== 0) {
      const order = SECTION_ORDER[id];
      if (order === undefined) fail(`unknown section id ${id}`, bodyStart - 1);
      if (order! <= lastOrder) fail(`section ${id} out of order`, bodyStart - 1);
      lastOrder = order!;
      lastId = id;
      sectionIds.push(id);
    }
    switch (id) {
      case 0: {
        const name = s.name();
        customs.push({ name, data: buf.subarray(s.pos, bodyEnd), after: lastId });
        s.pos = bodyEnd;
        break;
      }
      case 1: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const form = s.u8();
          if (form !== 0x60) fail(`non-function type form 0x${form.toString(16)}`, at, 'gc');
          const np = s.u32();
          const params: ValType[] = [];
          for (let j = 0; j < np; j++) params.push(readValType(s));
          const nr = s.u32();
          const results: ValType[] = [];
          for (let j = 0; j < nr; j++) results.push(readValType(s));
          types.push({ params, results });
        }
        break;
      }
      case 2: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const module = s.name();
          const name = s.name();
          const at = s.pos;
          const kind = s.u8();
          let desc: ImportDesc;
          switch (kind) {
            case 0:
              desc = { kind: 'func', type: s.u32() };
              break;
            case 1:
              desc = { kind: 'table', table: readTableType(s) };
              break;
            case 2:
              desc = { kind: 'memory', limits: readLimits(s, 'memory') };
              break;
            case 3:
              desc = { kind: 'global', global: readGlobalType(s) };
              break;
            case 4: {
              s.u8();
              desc = { kind: 'tag', type: s.u32() };
              break;
            }
            default:
              desc = fail(`invalid import kind ${kind}`, at);
          }
          imports.push({ module, name, desc });
        }
        break;
      }
      case 3: {
        const n = s.u32();
        funcs = new Array<number>(n);
        for (let i = 0; i < n; i++) funcs[i] = s.u32();
        break;
      }
      case 4: {
        const n = s.u32();
        for (let i = 0; i < n; i++) tables.push(readTableType(s));
        break;
      }
      case 5: {
        const n = s.u32();
        for (let i = 0; i < n; i++) memories.push(readLimits(s, 'memory'));
        break;
      }
      case 13:
        fail('tag section (exception handling)', bodyStart, 'exceptions');
        break;
      case 6: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const type = readGlobalType(s);
          globals.push({ type, init: readConstExpr(s) });
        }
        break;
      }
      case 7: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const name = s.name();
          const at = s.pos;
          const kind = s.u8();
          if (kind > 4) fail(`invalid export kind ${kind}`, at);
          exports.push({ name, kind: kind as ExternalKind, index: s.u32() });
        }
        break;
      }
      case 8:
        start = s.u32();
        break;
      case 9: {
        const n = s.u32();
        for (let i = 0; i < n; i++) elems.push(readElem(s));
        break;
      }
      case 12:
        dataCount = s.u32();
        break;
      case 10: {
        codeSectionSize = size;
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const sz = s.u32();
          const bodyEnd2 = s.pos + sz;
          const b = new Reader(buf, s.pos, bodyEnd2);
          const nl = b.u32();
          const locals: { count: number; type: ValType }[] = [];
          let total = 0;
          for (let j = 0; j < nl; j++) {
            const count = b.u32();
            total += count;
            if (total > 50000) fail('too many locals', b.pos);
            locals.push({ count, type: readValType(b) });
          }
          codes.push({ locals, buf, codeStart: b.pos, codeEnd: bodyEnd2 });
          s.pos = bodyEnd2;
        }
        break;
      }
      case 11: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const flags = s.u32();
          if (flags === 0) {
            const offset = readConstExpr(s);
            datas.push({ flags, mode: 'active', memory: 0, offset, data: s.bytes(s.u32()) });
          } else if (flags === 1) {
            datas.push({ flags, mode: 'passive', memory: 0, offset: undefined, data: s.bytes(s.u32()) });
          } else if (flags === 2) {
            const memory = s.u32();
            const offset = readConstExpr(s);
            datas.push({ flags, mode: 'active', memory, offset, data: s.bytes(s.u32()) });
          } else fail(`invalid data segment flags ${flags}`, at);
        }
        break;
      }
    }
    if (id !== 0 && s.pos !== bodyEnd) fail(`section ${id} size mismatch`, s.pos);
    r.pos = bodyEnd;
  }
  if (funcs.length !== codes.length) fail('function and code section have inconsistent lengths', buf.length);
  return {
    types,
    imports,
    funcs,
    tables,
    memories,
    globals,
    exports,
    start,
    elems,
    dataCount,
    codes,
    datas,
    customs,
    codeSectionSize,
    sectionIds,
  };
};

const readElem = (s: Reader): ElemSegment => {
  const at = s.pos;
  const flags = s.u32();
  if (flags > 7) fail(`invalid element segment flags ${flags}`, at);
  const passiveOrDecl = (flags & 1) !== 0;
  const explicitTable = (flags & 2) !== 0;
  const usesExprs = (flags & 4) !== 0;
  const mode: ElemSegment['mode'] = !passiveOrDecl ? 'active' : explicitTable ? 'declarative' : 'passive';
  let table = 0;
  let offset: ConstExpr | undefined;
  if (mode === 'active') {
    if (explicitTable) table = s.u32();
    offset = readConstExpr(s);
  }
  let refType: ValType = VT.funcref;
  if (flags !== 0 && flags !== 4) {
    // element kind (0x00 = funcref) or reference type
    if (usesExprs) refType = readRefType(s);
    else {
      const k = s.u8();
      if (k !== 0x00) fail(`invalid element kind ${k}`, s.pos - 1);
    }
  }
  const n = s.u32();
  if (usesExprs) {
    const exprs: ConstExpr[] = [];
    for (let i = 0; i < n; i++) exprs.push(readConstExpr(s));
    return { flags, mode, table, offset, refType, funcs: undefined, exprs };
  }
  const fs: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) fs[i] = s.u32();
  return { flags, mode, table, offset, refType, funcs: fs, exprs: undefined };
};

/** Decodes a module. Structural errors and unsupported proposals are `Left`. */
export const decodeModule = (buf: Uint8Array): Either<DecodeError, WasmModule> => {
  try {
    return E.right(decodeUnsafe(buf));
  } catch (e) {
    if (e instanceof DecodeError) return E.left(e);
    throw e;
  }
};

/** Scans section headers only: the code section's content size, or a malformed-header error. */
export const codeSectionSize = (buf: Uint8Array): Either<DecodeError, number> => {
  try {
    const r = new Reader(buf);
    if (r.u32le() !== 0x6d736100) fail('magic header not detected', 0);
    if (r.u32le() !== 1) fail('unknown binary version', 4);
    while (!r.eof()) {
      const id = r.u8();
      const size = r.u32();
      if (r.pos + size > buf.length) fail('section extends past the end of the module', r.pos);
      if (id === 10) return E.right(size);
      r.pos += size;
    }
    return E.right(0);
  } catch (e) {
    if (e instanceof DecodeError) return E.left(e);
    throw e;
  }
};

// ---------------------------------------------------------------------------------------
// Encoding

const writeLimits = (w: Writer, l: Limits): void => {
  const flags = (l.max !== undefined ? 1 : 0) | (l.shared ? 2 : 0) | (l.is64 ? 4 : 0);
  w.u8(flags);
  if (l.is64) {
    w.u64(l.min);
    if (l.max !== undefined) w.u64(l.max);
  } else {
    w.u32(Number(l.min));
    if (l.max !== undefined) w.u32(Number(l.max));
  }
};

const writeTableType = (w: Writer, t: TableType): void => {
  w.u8(t.refType);
  writeLimits(w, t.limits);
};

const writeGlobalType = (w: Writer, g: GlobalType): void => {
  w.u8(g.type).u8(g.mutable ? 1 : 0);
};

/** Encodes a function body from its locals and expression bytes. */
export const encodeBody = (locals: readonly { readonly count: number; readonly type: ValType }[], code: Uint8Array): Uint8Array => {
  const w = new Writer(code.length + 16);
  w.u32(locals.length);
  for (const l of locals) w.u32(l.count).u8(l.type);
  w.bytes(code);
  return w.finish();
};

/**
 * A module to encode. Function bodies are given as encoded bodies (locals + expression) so
 * that an unchanged body is copied as it is.
 */
export interface EncodableModule extends Omit<WasmModule, 'codes' | 'codeSectionSize' | 'sectionIds'> {
  readonly bodies: readonly Uint8Array[];
}

export const bodyBytes = (b: FuncBody): Uint8Array => {
  const w = new Writer(b.codeEnd - b.codeStart + 16);
  w.u32(b.locals.length);
  for (const l of b.locals) w.u32(l.count).u8(l.type);
  w.bytes(b.buf.subarray(b.codeStart, b.codeEnd));
  return w.finish();
};

/** Encodes a module: standard sections in canonical order, custom sections after the section they followed. */
export const encodeModule = (m: EncodableModule): Uint8Array => {
  const out = new Writer(1 << 16);
  out.u32le(0x6d736100).u32le(1);
  const customsAfter = (id: number): void => {
    for (const c of m.customs)
      if (c.after === id)
        out.u8(0).sized((w) => {
          w.name(c.name).bytes(c.data);
        });
  };
  const section = (id: number, present: boolean, f: (w: Writer) => void): void => {
    if (present) out.u8(id).sized(f);
    customsAfter(id);
  };
  customsAfter(0);
  section(1, m.types.length > 0, (w) => {
    w.u32(m.types.length);
    for (const t of m.types) {
      w.u8(0x60).u32(t.params.length);
      for (const p of t.params) w.u8(p);
      w.u32(t.results.length);
      for (const p of t.results) w.u8(p);
    }
  });
  section(2, m.imports.length > 0, (w) => {
    w.u32(m.imports.length);
    for (const i of m.imports) {
      w.name(i.module).name(i.name);
      const d = i.desc;
      switch (d.kind) {
        case 'func':
          w.u8(0).u32(d.type);
          break;
        case 'table':
          w.u8(1);
          writeTableType(w, d.table);
          break;
        case 'memory':
          w.u8(2);
          writeLimits(w, d.limits);
          break;
        case 'global':
          w.u8(3);
          writeGlobalType(w, d.global);
          break;
        case 'tag':
          w.u8(4).u8(0).u32(d.type);
          break;
      }
    }
  });
  section(3, m.funcs.length > 0, (w) => {
    w.u32(m.funcs.length);
    for (const f of m.funcs) w.u32(f);
  });
  section(4, m.tables.length > 0, (w) => {
    w.u32(m.tables.length);
    for (const t of m.tables) writeTableType(w, t);
  });
  section(5, m.memories.length > 0, (w) => {
    w.u32(m.memories.length);
    for (const l of m.memories) writeLimits(w, l);
  });
  customsAfter(13);
  section(6, m.globals.length > 0, (w) => {
    w.u32(m.globals.length);
    for (const g of m.globals) {
      writeGlobalType(w, g.type);
      w.bytes(g.init);
    }
  });
  section(7, m.exports.length > 0, (w) => {
    w.u32(m.exports.length);
    for (const e of m.exports) w.name(e.name).u8(e.kind).u32(e.index);
  });
  section(8, m.start !== undefined, (w) => {
    w.u32(m.start!);
  });
  section(9, m.elems.length > 0, (w) => {
    w.u32(m.elems.length);
    for (const e of m.elems) {
      w.u32(e.flags);
      if (e.mode === 'active') {
        if (e.flags & 2) w.u32(e.table);
        w.bytes(e.offset!);
      }
      if (e.flags !== 0 && e.flags !== 4) {
        if (e.flags & 4) w.u8(e.refType);
        else w.u8(0x00);
      }
      if (e.exprs !== undefined) {
        w.u32(e.exprs.length);
        for (const x of e.exprs) w.bytes(x);
      } else {
        w.u32(e.funcs!.length);
        for (const f of e.funcs!) w.u32(f);
      }
    }
  });
  section(12, m.dataCount !== undefined, (w) => {
    w.u32(m.dataCount!);
  });
  section(10, m.bodies.length > 0, (w) => {
    w.u32(m.bodies.length);
    for (const b of m.bodies) w.u32(b.length).bytes(b);
  });
  section(11, m.datas.length > 0, (w) => {
    w.u32(m.datas.length);
    for (const d of m.datas) {
      w.u32(d.flags);
      if (d.flags === 2) w.u32(d.memory);
      if (d.mode === 'active') w.bytes(d.offset!);
      w.u32(d.data.length).bytes(d.data);
    }
  });
  return out.finish();
};

/** Re-encodes a decoded module unchanged (bodies copied as they are). */
export const reencode = (m: WasmModule): Uint8Array => encodeModule({ ...m, bodies: m.codes.map(bodyBytes) });
