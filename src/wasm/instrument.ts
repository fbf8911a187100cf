/**
 * Instrumentation of a validated canister module: the replica's instruction metering, exactly
 * (dfinity/ic `rs/embedders/src/wasm_utils/instrumentation.rs`: `injections`, `inject_metering`,
 * `inject_try_grow_wasm_memory`, `export_mutable_globals`, `get_data`), plus what a V8 host needs
 * that Wasmtime gives the replica for free:
 *
 * - a write barrier that lists the 4 KiB pages each message writes ([EXE-WASM-DIRTY.1]),
 * - NaN canonicalization of float results, as `cranelift_nan_canonicalization` does ([EXE-WASM-NAN.1]),
 * - an exported dispatcher for callbacks addressed by table index, and the memory exported.
 *
 * Injected code (metering, barrier, canonicalization, helpers) is never metered itself.
 */
import {
  InstrReader,
  OP,
  EXTERNAL,
  PREFIX_FD,
  VT,
  Writer,
  allTables,
  allGlobalTypes,
  encodeModule,
  importedCount,
  writeOp,
  type ConstExpr,
  type DataSegment,
  type ElemSegment,
  type Export,
  type FuncBody,
  type FuncType,
  type Global,
  type Import,
  type Limits,
  type ValType,
  type WasmModule,
} from './binary.js';
import { COMPILE_COST_PER_INSTRUCTION, COMPILE_INSTRUCTIONS_PER_GLOBAL, costTable } from './costs.js';
import { dataOffset, type GlobalInfo, type ModuleInfo } from './validate.js';

// ---------------------------------------------------------------------------------------
// Names

/** [EXE-METER-POINTS.1] The instruction counter, a mutable i64 global counting down. */
export const COUNTER_EXPORT = 'canister counter_instructions';
/** The original `(start)` function, exported so the host can run it with the counter set. */
export const START_EXPORT = 'canister_start';
/** The module of the injected imports, and their names in import order (they come first). */
export const INJECTED_MODULE = '__';
export const OUT_OF_INSTRUCTIONS = 'out_of_instructions';
export const TRY_GROW_WASM_MEMORY = 'try_grow_wasm_memory';
export const INJECTED_IMPORTS: readonly string[] = [OUT_OF_INSTRUCTIONS, TRY_GROW_WASM_MEMORY];
/** Preferred names of the other injected exports (a fresh suffix is added if the module already uses one). */
export const MEMORY_EXPORT = '__icspec_memory';
export const DIRTY_EXPORT = '__icspec_dirty';
export const CALLBACK_EXPORT = '__icspec_callback';
export const MUTABLE_GLOBAL_PREFIX = '__persistent_mutable_global_';

// ---------------------------------------------------------------------------------------
// [EXE-WASM-DIRTY.1] The dirty-page tracker's memory (32-bit, a second memory of the module)
//
//   [0, 4)                       count: u32, the number of pages marked since the host last cleared it
//   [16, 131072)                 list: u32 page indices, in marking order; holds DIRTY_LIST_CAPACITY
//                                entries; when count exceeds it, the list is incomplete and the
//                                host must scan the bytemap instead
//   [131072, byteLength)         bytemap: one byte per 4 KiB page of the main memory (1 = marked);
//                                page p is byte 131072 + p, so the tracker covers
//                                byteLength − 131072 pages
//
// The host grows this memory (in `try_grow_wasm_memory`, and when it sizes the main memory)
// so that the bytemap covers every page of the main memory. Marks of pages the bytemap does not
// cover are dropped: a store there is out of the main memory's bounds too, and traps.

export const DIRTY_COUNT_OFFSET = 0;
export const DIRTY_LIST_OFFSET = 16;
export const DIRTY_BYTEMAP_OFFSET = 131072;
/** One byte per global index, set by every `global.set` of a persisted mutable global, so that
 * the host reads back (or restores) only the globals a message changed ([EXE-WASM-DIRTY.1]). */
export const GLOBAL_FLAGS_OFFSET = DIRTY_BYTEMAP_OFFSET - 1024;
export const DIRTY_LIST_CAPACITY = (GLOBAL_FLAGS_OFFSET - DIRTY_LIST_OFFSET) / 4;
export const DIRTY_PAGE_BYTES = 4096;

export interface DirtyLayout {
  readonly countOffset: number;
  readonly listOffset: number;
  readonly listCapacity: number;
  readonly bytemapOffset: number;
  readonly pageBytes: number;
  /** the tracker memory is 32-bit */
  readonly is64: false;
  /** pages covered by a tracker memory of this many bytes */
  readonly bytemapPages: (byteLength: number) => number;
  /** bytes of tracker memory needed to cover this many 4 KiB pages */
  readonly bytesFor: (osPages: number) => number;
  /** Wasm pages of tracker memory needed to cover this many 4 KiB pages */
  readonly wasmPagesFor: (osPages: number) => number;
}

