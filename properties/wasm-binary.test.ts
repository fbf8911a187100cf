/** The binary decoder/encoder and the instruction walker. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import wabtInit from 'wabt';
import { createRequire } from 'node:module';
import {
  Imm,
  InstrReader,
  Reader,
  VT,
  Writer,
  allOpcodes,
  decodeModule,
  encodeModule,
  opImm,
  opName,
  readInstructions,
  reencode,
  writeOp,
  PREFIX_FD,
} from '../src/wasm/binary.js';
import { costTable, instructionCost, systemApi, systemApiCost, systemApiCharge, loggingChargeBytes, instructionLimits, validationLimits } from '../src/wasm/costs.js';
import { wat } from './wasm-helpers.js';

const wabt = await wabtInit();

describe('LEB128', () => {
  it('[EXE-WASM-FORMAT.1] u32, s32, s64 and u64 round-trip through Writer and Reader', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (u, s, l, ul) => {
        const w = new Writer(4).u32(u).s32(s).s64(l).u64(ul).u32padded(u);
        const r = new Reader(w.finish());
        expect(r.u32()).toBe(u);
        expect(r.s32()).toBe(s);
        expect(r.s64()).toBe(l);
        expect(r.u64()).toBe(ul);
        expect(r.u32()).toBe(u);
        expect(r.eof()).toBe(true);
      }),
    );
    // known encodings
    expect([...new Writer().s32(-1).finish()]).toEqual([0x7f]);
    expect([...new Writer().s32(64).finish()]).toEqual([0xc0, 0x00]);
    expect([...new Writer().u32(624485).finish()]).toEqual([0xe5, 0x8e, 0x26]);
    expect([...new Writer().s64(-(2n ** 63n)).finish()]).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]);
    expect(() => new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x10])).u32()).toThrow();
  });
});

describe('opcodes', () => {
  it('[EXE-WASM-FORMAT.1] every opcode decodes under the same name wabt prints (MVP, 0xFC, all of SIMD incl. relaxed)', () => {
    // one function holding every instruction with index-0 immediates, read back by wabt without validation
    const ops = allOpcodes().filter((op) => op !== 0x0b && op !== 0x05 && op !== 0x0e);
    const body = new Writer();
    body.u32(1).u32(1).u8(VT.i32); // one i32 local
    for (const op of ops) {
      writeOp(body, op);
      switch (opImm(op)) {
        case Imm.BlockType:
          body.u8(0x40);
          break;
        case Imm.Label:
        case Imm.Func:
        case Imm.Local:
        case Imm.Global:
        case Imm.Table:
        case Imm.Data:
        case Imm.Elem:
        case Imm.MemIdx:
          body.u32(0);
          break;
        case Imm.CallIndirect:
        case Imm.MemInit:
        case Imm.MemCopy:
        case Imm.TableInit:
        case Imm.TableCopy:
          body.u32(0).u32(0);
          break;
        case Imm.MemArg:
          body.u32(0).u64(0n);
          break;
        case Imm.MemArgLane:
          body.u32(0).u64(0n).u8(0);
          break;
        case Imm.I32:
          body.s32(0);
          break;
        case Imm.I64:
          body.s64(0n);
          break;
        case Imm.F32:
          body.u32le(0);
          break;
        case Imm.F64:
          body.u64le(0n);
          break;
        case Imm.RefNull:
          body.u8(VT.funcref);
          break;
        case Imm.SelectT:
          body.u32(1).u8(VT.i32);
          break;
        case Imm.V128:
        case Imm.Shuffle:
          body.bytes(new Uint8Array(16));
          break;
        case Imm.Lane:
          body.u8(0);
          break;
      }
      // close the blocks opened by block/loop/if at once
      if (op === 0x02 || op === 0x03 || op === 0x04) body.u8(0x0b);
    }
    body.u8(0x0b);
    const bin = encodeModule({
      types: [{ params: [], results: [] }],
      imports: [],
      funcs: [0],
      tables: [{ refType: VT.funcref, limits: { flags: 0, min: 1n, max: undefined, is64: false, shared: false } }],
      memories: [{ flags: 0, min: 1n, max: undefined, is64: false, shared: false }],
      globals: [{ type: { type: VT.i32, mutable: true }, init: new Uint8Array([0x41, 0, 0x0b]) }],
      exports: [],
      start: undefined,
      elems: [{ flags: 1, mode: 'passive', table: 0, offset: undefined, refType: VT.funcref, funcs: [0], exprs: undefined }],
      dataCount: 1,
      bodies: [body.finish()],
      datas: [{ flags: 1, mode: 'passive', memory: 0, offset: undefined, data: new Uint8Array([1]) }],
      customs: [],
    });
    const all = { simd: true, relaxed_simd: true, tail_call: true, bulk_memory: true, reference_types: true, sat_float_to_int: true, sign_extension: true, multi_value: true };
    const m = wabt.readWasm(bin, { readDebugNames: false, check: false, ...all });
    const text = m.toText({ foldExprs: false, inlineExport: false });
    m.destroy();
    const fn = text.slice(text.indexOf('(func'));
    const names = fn
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[0]!.replace(/\)+$/, ''))
      .filter((t) => t !== '' && !t.startsWith('(') && !t.startsWith(')') && t !== 'end');
    const mine = ops.map((op) => (op === 0x1c ? 'select' : opName(op)!));
    expect(names.length).toBe(mine.length);
    names.forEach((n, i) => {
      if (n !== mine[i]) expect(`${n} (0x${ops[i]!.toString(16)})`).toBe(mine[i]);
    });
  });

  it('[EXE-WASM-FORMAT.1] the walker yields each instruction with its byte span and immediates', () => {
    const b = wat(`(module (memory i64 2) (func (param i64) (result v128)
      local.get 0 v128.load offset=4294967296 align=8
      local.get 0 i64.const -5 i64.store32 offset=3
      i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))`);
    const m = decodeModule(b);
    if (m._tag === 'Left') throw m.left;
    const c = m.right.codes[0]!;
    const r = readInstructions(c.buf, c.codeStart, c.codeEnd);
    if (r._tag === 'Left') throw r.left;
    const xs = r.right;
    expect(xs.map((x) => x.name)).toEqual(['local.get', 'v128.load', 'local.get', 'i64.const', 'i64.store32', 'i8x16.shuffle', 'end']);
    expect(xs[1]!.imm).toEqual({ align: 3, memory: 0, offset: 4294967296n });
    expect(xs[3]!.imm).toEqual({ value: -5n });
    expect(xs[4]!.imm).toEqual({ align: 2, memory: 0, offset: 3n });
    expect(xs[5]!.op).toBe(PREFIX_FD + 0x0d);
    // spans are contiguous and cover the body
    expect(xs[0]!.start).toBe(c.codeStart);
    xs.forEach((x, i) => i > 0 && expect(x.start).toBe(xs[i - 1]!.end));
    expect(xs[xs.length - 1]!.end).toBe(c.codeEnd);
  });

  it('[EXE-WASM-FORMAT.1] GC types, exceptions and atomics are reported as unsupported proposals', () => {
    const gc = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 3, 1, 0x5f, 0]); // a struct type
    const e = decodeModule(gc);
    expect(e._tag === 'Left' && e.left.feature).toBe('gc');
    const atomic = new Uint8Array([0xfe, 0x03, 0x00, 0x0b]);
    const r = readInstructions(atomic, 0);
    expect(r._tag === 'Left' && r.left.feature).toBe('threads');
    const ex = readInstructions(new Uint8Array([0x08, 0x00, 0x0b]), 0);
    expect(ex._tag === 'Left' && ex.left.feature).toBe('exceptions');
  });
});

describe('the Motoko module', () => {
  const require = createRequire(import.meta.url);
  const mo = require('motoko') as { write: (f: string, s: string) => void; wasm: (f: string, mode: string) => { wasm: Uint8Array } };
  mo.write('Main.mo', 'persistent actor { var n : Nat = 0; public func inc() : async () { n += 1 }; public query func get() : async Nat { n } }');
  const { wasm } = mo.wasm('Main.mo', 'ic');

  it('[EXE-WASM-FORMAT.1] every body walks to its end with contiguous spans; decode + encode round-trips', () => {
    const m = decodeModule(wasm);
    if (m._tag === 'Left') throw m.left;
    let n = 0;
    for (const c of m.right.codes) {
      const ir = new InstrReader(c.buf, c.codeStart, c.codeEnd);
      let last = c.codeStart;
      while (ir.next()) {
        expect(ir.start).toBe(last);
        last = ir.end;
        n++;
      }
      expect(last).toBe(c.codeEnd);
    }
    expect(n).toBeGreaterThan(50000);
    const again = reencode(m.right);
    expect(WebAssembly.validate(again as BufferSource)).toBe(true);
    const m2 = decodeModule(again);
    if (m2._tag === 'Left') throw m2.left;
    expect(m2.right.codes.length).toBe(m.right.codes.length);
    expect(m2.right.exports).toEqual(m.right.exports);
    expect(reencode(m2.right)).toEqual(again);
  });
});

describe('the data tables', () => {
  it('[EXE-METER-WEIGHTS.1] the weight table: defaults, divisions, floats, memory accesses by width, calls, bulk, SIMD', () => {
    const w = (name: string, is64 = false): number => {
      const op = allOpcodes().find((o) => opName(o) === name)!;
      return instructionCost(op, is64);
    };
    expect([w('block'), w('loop'), w('else'), w('end')]).toEqual([0, 0, 0, 0]);
    expect([w('i32.add'), w('i64.div_s'), w('i32.rem_u'), w('f32.div'), w('f64.div'), w('f64.min'), w('f32.sqrt'), w('f64.sqrt')]).toEqual([1, 10, 10, 3, 5, 18, 5, 8]);
    expect([w('f32.convert_i32_s'), w('f64.convert_i64_u'), w('i32.trunc_f64_s'), w('i64.trunc_sat_f32_u'), w('f64.eq')]).toEqual([3, 16, 20, 20, 3]);
    expect([w('i32.load'), w('i32.load', true), w('v128.store16_lane'), w('v128.store16_lane', true)]).toEqual([1, 2, 1, 2]);
    expect([w('global.get'), w('table.get'), w('call'), w('call_indirect'), w('return_call'), w('return_call_indirect')]).toEqual([2, 5, 5, 10, 3, 60]);
    expect([w('memory.grow'), w('memory.size'), w('table.size'), w('memory.fill'), w('data.drop'), w('ref.func'), w('ref.is_null')]).toEqual([300, 20, 100, 100, 300, 130, 5]);
    expect([w('br_table'), w('if'), w('i8x16.shuffle'), w('i64x2.mul'), w('f64x2.sqrt'), w('f32x4.div'), w('i32x4.add'), w('i8x16.relaxed_swizzle')]).toEqual([2, 2, 3, 4, 14, 10, 1, 1]);
    // every opcode has a weight
    for (const op of allOpcodes()) expect(costTable(false)[op]).toBeGreaterThanOrEqual(0);
  });

  it('[EXE-METER-SYSAPI.1] System API charges: overhead + bytes (×1 for copies, ×50 for transmitted data, the logging charge)', () => {
    expect(systemApiCost('msg_caller_size')).toBe(500n);
    expect(systemApiCost('msg_arg_data_copy', 100)).toBe(600n);
    expect(systemApiCost('msg_reply_data_append', 10)).toBe(500n + 500n);
    expect(systemApiCost('msg_reject', 3)).toBe(650n);
    expect(systemApiCost('call_data_append', 2)).toBe(600n);
    expect(systemApiCharge('call_new', [0, 10, 0, 5, 0, 0, 0, 0])).toBe(1500n + 15n);
    expect(systemApiCost('call_perform')).toBe(5000n);
    expect(systemApiCharge('is_controller', [0, 29])).toBe(1029n);
    expect(systemApiCost('certified_data_set', 32)).toBe(532n);
    expect(systemApiCost('performance_counter')).toBe(200n);
    expect(systemApiCost('stable64_read', 1000)).toBe(1020n);
    expect(systemApiCost('stable64_size')).toBe(20n);
    expect(systemApiCost('cost_http_request_v2')).toBe(10000n);
    expect(systemApiCost('mint_cycles128')).toBe(0n);
    // debug_print: 100 + 2·min(len, capacity) + 50·min(len, remaining) (+ len when printing); trap: 500 + len + the same
    const log = { capacity: 4096n, remaining: 10n, printing: true };
    expect(loggingChargeBytes('debug_print', 20n, log)).toBe(40n + 500n + 20n);
    expect(systemApiCost('debug_print', 20, log)).toBe(100n + 560n);
    expect(systemApiCost('trap', 20, { ...log, printing: false })).toBe(500n + 20n + 40n + 500n);
    expect(systemApi.size).toBeGreaterThan(70);
  });

  it('[EXE-LIMITS-INSTRUCTIONS.1] instruction limits per kind of message, and the validation limits', () => {
    expect(instructionLimits.update).toEqual({ message: 40_000_000_000n, slice: 2_000_000_000n });
    expect(instructionLimits.query.message).toBe(5_000_000_000n);
    expect(instructionLimits.inspectMessage.message).toBe(200_000_000n);
    expect(instructionLimits.installCode).toEqual({ message: 300_000_000_000n, slice: 2_000_000_000n });
    expect(instructionLimits.round).toBe(7_000_000_000n);
    expect(instructionLimits.compositeQuery).toEqual({ total: 5_000_000_000n, perCallOverhead: 50_000_000n });
    expect(validationLimits.maxFunctions).toBe(50_000);
    expect(validationLimits.maxGlobals).toBe(1_000);
    expect(validationLimits.maxCodeSectionBytes).toBe(10 * 1024 * 1024);
  });
});
