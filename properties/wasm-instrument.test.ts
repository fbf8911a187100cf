/**
 * The instrumentation: exact metering against hand-counted costs, termination by
 * out_of_instructions, the write barrier, NaN canonicalization, behaviour preservation, the
 * rewritten module's interface, and the real Motoko output.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { OutOfInstructions, START, harness, wat, validOrFail } from './wasm-helpers.js';
import { instrument, COUNTER_EXPORT, dirtyLayout, meteringPoints } from '../src/wasm/instrument.js';
import { takeDirtyPages } from '../src/wasm/dirty.js';
import { decodeModule, opByName } from '../src/wasm/binary.js';
import { instructionCost } from '../src/wasm/costs.js';

// ---------------------------------------------------------------------------------------
// Exact metering, hand-counted

describe('metering: hand-counted instruction costs', () => {
  it('[EXE-METER-POINTS.1][EXE-METER-WEIGHTS.1] straight-line code: one reentrant point at entry', () => {
    const h = harness(wat(`(module (func (export "f") (result i32) i32.const 1 i32.const 2 i32.add))`));
    // entry 1 + i32.const 1 + i32.const 1 + i32.add 1 + end 0 = 4
    const r = h.cost('f');
    expect(r.result).toBe(3);
    expect(r.used).toBe(4n);
  });

  it('[EXE-METER-POINTS.1] an empty function costs 1', () => {
    const h = harness(wat(`(module (func (export "f")))`));
    // entry 1 + end 0
    expect(h.cost('f').used).toBe(1n);
  });

  it('[EXE-METER-POINTS.1][EXE-METER-WEIGHTS.1] if/else: the taken branch is charged', () => {
    const h = harness(
      wat(`(module (func (export "f") (param i32) (result i32)
        local.get 0
        if (result i32) i32.const 10 else i32.const 20 i32.const 1 i32.add end))`),
    );
    // entry: 1 + local.get 1 + if 2 = 4 (charged up front)
    // then-block: i32.const 1 + else 0 = 1        → 4 + 1 = 5
    // else-block: i32.const 1 + i32.const 1 + i32.add 1 + end 0 = 3   → 4 + 3 = 7
    expect(h.cost('f', 1)).toEqual({ used: 5n, result: 10 });
    expect(h.cost('f', 0)).toEqual({ used: 7n, result: 21 });
  });

  it('[EXE-METER-POINTS.1] a loop of N iterations: a reentrant point per iteration', () => {
    const h = harness(
      wat(`(module (func (export "f") (param $n i32)
        (loop $l local.get $n i32.const 1 i32.sub local.tee $n br_if $l)))`),
    );
    // entry: 1 + loop 0 = 1; loop body: local.get 1 + i32.const 1 + i32.sub 1 + local.tee 1 + br_if 2 = 6
    // the ends after the loop cost 0 (those points are dropped). N iterations: 1 + 6N
    for (const n of [1, 5, 100]) expect(h.cost('f', n).used).toBe(BigInt(1 + 6 * n));
  });

  it('[EXE-METER-POINTS.1][EXE-METER-WEIGHTS.1] br_table: each target block pays its own cost', () => {
    const h = harness(
      wat(`(module (func (export "f") (param i32) (result i32)
        (block $b2 (block $b1 (block $b0
          local.get 0
          br_table $b0 $b1 $b2)
          i32.const 100 return)
          i32.const 101 return)
        i32.const 102))`),
    );
    // entry: 1 + block 0 ×3 + local.get 1 + br_table 2 = 4
    // after $b0: i32.const 1 + return 1 = 2 → 6; after $b1: 2 → 6; after $b2: i32.const 1 + end 0 = 1 → 5
    expect(h.cost('f', 0)).toEqual({ used: 6n, result: 100 });
    expect(h.cost('f', 1)).toEqual({ used: 6n, result: 101 });
    expect(h.cost('f', 2)).toEqual({ used: 5n, result: 102 });
    expect(h.cost('f', 7)).toEqual({ used: 5n, result: 102 });
  });

  it('[EXE-METER-POINTS.1][EXE-METER-WEIGHTS.1] calls: call costs 5, the callee pays at its entry', () => {
    const h = harness(
      wat(`(module
        (func $g (param i32) (result i32) local.get 0 i32.const 1 i32.add)
        (func (export "f") (param i32) (result i32) local.get 0 call $g call $g))`),
    );
    // f: 1 + local.get 1 + call 5 + call 5 + end 0 = 12; g: 1 + 3 = 4 per call → 12 + 8 = 20
    expect(h.cost('f', 1)).toEqual({ used: 20n, result: 3 });
  });

  it('[EXE-METER-WEIGHTS.1] call_indirect 10, global.get/set 2, division 10, f64.sqrt 8, ref.func 130', () => {
    const h = harness(
      wat(`(module
        (type $t (func (result i32)))
        (table 1 funcref) (elem (i32.const 0) $k)
        (global $g (mut i32) (i32.const 7))
        (func $k (result i32) i32.const 9)
        (func (export "f") (result i32)
          i32.const 0 call_indirect (type $t)
          global.get $g i32.div_u
          global.set $g
          f64.const 2 f64.sqrt drop
          ref.func $k drop
          global.get $g))`),
    );
    // f: 1 + i32.const 1 + call_indirect 10 + global.get 2 + i32.div_u 10 + global.set 2
    //      + f64.const 1 + f64.sqrt 8 + drop 1 + ref.func 130 + drop 1 + global.get 2 + end 0 = 169
    // k: 1 + i32.const 1 = 2 → 171
    expect(h.cost('f')).toEqual({ used: 171n, result: 1 });
  });

  it('[EXE-METER-BULK.1] memory.fill of n bytes costs its static 100 plus n', () => {
    const h = harness(wat(`(module (memory 1) (func (export "f") (param i32) i32.const 0 i32.const 7 local.get 0 memory.fill))`));
    // static: 1 + i32.const 1 + i32.const 1 + local.get 1 + memory.fill 100 + end 0 = 104; dynamic: n
    for (const n of [0, 1, 4096, 65536]) expect(h.cost('f', n).used).toBe(104n + BigInt(n));
  });

  it('[EXE-METER-BULK.1] memory.copy and memory.init charge their length; Wasm64 lengths are i64', () => {
    const h = harness(
      wat(`(module (memory 1) (data $d "abcdefgh")
        (func (export "copy") (param i32) i32.const 100 i32.const 0 local.get 0 memory.copy)
        (func (export "init") (param i32) i32.const 100 i32.const 0 local.get 0 memory.init $d))`),
    );
    // copy: 1 + 3 + memory.copy 100 = 104 + n; init: 1 + 3 + memory.init 100 = 104 + n
    expect(h.cost('copy', 50).used).toBe(154n);
    expect(h.cost('init', 8).used).toBe(112n);
    const h64 = harness(wat(`(module (memory i64 1) (func (export "f") (param i64) i64.const 0 i32.const 7 local.get 0 memory.fill))`));
    // 1 + i64.const 1 + i32.const 1 + local.get 1 + memory.fill 100 = 104 (+ n, passed as i64)
    expect(h64.cost('f', 1000n).used).toBe(1104n);
  });

  it('[EXE-METER-BULK.1] a subtraction that wraps saturates the counter to i64::MIN, then out_of_instructions', () => {
    const h = harness(wat(`(module (memory i64 1) (func (export "f") (param i64) i64.const 0 i32.const 7 local.get 0 memory.fill))`));
    const seen: bigint[] = [];
    h.onOoi = () => {
      seen.push(h.counter.value as bigint);
      if (seen.length === 2) throw new OutOfInstructions();
    };
    // a counter already far below zero (the entry check calls out_of_instructions, which returns),
    // then n = 2^62 + 10: −2^62 − 104 − n wraps around, so the helper stores i64::MIN
    h.counter.value = -(2n ** 62n);
    expect(() => (h.exports['f'] as (n: bigint) => void)(2n ** 62n + 10n)).toThrow(OutOfInstructions);
    expect(seen).toEqual([-(2n ** 62n) - 104n, -(2n ** 63n)]);
  });

  it('[EXE-METER-GROW.1] memory.grow costs 300 and is followed by try_grow_wasm_memory(result, delta)', () => {
    const h = harness(wat(`(module (memory 1) (func (export "f") (param i32) (result i32) local.get 0 memory.grow))`));
    // 1 + local.get 1 + memory.grow 300 + end 0 = 302
    expect(h.cost('f', 2)).toEqual({ used: 302n, result: 1 });
    expect(h.grows).toEqual([[1, 2]]);
    expect(h.memory!.buffer.byteLength).toBe(3 * 65536);
    // a failing grow reports -1 too
    expect(h.cost('f', 70000).result).toBe(-1);
    expect(h.grows[1]).toEqual([-1, 70000]);
    const h64 = harness(wat(`(module (memory i64 1) (func (export "f") (param i64) (result i64) local.get 0 memory.grow))`));
    expect(h64.cost('f', 1n)).toEqual({ used: 302n, result: 1n });
    expect(h64.grows).toEqual([[1n, 1n]]);
  });

  it('[EXE-METER-WEIGHTS.1] loads and stores cost 1 in Wasm32 and 2 in Wasm64', () => {
    const body = (t: string) => `(func (export "f") (param ${t}) (result i64) local.get 0 i64.const 42 i64.store offset=8 local.get 0 i64.load offset=8)`;
    // local.get 1 + i64.const 1 + i64.store s + local.get 1 + i64.load s + end 0, plus entry 1
    const h32 = harness(wat(`(module (memory 1) ${body('i32')})`));
    expect(h32.cost('f', 16)).toEqual({ used: 1n + 3n + 2n * 1n, result: 42n });
    const h64 = harness(wat(`(module (memory i64 1) ${body('i64')})`));
    expect(h64.cost('f', 16n)).toEqual({ used: 1n + 3n + 2n * 2n, result: 42n });
  });

  it('[EXE-METER-POINTS.1] the injection points equal an independent transcription of the replica algorithm', () => {
    // random straight-line/structured opcode sequences; reference: the replica's algorithm written out again
    const names = ['nop', 'drop', 'i32.add', 'call', 'br', 'br_if', 'if', 'else', 'end', 'loop', 'block', 'return', 'memory.fill', 'memory.init', 'i32.div_s', 'f64.min'];
    const codes = names.map((n) => opByName(n)!);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...codes), { maxLength: 60 }), fc.boolean(), (ops, is64) => {
        const all = [...ops, opByName('end')!];
        const got = meteringPoints(all, is64, () => false, all.map(() => 0)).map((p) => [p.pos, p.kind, p.cost]);
        // reference
        const res: { pos: number; kind: string; cost: number; seq: number }[] = [];
        let seq = 0;
        let cur = { pos: 0, kind: 'R', cost: 1, seq: 0 };
        all.forEach((op, i) => {
          cur.cost += instructionCost(op, is64);
          const n = names[codes.indexOf(op)] ?? 'end';
          if (n === 'loop') (res.push({ ...cur, seq: seq++ }), (cur = { pos: i + 1, kind: 'R', cost: 0, seq: 0 }));
          else if (n === 'if') (res.push({ ...cur, seq: seq++ }), (cur = { pos: i + 1, kind: 'N', cost: 0, seq: 0 }));
          else if (['else', 'br', 'br_if', 'end', 'return'].includes(n)) (res.push({ ...cur, seq: seq++ }), (cur = { pos: i + 1, kind: 'B', cost: 0, seq: 0 }));
          else if (n === 'memory.fill') res.push({ pos: i, kind: is64 ? 'D64' : 'D32', cost: 0, seq: seq++ });
          else if (n === 'memory.init') res.push({ pos: i, kind: 'D32', cost: 0, seq: seq++ });
        });
        const sorted = res.sort((a, b) => a.pos - b.pos || a.seq - b.seq).filter((p) => p.kind === 'R' || p.kind.startsWith('D') || p.cost > 0);
        const kindCode = { R: 0, N: 1, B: 2, D32: 3, D64: 4 } as Record<string, number>;
        expect(got).toEqual(sorted.map((p) => [p.pos, kindCode[p.kind], p.cost]));
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------
// Termination

describe('out_of_instructions', () => {
  it('[EXE-METER-POINTS.1] an infinite loop ends by out_of_instructions at a loop header', () => {
    const h = harness(wat(`(module (func (export "f") (loop $l br $l)))`));
    h.counter.value = 1000n;
    expect(() => (h.exports['f'] as () => void)()).toThrow(OutOfInstructions);
    expect(h.ooi).toBe(1);
    // entry 1, then 2 per iteration (br): the check fails once the counter is below 0
    expect(h.counter.value).toBe(-1n);
  });

  it('[EXE-METER-POINTS.1] a host that refills the counter lets the loop continue (time slicing)', () => {
    const h = harness(wat(`(module (func (export "f") (param $n i32) (loop $l local.get $n i32.const 1 i32.sub local.tee $n br_if $l)))`));
    let refills = 0;
    h.onOoi = (x) => {
      refills++;
      x.counter.value = (x.counter.value as bigint) + 600n;
    };
    h.counter.value = 600n;
    (h.exports['f'] as (n: number) => void)(1000);
    // 1 + 6000 instructions in total, 600 per slice
    expect(refills).toBe(10);
    expect(600n * 11n - (h.counter.value as bigint)).toBe(6001n);
  });

  it('[EXE-METER-POINTS.1] recursion without loops is checked at every function entry', () => {
    const h = harness(wat(`(module (func $f (export "f") call $f))`));
    h.counter.value = 60n;
    expect(() => (h.exports['f'] as () => void)()).toThrow(OutOfInstructions);
  });
});

// ---------------------------------------------------------------------------------------
// The write barrier

const DIRTY_MODULE = (mem: 'i32' | 'i64') => {
  const I = mem;
  return `(module
  (memory ${mem === 'i64' ? 'i64 ' : ''}16)
  (data $seg "0123456789abcdefghijklmnopqrstuvwxyz")
  (func (export "s8") (param $a ${I}) (param $v i32) local.get $a local.get $v i32.store8)
  (func (export "s16") (param $a ${I}) (param $v i32) local.get $a local.get $v i32.store16 offset=4093)
  (func (export "s32") (param $a ${I}) (param $v i32) local.get $a local.get $v i32.store offset=1)
  (func (export "s64") (param $a ${I}) (param $v i64) local.get $a local.get $v i64.store offset=4095)
  (func (export "s64_32") (param $a ${I}) (param $v i64) local.get $a local.get $v i64.store32 offset=2)
  (func (export "f32") (param $a ${I}) (param $v f32) local.get $a local.get $v f32.store)
  (func (export "f64") (param $a ${I}) (param $v f64) local.get $a local.get $v f64.store offset=7)
  (func (export "v128") (param $a ${I}) (param $v i32) local.get $a local.get $v i32x4.splat v128.store offset=4090)
  (func (export "lane") (param $a ${I}) (param $v i64) local.get $a local.get $v i64x2.splat v128.store64_lane offset=4093 1)
  (func (export "fill") (param $d ${I}) (param $v i32) (param $n ${I}) local.get $d local.get $v local.get $n memory.fill)
  (func (export "copy") (param $d ${I}) (param $s ${I}) (param $n ${I}) local.get $d local.get $s local.get $n memory.copy)
  (func (export "init") (param $d ${I}) (param $s i32) (param $n i32) local.get $d local.get $s local.get $n memory.init $seg)
  (func (export "grow") (param $n ${I}) (result ${I}) local.get $n memory.grow)
  (func (export "strided") (param $a ${I}) (param $st ${I}) (param $n i32)
    (block $done (loop $l
      local.get $n i32.eqz br_if $done
      local.get $a local.get $n i32.store16 offset=4090
      local.get $a local.get $st ${I}.add local.set $a
      local.get $n i32.const 1 i32.sub local.set $n
      br $l))))`;
};

type DirtyOp =
  | { k: 's8' | 's16' | 's32' | 'f32' | 'v128'; a: number; v: number }
  | { k: 's64' | 's64_32' | 'lane'; a: number; v: bigint }
  | { k: 'f64'; a: number; v: number }
  | { k: 'fill'; d: number; v: number; n: number }
  | { k: 'copy'; d: number; s: number; n: number }
  | { k: 'init'; d: number; s: number; n: number }
  | { k: 'grow'; n: number }
  | { k: 'strided'; a: number; st: number; n: number };

const MEM = 16 * 65536;
const arbAddr = fc.oneof(
  fc.integer({ min: 0, max: MEM + 5000 }),
  fc.integer({ min: 0, max: 300 }).chain((p) => fc.integer({ min: -20, max: 20 }).map((d) => Math.max(0, p * 4096 + d))),
);
const arbOp: fc.Arbitrary<DirtyOp> = fc.oneof(
  fc.record({ k: fc.constantFrom('s8' as const, 's16' as const, 's32' as const, 'f32' as const, 'v128' as const), a: arbAddr, v: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ k: fc.constantFrom('s64' as const, 's64_32' as const, 'lane' as const), a: arbAddr, v: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }) }),
  fc.record({ k: fc.constant('f64' as const), a: arbAddr, v: fc.double({ noNaN: true, min: 1, max: 1e300 }) }),
  fc.record({ k: fc.constant('fill' as const), d: arbAddr, v: fc.integer({ min: 1, max: 255 }), n: fc.integer({ min: 0, max: 20000 }) }),
  fc.record({ k: fc.constant('copy' as const), d: arbAddr, s: arbAddr, n: fc.integer({ min: 0, max: 20000 }) }),
  fc.record({ k: fc.constant('init' as const), d: arbAddr, s: fc.integer({ min: 0, max: 40 }), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ k: fc.constant('grow' as const), n: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ k: fc.constant('strided' as const), a: arbAddr, st: fc.oneof(fc.constantFrom(0, 1, 2, 4094, 4095, 4096, 4097, 8192), fc.integer({ min: 0, max: 9000 })), n: fc.integer({ min: 0, max: 40 }) }),
);

describe('write barrier', () => {
  for (const mem of ['i32', 'i64'] as const) {
    it(`[EXE-WASM-DIRTY.1] every page whose bytes changed is in the dirty list (${mem} memory)`, () => {
      const bytes = wat(DIRTY_MODULE(mem));
      const A = (x: number): number | bigint => (mem === 'i64' ? BigInt(x) : x);
      fc.assert(
        fc.property(fc.array(arbOp, { minLength: 1, maxLength: 12 }), (ops) => {
          const h = harness(bytes);
          const ex = h.exports as Record<string, (...a: unknown[]) => unknown>;
          // some writes before the message: the tracker is cleared at its start
          ex['fill']!(A(0), 3, A(3 * 4096));
          takeDirtyPages(h.dirty!);
          const before = new Uint8Array(h.memory!.buffer).slice();
          for (const op of ops) {
            try {
              switch (op.k) {
                case 'fill':
                  ex['fill']!(A(op.d), op.v, A(op.n));
                  break;
                case 'copy':
                  ex['copy']!(A(op.d), A(op.s), A(op.n));
                  break;
                case 'init':
                  ex['init']!(A(op.d), op.s, op.n);
                  break;
                case 'grow':
                  ex['grow']!(A(op.n));
                  break;
                case 'strided':
                  ex['strided']!(A(op.a), A(op.st), op.n);
                  break;
                default:
                  ex[op.k]!(A(op.a), op.v);
              }
            } catch (e) {
              if (!(e instanceof WebAssembly.RuntimeError)) throw e; // out of bounds: traps, writes nothing
            }
          }
          const dirty = takeDirtyPages(h.dirty!);
          expect(new Set(dirty).size).toBe(dirty.length); // each page listed once
          const after = new Uint8Array(h.memory!.buffer);
          const set = new Set(dirty);
          for (let p = 0; p * 4096 < after.length; p++) {
            const lo = p * 4096;
            let changed = false;
            for (let i = lo; i < lo + 4096 && !changed; i++) if ((i < before.length ? before[i] : 0) !== after[i]) changed = true;
            if (changed) expect(set.has(p), `page ${p} changed but is not listed`).toBe(true);
          }
        }),
        { numRuns: 150 },
      );
    });
  }

  it('[EXE-WASM-DIRTY.1] a store across a page boundary marks both pages; a load marks nothing', () => {
    const src = DIRTY_MODULE('i32').replace(/\)\s*$/, '(func (export "load") (param i32) (result i64) local.get 0 i64.load))');
    const h = harness(wat(src));
    const ex = h.exports as Record<string, (...a: unknown[]) => unknown>;
    takeDirtyPages(h.dirty!);
    ex['s64']!(8191, 7n); // offset 4095: effective address 12286 .. 12293, pages 2 and 3
    expect(takeDirtyPages(h.dirty!).sort()).toEqual([2, 3]);
    ex['load']!(8192);
    expect(takeDirtyPages(h.dirty!)).toEqual([]);
    // the same page again in later messages, and many stores to one page in one invocation
    for (let k = 0; k < 3; k++) {
      ex['s8']!(5 * 4096 + k, 1);
      expect(takeDirtyPages(h.dirty!)).toEqual([5]);
    }
    ex['strided']!(4096 * 7, 8, 100); // offset 4090: bytes 32762.. → pages 7 and 8
    expect(takeDirtyPages(h.dirty!).sort()).toEqual([7, 8]);
  });

  it('[EXE-WASM-DIRTY.1] the list overflows into a bytemap scan without losing pages', () => {
    const h = harness(wat(`(module (memory 4000) (func (export "s") (param i32) local.get 0 i32.const 1 i32.store8))`));
    const s = h.exports['s'] as (a: number) => void;
    const n = dirtyLayout.listCapacity + 10;
    for (let p = 0; p < n; p++) s(p * 4096 + 5);
    const pages = takeDirtyPages(h.dirty!);
    expect(pages.length).toBe(n);
    expect(pages[n - 1]).toBe(n - 1);
    expect(takeDirtyPages(h.dirty!)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// NaN canonicalization

describe('NaN canonicalization', () => {
  const src = `(module
    (func (export "add32") (param i32 i32) (result i32) local.get 0 f32.reinterpret_i32 local.get 1 f32.reinterpret_i32 f32.add i32.reinterpret_f32)
    (func (export "div32") (param i32 i32) (result i32) local.get 0 f32.reinterpret_i32 local.get 1 f32.reinterpret_i32 f32.div i32.reinterpret_f32)
    (func (export "mul64") (param i64 i64) (result i64) local.get 0 f64.reinterpret_i64 local.get 1 f64.reinterpret_i64 f64.mul i64.reinterpret_f64)
    (func (export "sqrt64") (param i64) (result i64) local.get 0 f64.reinterpret_i64 f64.sqrt i64.reinterpret_f64)
    (func (export "demote") (param i64) (result i32) local.get 0 f64.reinterpret_i64 f32.demote_f64 i32.reinterpret_f32)
    (func (export "neg32") (param i32) (result i32) local.get 0 f32.reinterpret_i32 f32.neg i32.reinterpret_f32)
    (func (export "vadd") (param i32 i32) (result i32) local.get 0 i32x4.splat local.get 1 i32x4.splat f32x4.add i32x4.extract_lane 2))`;
  const CANON32 = 0x7fc00000;
  const CANON64 = 0x7ff8000000000000n;

  it('[EXE-WASM-NAN.1] V8 alone keeps NaN payloads and signs; instrumented results are the canonical NaN', () => {
    const plain = new WebAssembly.Instance(new WebAssembly.Module(wat(src) as BufferSource)).exports as Record<string, (...a: unknown[]) => number | bigint>;
    const h = harness(wat(src));
    const ex = h.exports as Record<string, (...a: unknown[]) => number | bigint>;
    const u32 = (x: number | bigint): number => Number(x) >>> 0;
    const u64 = (x: number | bigint): bigint => BigInt.asUintN(64, BigInt(x));
    const payloadNaN = 0x7fc01234;
    const negPayload64 = 0xfff8000000000abcn;
    // uninstrumented V8 propagates a payload (and 0/0 has the sign of x86's default NaN): not canonical
    const plainBits = [u32(plain['add32']!(payloadNaN, 0x3f800000)), u32(plain['div32']!(0, 0)), u32(plain['vadd']!(payloadNaN, 0))];
    expect(plainBits.some((b) => b !== CANON32)).toBe(true);
    expect(u64(plain['mul64']!(BigInt.asIntN(64, negPayload64), 0x3ff0000000000000n))).not.toBe(CANON64);
    // instrumented: canonical every time
    expect(u32(ex['add32']!(payloadNaN, 0x3f800000))).toBe(CANON32);
    expect(u32(ex['div32']!(0, 0))).toBe(CANON32);
    expect(u32(ex['vadd']!(payloadNaN, 0))).toBe(CANON32);
    expect(u64(ex['mul64']!(BigInt.asIntN(64, negPayload64), 0x3ff0000000000000n))).toBe(CANON64);
    expect(u64(ex['sqrt64']!(-0x4010000000000000n))).toBe(CANON64); // sqrt(-4)
    expect(u32(ex['demote']!(BigInt.asIntN(64, negPayload64)))).toBe(CANON32);
    // neg only flips the sign bit: not canonicalized
    expect(u32(ex['neg32']!(payloadNaN))).toBe(0xffc01234);
    // ordinary values are untouched
    expect(u32(ex['add32']!(0x3f800000, 0x3f800000))).toBe(0x40000000);
  });

  it('[EXE-WASM-NAN.1] on random bit patterns, instrumented results equal V8\'s except that every NaN is canonical', () => {
    const plain = new WebAssembly.Instance(new WebAssembly.Module(wat(src) as BufferSource)).exports as Record<string, (...a: unknown[]) => number>;
    const ex = harness(wat(src)).exports as Record<string, (...a: unknown[]) => number>;
    const isNaN32 = (b: number): boolean => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
    fc.assert(
      fc.property(fc.integer(), fc.integer(), fc.constantFrom('add32', 'div32'), (a, b, f) => {
        const p = plain[f]!(a, b) >>> 0;
        const q = ex[f]!(a, b) >>> 0;
        if (isNaN32(p)) expect(q).toBe(CANON32);
        else expect(q).toBe(p);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------
// Behaviour is preserved

describe('instrumented modules behave like the originals', () => {
  const src = `(module
    (memory 1)
    (func $mix (export "mix") (param i32 i32) (result i32)
      (local $i i32) (local $acc i32)
      local.get 1 i32.const 31 i32.and local.set $i
      (block $done (loop $l
        local.get $i i32.eqz br_if $done
        local.get $acc local.get 0 i32.rotl local.get $i i32.xor i32.const 2654435761 i32.mul local.set $acc
        local.get $i i32.const 1 i32.sub local.set $i br $l))
      local.get $acc local.get 1 i32.const 1 i32.or i32.rem_u local.get 0 i32.add)
    (func (export "wide") (param i64 i64) (result i64)
      local.get 0 local.get 1 i64.mul local.get 0 i64.const 1 i64.or local.get 1 i64.const 1 i64.or i64.div_s i64.add i64.popcnt)
    (func (export "mem") (param i32 i32) (result i32)
      (local $k i32)
      (loop $l
        local.get $k i32.const 4 i32.mul local.get 0 local.get $k i32.mul i32.store offset=1000
        local.get $k i32.const 1 i32.add local.tee $k i32.const 64 i32.lt_u br_if $l)
      i32.const 0 i32.const 1000 local.get 1 i32.const 255 i32.and i32.const 4 i32.mul i32.add i32.const 64 memory.copy
      i32.const 0 i32.load local.get 0 local.get 1 call $mix i32.add)
    (func (export "float") (param f64 f64) (result f64)
      local.get 0 local.get 1 f64.add local.get 0 f64.abs f64.sqrt f64.mul local.get 1 f64.const 3 f64.max f64.div))`;

  it('[EXE-WASM-INSTRUMENT.1] same results on random inputs (integer, memory, float)', () => {
    const plain = new WebAssembly.Instance(new WebAssembly.Module(wat(src) as BufferSource)).exports as Record<string, (...a: unknown[]) => unknown>;
    const ex = harness(wat(src)).exports as Record<string, (...a: unknown[]) => unknown>;
    fc.assert(
      fc.property(fc.integer(), fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.double({ noNaN: true }), fc.double({ noNaN: true }), (a, b, x, y, f, g) => {
        expect(ex['mix']!(a, b)).toBe(plain['mix']!(a, b));
        expect(ex['wide']!(x, y)).toBe(plain['wide']!(x, y));
        expect(ex['mem']!(a, b)).toBe(plain['mem']!(a, b));
        const r1 = plain['float']!(f, g) as number;
        const r2 = ex['float']!(f, g) as number;
        if (Number.isNaN(r1)) expect(Number.isNaN(r2)).toBe(true);
        else expect(Object.is(r1, r2)).toBe(true);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------
// The rewritten module's interface

describe('the instrumented module', () => {
  it('[EXE-WASM-INSTRUMENT.1] injected imports come first; calls, exports, elements, ref.func and start shift; the name section is dropped', () => {
    const bytes = wat(`(module
      (import "ic0" "msg_reply" (func $reply))
      (type $t (func (param i32) (result i32)))
      (table 4 funcref)
      (elem (i32.const 0) $inc $dbl)
      (elem declare func $dbl)
      (elem (i32.const 2) funcref (ref.func $dbl))
      (global $cnt (mut i32) (i32.const 0))
      (global $k i64 (i64.const 5))
      (global $e (export "exported_mut") (mut i64) (i64.const 9))
      (func $inc (param i32) (result i32) local.get 0 i32.const 1 i32.add)
      (func $dbl (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
      (func $start global.get $cnt i32.const 100 i32.add global.set $cnt)
      (start $start)
      (func (export "apply") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (type $t))
      (func (export "direct") (param i32) (result i32) local.get 0 call $inc call $dbl)
      (func (export "cb") (param i32) local.get 0 global.set $cnt)
      (func (export "get") (result i32) global.get $cnt))`);
    const withName = validOrFail(bytes).module.customs.some((c) => c.name === 'name');
    const h = harness(bytes, { msg_reply: () => {} });
    const ex = h.exports as Record<string, (...a: unknown[]) => unknown>;
    const m = decodeModule(h.inst.binary);
    if (m._tag === 'Left') throw m.left;
    expect(m.right.imports.slice(0, 2).map((i) => `${i.module}.${i.name}`)).toEqual(['__.out_of_instructions', '__.try_grow_wasm_memory']);
    expect(m.right.start).toBeUndefined();
    if (withName) expect(m.right.customs.some((c) => c.name === 'name')).toBe(false);
    // the start function did not run at instantiation; canister_start runs it
    expect(ex['get']!()).toBe(0);
    expect(h.inst.startExport).toBe('canister_start');
    ex['canister_start']!();
    expect(ex['get']!()).toBe(100);
    expect(ex['apply']!(0, 5)).toBe(6);
    expect(ex['apply']!(1, 5)).toBe(10);
    expect(ex['direct']!(5)).toBe(12);
    // every mutable global is exported, the user-exported one too
    expect(ex['apply']!(2, 6)).toBe(12); // slot 2 from an element expression (ref.func)
    expect(h.inst.mutableGlobals.map((g) => [g.index, g.type])).toEqual([
      [0, 'i32'],
      [2, 'i64'],
    ]);
    const cnt = ex[h.inst.mutableGlobals[0]!.exportName] as unknown as WebAssembly.Global;
    expect(cnt.value).toBe(100);
    cnt.value = 7;
    expect(ex['get']!()).toBe(7);
    expect(h.inst.counterExport).toBe(COUNTER_EXPORT);
    // the callback dispatcher: call_indirect of table 0 with (env)
    const t = h.instance.exports['__icspec_callback'] as (fun: number, env: number) => void;
    expect(() => t(3, 0)).toThrow(WebAssembly.RuntimeError); // table slot 3 is null
  });

  it('[EXE-WASM-INSTRUMENT.1] __icspec_callback calls table entry fun with env (Wasm32 and Wasm64)', () => {
    for (const I of ['i32', 'i64']) {
      const h = harness(
        wat(`(module (memory ${I === 'i64' ? 'i64 ' : ''}1) (table 2 funcref) (elem (i32.const 1) $cb)
          (global $g (mut ${I}) (${I}.const 0))
          (func $cb (param ${I}) local.get 0 global.set $g)
          (func (export "get") (result ${I}) global.get $g))`),
      );
      const cb = h.exports[h.inst.callbackExport!] as (f: unknown, e: unknown) => void;
      const v = (x: number): unknown => (I === 'i64' ? BigInt(x) : x);
      h.counter.value = START;
      cb(v(1), v(77));
      // the callback itself is metered (entry 1 + local.get 1 + global.set 2), the dispatcher is not
      expect(START - (h.counter.value as bigint)).toBe(4n);
      expect((h.exports['get'] as () => unknown)()).toBe(v(77));
    }
  });

  it('[EXE-WASM-DATA.1] active data segments are returned and removed; passive ones stay usable', () => {
    const h = harness(
      wat(`(module (memory 1) (data (i32.const 10) "hello") (data $p "world") (data (i32.const 100) "!")
        (func (export "init") i32.const 20 i32.const 0 i32.const 5 memory.init $p)
        (func (export "init0") i32.const 20 i32.const 0 i32.const 1 memory.init 0))`),
    );
    expect(h.inst.dataSegments.map((s) => [s.offset, new TextDecoder().decode(s.bytes)])).toEqual([
      [10n, 'hello'],
      [100n, '!'],
    ]);
    const mem = new Uint8Array(h.memory!.buffer);
    (h.exports['init'] as () => void)();
    expect(new TextDecoder().decode(mem.subarray(10, 25))).toBe('hello\0\0\0\0\0world');
    // the former active segment behaves as dropped (an empty segment): memory.init of a byte traps
    expect(() => (h.exports['init0'] as () => void)()).toThrow(WebAssembly.RuntimeError);
  });

  it('[EXE-WASM-INSTRUMENT.1] needsFreshInstance: set by data.drop / elem.drop, not by plain code', () => {
    expect(harness(wat(`(module (memory 1) (func (export "f") i32.const 0 drop))`)).inst.needsFreshInstance).toBe(false);
    expect(harness(wat(`(module (memory 1) (data $d "x") (func (export "f") data.drop $d))`)).inst.needsFreshInstance).toBe(true);
    expect(harness(wat(`(module (table 1 funcref) (elem $e func $f) (func $f) (func (export "g") elem.drop $e))`)).inst.needsFreshInstance).toBe(true);
  });

  it('[EXE-WASM-INSTRUMENT.1] an imported env.memory stays imported and is re-exported; the tracker is added', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const h = harness(wat(`(module (import "env" "memory" (memory 1)) (func (export "s") (param i32) local.get 0 i32.const 9 i32.store8))`), {}, { memory });
    expect(h.inst.memoryImport).toEqual({ module: 'env', name: 'memory' });
    expect(h.memory).toBe(memory);
    (h.exports['s'] as (a: number) => void)(70000);
    expect(takeDirtyPages(h.dirty!)).toEqual([17]);
  });

  it('[EXE-METER-COMPILE.1] compilation charge: (metered instructions + replica helpers + 2 per global) × 6000', () => {
    const h = harness(wat(`(module (func (export "f") i32.const 1 drop))`));
    // body: i32.const, drop, end = 3; entry point code = 10 instructions; helpers 19 + 45;
    // globals: 0 + 3 injected, 2 each → 3 + 10 + 64 + 6 = 83
    expect(h.inst.compiledInstructions).toBe(83n);
    expect(h.inst.compileCost).toBe(83n * 6000n);
    const g = harness(wat(`(module (memory 1) (global (mut i32) (i32.const 0)) (func (export "f") (param i32) (result i32) (loop local.get 0 memory.grow drop) i32.const 0 i32.const 0 i32.const 1 memory.fill i32.const 1))`));
    // ops: loop, local.get, memory.grow, drop, end, i32.const×3, memory.fill, i32.const, end = 11
    // points: entry (10) + loop body (10) + after loop end: i32.const×3 + fill + i32.const → cost > 0 (4) + dynamic X32 (3) = 27
    // memory.grow: +3; helpers 64; globals (1 + 3) × 2 = 8 → 11 + 27 + 3 + 64 + 8 = 113
    expect(g.inst.compiledInstructions).toBe(113n);
  });
});

// ---------------------------------------------------------------------------------------
// Motoko

describe('the real Motoko output', () => {
  const require = createRequire(import.meta.url);
  const mo = require('motoko') as { write: (f: string, s: string) => void; wasm: (f: string, mode: string) => { wasm: Uint8Array } };
  mo.write('Main.mo', 'persistent actor { var n : Nat = 0; public func inc() : async () { n += 1 }; public query func get() : async Nat { n } }');
  const { wasm } = mo.wasm('Main.mo', 'ic');

  it('[EXE-WASM-INSTRUMENT.1][EXE-WASM-FORMAT.1] the memory64 counter canister validates, instruments and compiles under V8', () => {
    const info = validOrFail(wasm);
    expect(info.memory?.is64).toBe(true);
    expect(info.exports.update).toContain('inc');
    expect(info.exports.query).toContain('get');
    const inst = instrument(info.bytes, info);
    const mod = new WebAssembly.Module(inst.binary as BufferSource);
    const names = WebAssembly.Module.exports(mod).map((e) => e.name);
    expect(names).toContain('canister_update inc');
    expect(names).toContain(COUNTER_EXPORT);
    expect(names).toContain(inst.dirtyExport);
    expect(inst.compileCost).toBeGreaterThan(0n);
  });
});

// ---------------------------------------------------------------------------------------
// The Motoko counter, run: original and instrumented side by side

/** Minimal ic0 for one canister: enough for the Motoko runtime to init, update and query. */
const ic0Stub = (mem: () => WebAssembly.Memory, arg: Uint8Array) => {
  const st = { stable: new Uint8Array(0), reply: [] as number[], replied: false };
  const bytes = () => new Uint8Array(mem().buffer);
  const n = (x: number | bigint) => Number(x);
  const fns: Record<string, (...a: (number | bigint)[]) => unknown> = {
    msg_arg_data_size: () => BigInt(arg.length),
    msg_arg_data_copy: (dst, off, size) => bytes().set(arg.subarray(n(off), n(off) + n(size)), n(dst)),
    msg_caller_size: () => 1n,
    msg_caller_copy: (dst) => bytes().set([4], n(dst)),
    canister_self_size: () => 1n,
    canister_self_copy: (dst) => bytes().set([1], n(dst)),
    canister_status: () => 1,
    is_controller: () => 1,
    msg_reply_data_append: (src, size) => st.reply.push(...bytes().subarray(n(src), n(src) + n(size))),
    msg_reply: () => {
      st.replied = true;
    },
    msg_reject: () => {
      throw new Error('rejected');
    },
    debug_print: () => {},
    trap: (src, size) => {
      throw new Error('trap: ' + new TextDecoder().decode(bytes().subarray(n(src), n(src) + n(size))));
    },
    performance_counter: () => 0n,
    time: () => 1_700_000_000_000_000_000n,
    global_timer_set: () => 0n,
    stable64_size: () => BigInt(st.stable.length / 65536),
    stable64_grow: (d) => {
      const old = st.stable.length / 65536;
      const next = new Uint8Array(st.stable.length + n(d) * 65536);
      next.set(st.stable);
      st.stable = next;
      return BigInt(old);
    },
    stable64_write: (off, src, size) => st.stable.set(bytes().subarray(n(src), n(src) + n(size)), n(off)),
    stable64_read: (dst, off, size) => bytes().set(st.stable.subarray(n(off), n(off) + n(size)), n(dst)),
  };
  const proxy = new Proxy(fns, {
    get: (t, k: string) =>
      t[k] ??
      (() => {
        throw new Error(`ic0.${k} not stubbed`);
      }),
  });
  return { st, proxy };
};