export const dirtyLayout: DirtyLayout = {
  countOffset: DIRTY_COUNT_OFFSET,
  listOffset: DIRTY_LIST_OFFSET,
  listCapacity: DIRTY_LIST_CAPACITY,
  bytemapOffset: DIRTY_BYTEMAP_OFFSET,
  pageBytes: DIRTY_PAGE_BYTES,
  is64: false,
  bytemapPages: (byteLength) => Math.max(0, byteLength - DIRTY_BYTEMAP_OFFSET),
  bytesFor: (osPages) => DIRTY_BYTEMAP_OFFSET + osPages,
  wasmPagesFor: (osPages) => Math.ceil((DIRTY_BYTEMAP_OFFSET + osPages) / 65536),
};

// ---------------------------------------------------------------------------------------
// The result

export interface InstrumentedModule {
  readonly binary: Uint8Array;
  /** [EXE-WASM-DATA.1] the active data segments, removed from the module: the host writes them at install */
  readonly dataSegments: readonly { readonly offset: bigint; readonly bytes: Uint8Array }[];
  readonly counterExport: string;
  /** the main memory (index 0), exported whether defined or imported; undefined without a memory */
  readonly memoryExport: string | undefined;
  /** the imported memory's name, when the module imports it (the host supplies it) */
  readonly memoryImport: { readonly module: string; readonly name: string } | undefined;
  /** the dirty-page tracker's memory; undefined without a main memory */
  readonly dirtyExport: string | undefined;
  readonly dirtyLayout: DirtyLayout;
  /** Wasm pages the tracker memory has at instantiation */
  readonly dirtyInitialPages: number;
  /** `canister_start`, when the module had a start function */
  readonly startExport: string | undefined;
  /** `(fun: I, env: I) -> ()`: `call_indirect` of table 0 with type `(I) -> ()`; only with a funcref table */
  readonly callbackExport: string | undefined;
  /** every mutable global (in index order), exported so the host can save and restore it */
  readonly mutableGlobals: readonly { readonly index: number; readonly type: GlobalInfo['type']; readonly exportName: string }[];
  /** [EXE-METER-COMPILE.1] instructions charged for compiling the module */
  readonly compileCost: bigint;
  /** the instruction count the compilation charge is based on */
  readonly compiledInstructions: bigint;
  /** the module mutates instance state the replica does not persist (tables, dropped segments):
   * every message must run on a fresh instance */
  readonly needsFreshInstance: boolean;
  readonly is64: boolean;
}

// ---------------------------------------------------------------------------------------
// Opcode classes

const STORE_TYPE = new Map<number, [ValType, number]>([
  [0x36, [VT.i32, 4]],
  [0x37, [VT.i64, 8]],
  [0x38, [VT.f32, 4]],
  [0x39, [VT.f64, 8]],
  [0x3a, [VT.i32, 1]],
  [0x3b, [VT.i32, 2]],
  [0x3c, [VT.i64, 1]],
  [0x3d, [VT.i64, 2]],
  [0x3e, [VT.i64, 4]],
  [PREFIX_FD + 0x0b, [VT.v128, 16]],
  [PREFIX_FD + 0x58, [VT.v128, 1]],
  [PREFIX_FD + 0x59, [VT.v128, 2]],
  [PREFIX_FD + 0x5a, [VT.v128, 4]],
  [PREFIX_FD + 0x5b, [VT.v128, 8]],
]);

/** [EXE-WASM-NAN.1] Instructions whose float result may be a NaN, by result type (as Cranelift's
 * NaN canonicalization pass lists them: ceil, floor, nearest, sqrt, trunc, promote, demote, add,
 * sub, mul, div, min, max, scalar and vector). */
const NAN_RESULT = new Map<number, ValType | 'f32x4' | 'f64x2'>();
for (const op of [0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0xb6]) NAN_RESULT.set(op, VT.f32);
for (const op of [0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xbb]) NAN_RESULT.set(op, VT.f64);
for (const op of [0x67, 0x68, 0x69, 0x6a, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0x5e]) NAN_RESULT.set(PREFIX_FD + op, 'f32x4');
for (const op of [0x74, 0x75, 0x7a, 0x94, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0x5f]) NAN_RESULT.set(PREFIX_FD + op, 'f64x2');

const FRESH_INSTANCE_OPS = new Set<number>([OP.table_set, OP.table_grow, OP.table_fill, OP.table_copy, OP.table_init, OP.elem_drop, OP.data_drop]);

// ---------------------------------------------------------------------------------------
// [EXE-METER-POINTS.1] Injection points

const P_REENTRANT = 0;
const P_NONREENTRANT = 1;
const P_BLOCKEND = 2;
const P_DYN32 = 3;
const P_DYN64 = 4;

interface Point {
  readonly pos: number;
  readonly kind: number;
  cost: number;
}

/**
 * [EXE-METER-POINTS.1] The replica's injection points of one body, sorted by position (a
 * dynamic point before a static one at the same position, as the replica's stable sort leaves
 * them), with the static points the replica drops already removed.
 */