describe('the Motoko counter runs instrumented', () => {
  const require = createRequire(import.meta.url);
  const mo = require('motoko') as { write: (f: string, s: string) => void; wasm: (f: string, mode: string) => { wasm: Uint8Array } };
  mo.write('Main.mo', 'persistent actor { var n : Nat = 0; public func inc() : async () { n += 1 }; public query func get() : async Nat { n } }');
  const { wasm } = mo.wasm('Main.mo', 'ic');

  it('[EXE-WASM-INSTRUMENT.1][EXE-WASM-DIRTY.1][EXE-METER-POINTS.1] same replies as the original; every page the original changed is in the dirty list', () => {
    const noArgs = new TextEncoder().encode('DIDL\x00\x00');
    // original
    let origMem: WebAssembly.Memory | undefined;
    const o = ic0Stub(() => origMem!, noArgs);
    const orig = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource), { ic0: o.proxy as unknown as WebAssembly.ModuleImports });
    origMem = orig.exports['mem'] as WebAssembly.Memory;
    // instrumented
    let h: ReturnType<typeof harness> | undefined;
    const i = ic0Stub(() => h!.memory!, noArgs);
    h = harness(wasm, i.proxy as unknown as Record<string, (...a: never[]) => unknown>);
    const ex = h.exports as Record<string, () => void>;
    ex['canister_start']!();
    const run = (name: string): { used: bigint; dirty: number[] } => {
      takeDirtyPages(h!.dirty!);
      o.st.reply = [];
      i.st.reply = [];
      const before = new Uint8Array(h!.memory!.buffer).slice();
      (orig.exports[name] as () => void)();
      h!.counter.value = START;
      ex[name]!();
      const used = START - (h!.counter.value as bigint);
      expect(i.st.reply).toEqual(o.st.reply);
      const a = new Uint8Array(origMem!.buffer);
      const b = new Uint8Array(h!.memory!.buffer);
      expect(b.length).toBe(a.length);
      const dirty = takeDirtyPages(h!.dirty!);
      const set = new Set(dirty);
      for (let p = 0; p * 4096 < b.length; p++) {
        const lo = p * 4096;
        let same = true;
        for (let k = lo; k < lo + 4096 && same; k++) same = a[k] === b[k];
        expect(same, `page ${p} differs from the original`).toBe(true);
        let changed = false;
        for (let k = lo; k < lo + 4096 && !changed; k++) changed = (k < before.length ? before[k] : 0) !== b[k];
        if (changed) expect(set.has(p), `page ${p} changed but is not listed`).toBe(true);
      }
      return { used, dirty };
    };
    run('canister_init');
    const inc1 = run('canister_update inc');
    run('canister_update inc');
    run('canister_query get');
    // Candid reply of `get`: DIDL, no types, one nat, value 2
    expect(Buffer.from(i.st.reply).toString('hex')).toBe(Buffer.from('DIDL\x00\x01\x7d\x02', 'latin1').toString('hex'));
    expect(inc1.used).toBeGreaterThan(1000n);
    expect(inc1.dirty.length).toBeGreaterThan(0);
  });
});