export const meteringPoints = (ops: readonly number[], is64: boolean, tableIs64: (t: number) => boolean, tables: readonly number[]): Point[] => {
  const cost = costTable(is64);
  const res: Point[] = [];
  // [EXE-METER-POINTS.1] the function entry is reentrant and costs at least 1
  let curr: Point = { pos: 0, kind: P_REENTRANT, cost: 1 };
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    // [EXE-METER-WEIGHTS.1] the instruction's weight goes to the current block first
    curr.cost += cost[op]!;
    switch (op) {
      case OP.loop:
        res.push(curr);
        curr = { pos: i + 1, kind: P_REENTRANT, cost: 0 };
        break;
      case OP.if:
        res.push(curr);
        curr = { pos: i + 1, kind: P_NONREENTRANT, cost: 0 };
        break;
      case OP.else:
      case OP.br:
      case OP.br_if:
      case OP.br_table:
      case OP.end:
      case OP.return:
      case OP.unreachable:
      case OP.return_call:
      case OP.return_call_indirect:
        res.push(curr);
        curr = { pos: i + 1, kind: P_BLOCKEND, cost: 0 };
        break;
      // [EXE-METER-BULK.1] the dynamic charge sits right before the bulk instruction
      case OP.memory_fill:
      case OP.memory_copy:
        res.push({ pos: i, kind: is64 ? P_DYN64 : P_DYN32, cost: 0 });
        break;
      case OP.table_fill:
      case OP.table_copy:
        // the length has the table's index type (the replica uses the memory's width here,
        // which differs only for modules validation rejects: table.fill/copy are unsupported)
        res.push({ pos: i, kind: tableIs64(tables[i]!) ? P_DYN64 : P_DYN32, cost: 0 });
        break;
      case OP.memory_init:
      case OP.table_init:
        res.push({ pos: i, kind: P_DYN32, cost: 0 });
        break;
    }
  }
  const dyn = (k: number): number => (k === P_DYN32 || k === P_DYN64 ? 0 : 1);
  res.sort((a, b) => a.pos - b.pos || dyn(a.kind) - dyn(b.kind));
  return res.filter((p) => p.kind === P_REENTRANT || p.kind >= P_DYN32 || p.cost > 0);
};

/** Instructions the replica injects for a point (for the compilation charge). */
const pointSize = (p: Point): number =>
  p.kind === P_REENTRANT ? 10 : p.kind === P_DYN32 ? 3 : p.kind === P_DYN64 ? 1 : 4;

// ---------------------------------------------------------------------------------------
// Emitting

const I64_MIN = -(2n ** 63n);

interface Ctx {
  readonly m: WasmModule;
  readonly is64: boolean;
  /** function index shift (injected imports) */
  readonly K: number;
  readonly counter: number;
  readonly fnOOI: number;
  readonly fnGrow: number;
  readonly fnDecr: number;
  readonly fnMark: number;
  readonly fnRange: number;
  readonly dirtyMem: number;
  readonly hasMemory: boolean;
  readonly tableIs64: (t: number) => boolean;
}

/** Locals added to one function: temporaries by type, allocated on first use. */
class Temps {
  private readonly byType = new Map<ValType, number[]>();
  private readonly added: ValType[] = [];
  constructor(private readonly base: number) {}

  /** the local indices of temporaries of the given types, distinct within one request */
  get(...types: ValType[]): number[] {
    const used = new Map<ValType, number>();
    return types.map((t) => {
      const k = used.get(t) ?? 0;
      used.set(t, k + 1);
      let list = this.byType.get(t);
      if (list === undefined) this.byType.set(t, (list = []));
      while (list.length <= k) {
        list.push(this.base + this.added.length);
        this.added.push(t);
      }
      return list[k]!;
    });
  }

  /** a local of its own (not shared with other temporaries) */
  reserve(t: ValType): number {
    this.added.push(t);
    return this.base + this.added.length - 1;
  }

  declarations(): { count: number; type: ValType }[] {
    return this.added.map((type) => ({ count: 1, type }));
  }
}

const memarg = (w: Writer, align: number, mem: number, offset: bigint): void => {
  if (mem !== 0) w.u32(align | 0x40).u32(mem);
  else w.u32(align);
  w.u64(offset);
};

const emitStatic = (w: Writer, c: Ctx, p: Point): void => {
  // [EXE-METER-POINTS.1] global.get; i64.const cost; i64.sub; global.set
  w.u8(OP.global_get).u32(c.counter).u8(OP.i64_const).s64(BigInt(p.cost)).u8(OP.i64_sub).u8(OP.global_set).u32(c.counter);
  if (p.kind === P_REENTRANT)
    // if counter < 0 then out_of_instructions
    w.u8(OP.global_get).u32(c.counter).u8(OP.i64_const).u8(0).u8(OP.i64_lt_s).u8(OP.if).u8(0x40).u8(OP.call).u32(c.fnOOI).u8(OP.end);
};

const emitDynamic = (w: Writer, c: Ctx, p: Point): void => {
  // [EXE-METER-BULK.1] the length on top of the stack goes through the decrement helper unchanged
  if (p.kind === P_DYN64) w.u8(OP.call).u32(c.fnDecr);
  else w.u8(OP.i64_extend_i32_u).u8(OP.call).u32(c.fnDecr).u8(OP.i32_wrap_i64);
};

const I = (c: Ctx): ValType => (c.is64 ? VT.i64 : VT.i32);
const toI64 = (w: Writer, t: ValType): void => {
  if (t === VT.i32) w.u8(OP.i64_extend_i32_u);
};

interface BodyResult {
  readonly body: Uint8Array;
  /** the replica's instruction count of the metered body (for the compilation charge) */
  readonly replicaInstructions: number;
  readonly fresh: boolean;
}

const rewriteBody = (c: Ctx, body: FuncBody, type: FuncType): BodyResult => {
  const buf = body.buf;
  // pass 1: the instructions
  const ops: number[] = [];
  const starts: number[] = [];
  const tables: number[] = [];
  const ir = new InstrReader(buf, body.codeStart, body.codeEnd);
  let fresh = false;
  let grows = 0;
  while (ir.next()) {
    ops.push(ir.op);
    starts.push(ir.start);
    tables.push(ir.op === OP.table_fill ? ir.a : ir.op === OP.table_copy ? ir.a : 0);
    if (FRESH_INSTANCE_OPS.has(ir.op)) fresh = true; // [EXE-WASM-INSTRUMENT.1] needsFreshInstance
    if (ir.op === OP.memory_grow) grows++;
  }
  starts.push(ir.pos);
  const points = meteringPoints(ops, c.is64, c.tableIs64, tables);
  let replicaInstructions = ops.length + 3 * grows;
  for (const p of points) replicaInstructions += pointSize(p);

  // pass 2: emit
  let nLocals = type.params.length;
  for (const l of body.locals) nLocals += l.count;
  const temps = new Temps(nLocals);
  const w = new Writer(body.codeEnd - body.codeStart + 64 + points.length * 16);
  const r = new InstrReader(buf, body.codeStart, body.codeEnd);
  const IT = I(c);
  // [EXE-WASM-DIRTY.1] the page base this invocation marked last; starts at an impossible base
  let last = -1;
  if (c.hasMemory && ops.some((op) => STORE_TYPE.has(op))) {
    last = temps.reserve(VT.i64);
    w.u8(OP.i64_const).s64(-(2n ** 63n)).u8(OP.local_set).u32(last);
  }
  let pi = 0;
  for (let i = 0; i < ops.length; i++) {
    while (pi < points.length && points[pi]!.pos === i) {
      const p = points[pi++]!;
      if (p.kind >= P_DYN32) emitDynamic(w, c, p);
      else emitStatic(w, c, p);
    }
    const op = ops[i]!;
    const s = starts[i]!;
    const e = starts[i + 1]!;
    switch (op) {
      case OP.call:
      case OP.return_call:
      case OP.ref_func: {
        // function indices shift by the injected imports
        readAt(r, s);
        w.u8(op).u32(r.a + c.K);
        continue;
      }
      case OP.memory_grow: {
        // [EXE-METER-GROW.1] local.tee $delta; memory.grow; local.get $delta; call try_grow_wasm_memory
        const [g] = temps.get(IT);
        w.u8(OP.local_tee).u32(g!).bytes(buf.subarray(s, e)).u8(OP.local_get).u32(g!).u8(OP.call).u32(c.fnGrow);
        continue;
      }
      case OP.memory_fill:
      case OP.memory_copy:
      case OP.memory_init: {
        if (c.hasMemory) {
          // [EXE-WASM-DIRTY.1] mark the destination range before the operation
          const tx = op === OP.memory_copy ? IT : VT.i32;
          const tn = op === OP.memory_init ? VT.i32 : IT;
          const [d, x, n] = temps.get(IT, tx, tn);
          w.u8(OP.local_set).u32(n!).u8(OP.local_set).u32(x!).u8(OP.local_tee).u32(d!);
          toI64(w, IT);
          w.u8(OP.local_get).u32(n!);
          toI64(w, tn);
          w.u8(OP.call).u32(c.fnRange).u8(OP.local_get).u32(d!).u8(OP.local_get).u32(x!).u8(OP.local_get).u32(n!);
        }
        w.bytes(buf.subarray(s, e));
        continue;
      }
    }
    if (op === OP.global_set && c.hasMemory) {
      // [EXE-WASM-DIRTY.1] flag the global as changed (unmetered)
      readAt(r, s);
      w.bytes(buf.subarray(s, e));
      if (r.a < 1024) {
        w.u8(OP.i32_const).u8(0).u8(OP.i32_const).u8(1).u8(OP.i32_store8);
        memarg(w, 0, c.dirtyMem, BigInt(GLOBAL_FLAGS_OFFSET + r.a));
      }
      continue;
    }
    const st = STORE_TYPE.get(op);
    if (st !== undefined && c.hasMemory) {
      // [EXE-WASM-DIRTY.1] before the store: unless the access lies inside the page this invocation
      // marked last ($last, a page base; kept in a local), call the marking helper and remember the page
      readAt(r, s);
      const [vt, size] = st;
      const off = r.offset;
      const [a, v, x] = off === 0n ? [...temps.get(IT, vt), undefined] : temps.get(IT, vt, IT);
      const ea = x ?? a!;
      w.u8(OP.local_set).u32(v!).u8(OP.local_tee).u32(a!);
      if (off !== 0n) {
        if (c.is64) w.u8(OP.i64_const).s64(BigInt.asIntN(64, off)).u8(OP.i64_add);
        else w.u8(OP.i32_const).s32(Number(BigInt.asIntN(32, off))).u8(OP.i32_add);
        w.u8(OP.local_tee).u32(ea);
      }
      // (ea − last) <u 4097 − size: the whole access is inside the remembered page
      toI64(w, IT);
      w.u8(OP.local_get).u32(last).u8(OP.i64_sub).u8(OP.i64_const).s64(BigInt(4097 - size)).u8(OP.i64_lt_u);
      w.u8(OP.i32_eqz).u8(OP.if).u8(0x40);
      w.u8(OP.local_get).u32(ea);
      toI64(w, IT);
      w.u8(OP.i64_const).s64(BigInt(size - 1)).u8(OP.call).u32(c.fnMark);
      w.u8(OP.local_get).u32(ea);
      toI64(w, IT);
      w.u8(OP.i64_const).s64(-4096n).u8(OP.i64_and).u8(OP.local_set).u32(last);
      w.u8(OP.end);
      w.u8(OP.local_get).u32(a!).u8(OP.local_get).u32(v!);
      w.bytes(buf.subarray(s, e));
      continue;
    }
    w.bytes(buf.subarray(s, e));
    const nan = NAN_RESULT.get(op);
    if (nan !== undefined) emitCanonicalize(w, temps, nan);
  }
  const locals = [...body.locals, ...temps.declarations()];
  const out = new Writer(w.len + 16);
  out.u32(locals.length);
  for (const l of locals) out.u32(l.count).u8(l.type);
  out.bytes(w.finish());
  return { body: out.finish(), replicaInstructions, fresh };
};

/** Re-reads the immediates of the instruction at `at`. */
const readAt = (r: InstrReader, at: number): void => {
  r.seek(at);
  r.next();
};

/** [EXE-WASM-NAN.1] Replace a NaN on top of the stack by the canonical NaN (branch-free). */
const emitCanonicalize = (w: Writer, temps: Temps, t: ValType | 'f32x4' | 'f64x2'): void => {
  if (t === VT.f32) {
    const [x] = temps.get(VT.f32);
    // select(x, canonical, x == x)
    w.u8(OP.local_tee).u32(x!).u8(OP.f32_const).u32le(0x7fc00000).u8(OP.local_get).u32(x!).u8(OP.local_get).u32(x!).u8(OP.f32_eq).u8(OP.select);
  } else if (t === VT.f64) {
    const [x] = temps.get(VT.f64);
    w.u8(OP.local_tee).u32(x!).u8(OP.f64_const).u64le(0x7ff8000000000000n).u8(OP.local_get).u32(x!).u8(OP.local_get).u32(x!).u8(OP.f64_eq).u8(OP.select);
  } else {
    const [x] = temps.get(VT.v128);
    w.u8(OP.local_tee).u32(x!);
    writeOp(w, OP.v128_const);
    if (t === 'f32x4') for (let k = 0; k < 4; k++) w.u32le(0x7fc00000);
    else for (let k = 0; k < 2; k++) w.u64le(0x7ff8000000000000n);
    w.u8(OP.local_get).u32(x!).u8(OP.local_get).u32(x!);
    writeOp(w, t === 'f32x4' ? OP.f32x4_eq : OP.f64x2_eq);
    // bitselect(x, canonical, mask): x where the lane equals itself, else the canonical NaN
    writeOp(w, OP.v128_bitselect);
  }
};

/** Shifts the function indices of `ref.func` in a constant expression. */
const rewriteConstExpr = (e: ConstExpr, K: number): ConstExpr => {
  const ir = new InstrReader(e, 0, e.length);
  let has = false;
  while (ir.next()) if (ir.op === OP.ref_func) has = true;
  if (!has) return e;
  const w = new Writer(e.length + 8);
  const r = new InstrReader(e, 0, e.length);
  while (r.next()) {
    if (r.op === OP.ref_func) w.u8(OP.ref_func).u32(r.a + K);
    else w.bytes(e.subarray(r.start, r.end));
  }
  return w.finish();
};

// ---------------------------------------------------------------------------------------
// Injected functions (never metered)

const body = (locals: ValType[], f: (w: Writer) => void): Uint8Array => {
  const w = new Writer(128);
  w.u32(locals.length);
  for (const t of locals) w.u32(1).u8(t);
  f(w);
  w.u8(OP.end);
  return w.finish();
};

/** [EXE-METER-BULK.1] (n: i64) -> i64: counter −= n (i64::MIN if that wraps), then the
 * reentrant check; returns n. */
const decrBody = (c: Ctx): Uint8Array =>
  body([VT.i64], (w) => {
    w.u8(OP.global_get).u32(c.counter).u8(OP.local_get).u32(0).u8(OP.i64_sub).u8(OP.local_tee).u32(1);
    w.u8(OP.global_get).u32(c.counter).u8(OP.i64_gt_s);
    w.u8(OP.if).u8(VT.i64).u8(OP.i64_const).s64(I64_MIN).u8(OP.else).u8(OP.local_get).u32(1).u8(OP.end);
    w.u8(OP.global_set).u32(c.counter);
    w.u8(OP.global_get).u32(c.counter).u8(OP.i64_const).u8(0).u8(OP.i64_lt_s).u8(OP.if).u8(0x40).u8(OP.call).u32(c.fnOOI).u8(OP.end);
    w.u8(OP.local_get).u32(0);
  });

/** The replica's two helper bodies (its decrement helper and its stable-memory page counter),
 * counted in the compilation charge although only the first exists here. */
const REPLICA_HELPER_INSTRUCTIONS = 19 + 45;

/** [EXE-WASM-DIRTY.1] (p: i64) -> (): mark page p (if the bytemap covers it and it is not marked yet). */
const pageBody = (c: Ctx): Uint8Array => {
  const D = c.dirtyMem;
  // params: p (0); locals: a (1, i32), n (2, i32)
  return body([VT.i32, VT.i32], (w) => {
    // if BYTEMAP + p < memory.size(D) * 65536
    w.u8(OP.local_get).u32(0).u8(OP.i64_const).s64(BigInt(DIRTY_BYTEMAP_OFFSET)).u8(OP.i64_add);
    w.u8(OP.memory_size).u32(D).u8(OP.i64_extend_i32_u).u8(OP.i64_const).u8(16).u8(OP.i64_shl).u8(OP.i64_lt_u);
    w.u8(OP.if).u8(0x40);
    {
      // a = BYTEMAP + p; if bytemap[a] == 0
      w.u8(OP.local_get).u32(0).u8(OP.i32_wrap_i64).u8(OP.local_tee).u32(1);
      w.u8(OP.i32_load8_u);
      memarg(w, 0, D, BigInt(DIRTY_BYTEMAP_OFFSET));
      w.u8(OP.i32_eqz).u8(OP.if).u8(0x40);
      {
        // bytemap[a] = 1
        w.u8(OP.local_get).u32(1).u8(OP.i32_const).u8(1).u8(OP.i32_store8);
        memarg(w, 0, D, BigInt(DIRTY_BYTEMAP_OFFSET));
        // n = count; if n < capacity: list[n] = p
        w.u8(OP.i32_const).u8(0).u8(OP.i32_load);
        memarg(w, 2, D, BigInt(DIRTY_COUNT_OFFSET));
        w.u8(OP.local_tee).u32(2).u8(OP.i32_const).s32(DIRTY_LIST_CAPACITY).u8(OP.i32_lt_u).u8(OP.if).u8(0x40);
        w.u8(OP.local_get).u32(2).u8(OP.i32_const).u8(2).u8(OP.i32_shl).u8(OP.local_get).u32(1).u8(OP.i32_store);
        memarg(w, 2, D, BigInt(DIRTY_LIST_OFFSET));
        w.u8(OP.end);
        // count = n + 1
        w.u8(OP.i32_const).u8(0).u8(OP.local_get).u32(2).u8(OP.i32_const).u8(1).u8(OP.i32_add).u8(OP.i32_store);
        memarg(w, 2, D, BigInt(DIRTY_COUNT_OFFSET));
      }
      w.u8(OP.end);
    }
    w.u8(OP.end);
  });
};

/** [EXE-WASM-DIRTY.1] (ea: i64, n1: i64) -> (): mark the pages of bytes ea .. ea + n1 (n1 < 16, so at most two). */
const markBody = (fnPage: number): Uint8Array =>
  // params: ea (0), n1 (1); locals: p (2, i64)
  body([VT.i64], (w) => {
    w.u8(OP.local_get).u32(0).u8(OP.i64_const).u8(12).u8(OP.i64_shr_u).u8(OP.local_tee).u32(2).u8(OP.call).u32(fnPage);
    w.u8(OP.local_get).u32(0).u8(OP.local_get).u32(1).u8(OP.i64_add).u8(OP.i64_const).u8(12).u8(OP.i64_shr_u);
    w.u8(OP.local_tee).u32(1).u8(OP.local_get).u32(2).u8(OP.i64_ne).u8(OP.if).u8(0x40);
    w.u8(OP.local_get).u32(1).u8(OP.call).u32(fnPage);
    w.u8(OP.end);
  });

/** [EXE-WASM-DIRTY.1] (d: i64, n: i64) -> (): mark every page of [d, d + n), unless n = 0 or the
 * range is outside the main memory (then the bulk operation traps and writes nothing). */
const rangeBody = (c: Ctx, fnPage: number): Uint8Array =>
  // params: d (0), n (1); locals: end (2), p (3), last (4)
  body([VT.i64, VT.i64, VT.i64], (w) => {
    w.u8(OP.local_get).u32(1).u8(OP.i64_eqz).u8(OP.if).u8(0x40).u8(OP.return).u8(OP.end);
    w.u8(OP.local_get).u32(0).u8(OP.local_get).u32(1).u8(OP.i64_add).u8(OP.local_tee).u32(2);
    w.u8(OP.local_get).u32(0).u8(OP.i64_lt_u).u8(OP.if).u8(0x40).u8(OP.return).u8(OP.end);
    w.u8(OP.local_get).u32(2).u8(OP.memory_size).u32(0);
    if (!c.is64) w.u8(OP.i64_extend_i32_u);
    w.u8(OP.i64_const).u8(16).u8(OP.i64_shl).u8(OP.i64_gt_u).u8(OP.if).u8(0x40).u8(OP.return).u8(OP.end);
    w.u8(OP.local_get).u32(0).u8(OP.i64_const).u8(12).u8(OP.i64_shr_u).u8(OP.local_set).u32(3);
    w.u8(OP.local_get).u32(2).u8(OP.i64_const).u8(1).u8(OP.i64_sub).u8(OP.i64_const).u8(12).u8(OP.i64_shr_u).u8(OP.local_set).u32(4);
    w.u8(OP.loop).u8(0x40);
    w.u8(OP.local_get).u32(3).u8(OP.call).u32(fnPage);
    w.u8(OP.local_get).u32(3).u8(OP.i64_const).u8(1).u8(OP.i64_add).u8(OP.local_tee).u32(3);
    w.u8(OP.local_get).u32(4).u8(OP.i64_le_u).u8(OP.br_if).u32(0);
    w.u8(OP.end);
  });

/** (fun: I, env: I) -> (): call_indirect table 0 with type (I) -> (). */
const dispatchBody = (c: Ctx, cbType: number): Uint8Array =>
  body([], (w) => {
    w.u8(OP.local_get).u32(1).u8(OP.local_get).u32(0);
    const t64 = c.tableIs64(0);
    if (t64 && !c.is64) w.u8(OP.i64_extend_i32_u);
    if (!t64 && c.is64) w.u8(OP.i32_wrap_i64);
    w.u8(OP.call_indirect).u32(cbType).u32(0);
  });

// ---------------------------------------------------------------------------------------
// The module

/**
 * Instruments a validated module (`info` from `validateModule`, `bytes` its binary). The
 * result's binary imports `__.out_of_instructions: () -> ()` and
 * `__.try_grow_wasm_memory: (I, I) -> I` before the module's own imports.
 */
export const instrument = (bytes: Uint8Array, info: ModuleInfo): InstrumentedModule => {
  void bytes; // the decoded module in `info` is the one `bytes` describes
  const m = info.module;
  const is64 = info.memory?.is64 ?? false;
  const IT: ValType = is64 ? VT.i64 : VT.i32;
  const hasMemory = info.memory !== undefined;
  const tablesAll = allTables(m);
  const tableIs64 = (t: number): boolean => tablesAll[t]?.limits.is64 ?? false;
  const funcTable = tablesAll[0] !== undefined && tablesAll[0].refType === VT.funcref;

  // types: the module's, then the injected ones
  const types: FuncType[] = [...m.types];
  const typeIndex = (params: ValType[], results: ValType[]): number => {
    const i = types.findIndex((t) => t.params.length === params.length && t.results.length === results.length && t.params.every((p, k) => p === params[k]) && t.results.every((p, k) => p === results[k]));
    if (i >= 0) return i;
    types.push({ params, results });
    return types.length - 1;
  };
  const tUnit = typeIndex([], []);
  const tGrow = typeIndex([IT, IT], [IT]);
  const tDecr = typeIndex([VT.i64], [VT.i64]);
  const tPage = typeIndex([VT.i64], []);
  const tPair = typeIndex([VT.i64, VT.i64], []);
  const tCb = typeIndex([IT], []);
  const tDispatch = typeIndex([IT, IT], []);

  // [EXE-WASM-INSTRUMENT.1][EXE-METER-POINTS.1] the injected imports come first: every function index shifts by K
  const injected: Import[] = [
    { module: INJECTED_MODULE, name: OUT_OF_INSTRUCTIONS, desc: { kind: 'func', type: tUnit } },
    { module: INJECTED_MODULE, name: TRY_GROW_WASM_MEMORY, desc: { kind: 'func', type: tGrow } },
  ];
  const K = injected.length;
  const nFuncImports = importedCount(m, 'func');
  const helperBase = K + nFuncImports + m.funcs.length;
  let next = helperBase;
  const fnDecr = next++;
  const fnPage = hasMemory ? next++ : -1;
  const fnMark = hasMemory ? next++ : -1;
  const fnRange = hasMemory ? next++ : -1;
  const fnDispatch = funcTable ? next++ : -1;

  const nGlobals = importedCount(m, 'global') + m.globals.length;
  const counter = nGlobals;
  const memories = importedCount(m, 'memory') + m.memories.length;
  const ctx: Ctx = {
    m,
    is64,
    K,
    counter,
    fnOOI: 0,
    fnGrow: 1,
    fnDecr,
    fnMark,
    fnRange,
    dirtyMem: memories,
    hasMemory,
    tableIs64,
  };

  // bodies
  const bodies: Uint8Array[] = [];
  let replicaInstructions = 0;
  let fresh = false;
  m.codes.forEach((b, i) => {
    const r = rewriteBody(ctx, b, m.types[m.funcs[i]!]!);
    bodies.push(r.body);
    replicaInstructions += r.replicaInstructions;
    fresh ||= r.fresh;
  });
  const funcs = [...m.funcs];
  funcs.push(tDecr);
  bodies.push(decrBody(ctx));
  if (hasMemory) {
    funcs.push(tPage, tPair, tPair);
    bodies.push(pageBody(ctx), markBody(fnPage), rangeBody(ctx, fnPage));
  }
  if (funcTable) {
    funcs.push(tDispatch);
    bodies.push(dispatchBody(ctx, tCb));
  }

  // globals: the counter last (no global index changes)
  const globals: Global[] = [
    ...m.globals.map((g) => ({ type: g.type, init: rewriteConstExpr(g.init, K) })),
    { type: { type: VT.i64, mutable: true }, init: new Uint8Array([OP.i64_const, 0, OP.end]) },
  ];

  // memories: the tracker after the main memory
  const dirtyInitialPages = hasMemory ? dirtyLayout.wasmPagesFor(Number(info.memory!.initial) * (65536 / DIRTY_PAGE_BYTES)) : 0;
  const mems: Limits[] = [...m.memories];
  if (hasMemory) mems.push({ flags: 0, min: BigInt(dirtyInitialPages), max: undefined, is64: false, shared: false });

  // exports
  const names = new Set(m.exports.map((e) => e.name));
  const fresh_ = (base: string): string => {
    let n = base;
    for (let k = 1; names.has(n); k++) n = `${base}_${k}`;
    names.add(n);
    return n;
  };
  const exports: Export[] = m.exports.map((e) => (e.kind === EXTERNAL.func ? { ...e, index: e.index + K } : e));
  exports.push({ name: COUNTER_EXPORT, kind: EXTERNAL.global, index: counter });
  names.add(COUNTER_EXPORT);
  // [EXE-WASM-INSTRUMENT.1] every mutable global, so the host can persist it
  const gtypes = allGlobalTypes(m);
  const mutableGlobals = gtypes.flatMap((g, index) => {
    if (!g.mutable) return [];
    const exportName = fresh_(`${MUTABLE_GLOBAL_PREFIX}${index}`);
    exports.push({ name: exportName, kind: EXTERNAL.global, index });
    const type = (g.type === VT.i32 ? 'i32' : g.type === VT.i64 ? 'i64' : g.type === VT.f32 ? 'f32' : g.type === VT.f64 ? 'f64' : 'v128') as GlobalInfo['type'];
    return [{ index, type, exportName }];
  });
  // [EXE-WASM-INSTRUMENT.1] the start function runs under the host's control, as canister_start
  let startExport: string | undefined;
  if (m.start !== undefined) {
    startExport = START_EXPORT;
    names.add(START_EXPORT);
    exports.push({ name: START_EXPORT, kind: EXTERNAL.func, index: m.start + K });
  }
  let memoryExport: string | undefined;
  let dirtyExport: string | undefined;
  if (hasMemory) {
    memoryExport = fresh_(MEMORY_EXPORT);
    exports.push({ name: memoryExport, kind: EXTERNAL.memory, index: 0 });
    dirtyExport = fresh_(DIRTY_EXPORT);
    exports.push({ name: dirtyExport, kind: EXTERNAL.memory, index: ctx.dirtyMem });
  }
  // [EXE-WASM-INSTRUMENT.1] callbacks are table indices: the host calls them through the dispatcher
  let callbackExport: string | undefined;
  if (funcTable) {
    callbackExport = fresh_(CALLBACK_EXPORT);
    exports.push({ name: callbackExport, kind: EXTERNAL.func, index: fnDispatch });
  }

  // element segments: function indices shift
  const elems: ElemSegment[] = m.elems.map((e) => ({
    ...e,
    offset: e.offset === undefined ? undefined : rewriteConstExpr(e.offset, K),
    funcs: e.funcs?.map((f) => f + K),
    exprs: e.exprs?.map((x) => rewriteConstExpr(x, K)),
  }));

  // [EXE-WASM-DATA.1] active data segments leave the module; an empty passive segment keeps each index
  const dataSegments: { offset: bigint; bytes: Uint8Array }[] = [];
  const datas: DataSegment[] = m.datas.map((d) => {
    if (d.mode !== 'active') return d;
    dataSegments.push({ offset: dataOffset(d.offset!), bytes: d.data.slice() });
    return { flags: 1, mode: 'passive', memory: 0, offset: undefined, data: new Uint8Array(0) };
  });

  const binary = encodeModule({
    types,
    imports: [...injected, ...m.imports],
    funcs,
    tables: m.tables,
    memories: mems,
    globals,
    exports,
    start: undefined,
    elems,
    dataCount: m.dataCount,
    bodies,
    datas,
    // [EXE-WASM-INSTRUMENT.1] the `name` section describes the old index spaces: dropped
    customs: m.customs.filter((cs) => cs.name !== 'name'),
  });

  // [EXE-METER-COMPILE.1] (instructions of the metered bodies + the replica's helpers + 2 per global) × 6000
  const compiledInstructions =
    BigInt(replicaInstructions + REPLICA_HELPER_INSTRUCTIONS) + COMPILE_INSTRUCTIONS_PER_GLOBAL * BigInt(nGlobals + 3);
  let memoryImport: InstrumentedModule['memoryImport'];
  const mi = m.imports.find((i) => i.desc.kind === 'memory');
  if (mi !== undefined) memoryImport = { module: mi.module, name: mi.name };
  return {
    binary,
    dataSegments,
    counterExport: COUNTER_EXPORT,
    memoryExport,
    memoryImport,
    dirtyExport,
    dirtyLayout,
    dirtyInitialPages,
    startExport,
    callbackExport,
    mutableGlobals,
    compileCost: compiledInstructions * COMPILE_COST_PER_INSTRUCTION,
    compiledInstructions,
    needsFreshInstance: fresh,
    is64,
  };
};
