/** Module validation: one case per rule, with the replica's error variant. */
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { validateModule, type WasmValidationErrorCode } from '../src/wasm/validate.js';
import { wat, withCustom, validOrFail } from './wasm-helpers.js';
import type { ValidationLimits } from '../src/wasm/costs.js';

const rejects = (bytes: Uint8Array, code: WasmValidationErrorCode, limits: Partial<ValidationLimits> = {}): string => {
  const v = validateModule(bytes, limits);
  if (v._tag === 'Right') throw new Error(`expected ${code}, but the module is valid`);
  expect(v.left.code).toBe(code);
  return v.left.message;
};

const MOD = (body: string, features: Record<string, boolean> = {}): Uint8Array => wat(`(module ${body})`, features);

describe('container and engine', () => {
  const ok = MOD('(memory 1) (func (export "canister_update f"))');

  it('[EXE-WASM-FORMAT.1] raw and gzip-compressed modules are accepted; gzip yields the same module', () => {
    const raw = validOrFail(ok);
    const gz = validOrFail(gzipSync(ok));
    expect(gz.bytes).toEqual(raw.bytes);
    expect(gz.exports.update).toEqual(['f']);
  });

  it('[EXE-WASM-FORMAT.1] other formats, short gzip streams and a lying gzip footer are DecodingError', () => {
    expect(rejects(new Uint8Array([1, 2, 3, 4, 5]), 'DecodingError')).toBe('Failed to decode wasm module: unsupported canister module format');
    expect(rejects(new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0]), 'DecodingError')).toContain('gzip stream is too short');
    const gz = gzipSync(ok);
    const lie = new Uint8Array(gz);
    lie[lie.length - 4] = (lie[lie.length - 4]! + 1) & 0xff;
    expect(rejects(lie, 'DecodingError')).toBe(`Failed to decode wasm module: specified uncompressed size ${ok.length + 1} does not match extracted size ${ok.length}`);
    const badCrc = new Uint8Array(gz);
    badCrc[badCrc.length - 8] = badCrc[badCrc.length - 8]! ^ 1;
    expect(rejects(badCrc, 'DecodingError')).toContain('CRC32 mismatch');
    // a footer smaller than the content: reading stops at size + 1 bytes
    const bomb = gzipSync(new Uint8Array(5000));
    bomb.set([10, 0, 0, 0], bomb.length - 4);
    expect(rejects(bomb, 'DecodingError')).toBe('Failed to decode wasm module: specified uncompressed size 10 does not match extracted size 11');
  });

  it('[EXE-WASM-FORMAT.1] a module (or a gzip footer) above the size limit is ModuleTooLarge', () => {
    expect(rejects(ok, 'ModuleTooLarge', { wasmMaxSizeBytes: ok.length - 1 })).toBe(
      `Wasm module size of ${ok.length} exceeds the maximum allowed size of ${ok.length - 1}.`,
    );
    expect(rejects(gzipSync(ok), 'ModuleTooLarge', { wasmMaxSizeBytes: ok.length - 1 })).toContain('exceeds the maximum allowed size');
    // the default limit is 100 MiB
    const big = new Uint8Array(100 * 1024 * 1024 + 1);
    big.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    rejects(big, 'ModuleTooLarge');
  });

  it('[EXE-WASM-FORMAT.1] a structurally invalid module is WasmtimeValidation', () => {
    expect(rejects(MOD('(func (result i32))'), 'WasmtimeValidation')).toMatch(/^Wasmtime failed to validate wasm module wasmtime::Module::validate\(\) failed with /);
  });

  it('[EXE-WASM-FORMAT.1] section headers are read first: a truncated code section is DecodingError', () => {
    expect(rejects(ok.slice(0, ok.length - 1), 'DecodingError')).toContain('Error finding code section');
  });

  it('[EXE-WASM-FORMAT.1] proposals the IC does not enable are WasmtimeValidation: tail calls, relaxed SIMD, threads, exceptions, multiple memories', () => {
    rejects(MOD('(func $f) (func (export "g") return_call $f)'), 'WasmtimeValidation');
    rejects(MOD('(func (export "g") (param v128) (result v128) local.get 0 local.get 0 i8x16.relaxed_swizzle)', { relaxed_simd: true }), 'WasmtimeValidation');
    rejects(MOD('(memory 1 1 shared)', { threads: true }), 'WasmtimeValidation');
    rejects(MOD('(tag $e) (func (export "g") throw $e)', { exceptions: true }), 'WasmtimeValidation');
    // two memories: built by hand (memory section with 2 entries)
    const two = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 5, 2, 0, 1, 0, 1]);
    expect(WebAssembly.validate(two)).toBe(true);
    rejects(two, 'WasmtimeValidation');
  });

  it('[EXE-WASM-FORMAT.1] memory64, SIMD, bulk memory, reference types and multi-value are accepted', () => {
    validOrFail(
      MOD(`(memory i64 1) (table 2 funcref) (func $p (result i32 i64) i32.const 1 i64.const 2)
        (func (export "f") (param i64) (result v128) local.get 0 v128.load offset=16 local.get 0 v128.load f32x4.add
          i64.const 0 i32.const 0 i64.const 8 memory.fill ref.null func drop call $p drop drop)`),
    );
  });
});

describe('imports', () => {
  it('[EXE-WASM-IMPORTS.1] ic0 functions with their exact signatures are accepted (I = i32 for a 32-bit memory)', () => {
    const info = validOrFail(
      MOD(`(import "ic0" "msg_reply_data_append" (func (param i32 i32)))
        (import "ic0" "call_with_best_effort_response" (func (param i32)))
        (import "ic0" "msg_deadline" (func (result i64)))
        (import "ic0" "stable_read" (func (param i32 i32 i32)))
        (import "ic0" "cost_call" (func (param i64 i64 i32)))
        (import "ic0" "env_var_name_exists" (func (param i32 i32) (result i32)))
        (memory 1)`),
    );
    expect(info.ic0Imports).toEqual(['msg_reply_data_append', 'call_with_best_effort_response', 'msg_deadline', 'stable_read', 'cost_call', 'env_var_name_exists']);
  });

  it('[EXE-WASM-IMPORTS.1] with a 64-bit memory, I = i64; the 32-bit-only legacy functions are unknown', () => {
    validOrFail(MOD('(import "ic0" "msg_reply_data_append" (func (param i64 i64))) (import "ic0" "call_new" (func (param i64 i64 i64 i64 i64 i64 i64 i64))) (memory i64 1)'));
    expect(rejects(MOD('(import "ic0" "msg_reply_data_append" (func (param i32 i32))) (memory i64 1)'), 'InvalidFunctionSignature')).toBe(
      "Wasm module has an invalid function signature. Expected input params [I64, I64] for 'msg_reply_data_append', got [I32, I32].",
    );
    expect(rejects(MOD('(import "ic0" "stable_read" (func (param i32 i32 i32))) (memory i64 1)'), 'InvalidImportSection')).toBe(
      "Wasm module has an invalid import section. Module imports function 'stable_read' from 'ic0' that is not exported by the runtime.",
    );
  });

  it('[EXE-WASM-IMPORTS.1] an unknown function, a known one from another module, a wrong signature', () => {
    expect(rejects(MOD('(import "ic0" "no_such_api" (func))'), 'InvalidImportSection')).toContain("'no_such_api' from 'ic0' that is not exported by the runtime");
    expect(rejects(MOD('(import "env" "msg_reply" (func))'), 'InvalidImportSection')).toBe(
      'Wasm module has an invalid import section. Module imports function "msg_reply" from "env", expected to be imported from one of ["ic0"] instead.',
    );
    expect(rejects(MOD('(import "ic0" "msg_reply" (func (result i32)))'), 'InvalidFunctionSignature')).toBe(
      "Wasm module has an invalid function signature. Expected return type [] for 'msg_reply', got [I32].",
    );
  });

  it('[EXE-WASM-IMPORTS.1] memory only as env.memory, table only as env.table, no globals', () => {
    validOrFail(MOD('(import "env" "memory" (memory 1)) (import "env" "table" (table 1 funcref))'));
    expect(rejects(MOD('(import "foo" "memory" (memory 1))'), 'InvalidImportSection')).toBe(
      'Wasm module has an invalid import section. Only memory imported from env.memory is allowed.',
    );
    expect(rejects(MOD('(import "foo" "table" (table 1 funcref))'), 'InvalidImportSection')).toBe(
      'Wasm module has an invalid import section. Only tables imported from env.table are allowed.',
    );
    expect(rejects(MOD('(import "env" "g" (global i32))'), 'InvalidImportSection')).toBe(
      'Wasm module has an invalid import section. Importing globals is not allowed.',
    );
  });
});

describe('exports', () => {
  it('[EXE-WASM-EXPORTS.1] methods by kind and system entry points are recognised', () => {
    const info = validOrFail(
      MOD(`(func $u) (export "canister_update inc" (func $u)) (export "canister_query get" (func $u))
        (export "canister_composite_query cq" (func $u)) (export "canister_init" (func $u)) (export "canister_heartbeat" (func $u))
        (export "canister_on_low_wasm_memory" (func $u)) (export "helper" (func $u))`),
    );
    expect(info.exports).toEqual({ update: ['inc'], query: ['get'], compositeQuery: ['cq'] });
    expect(info.systemExports).toEqual(['canister_init', 'canister_heartbeat', 'canister_on_low_wasm_memory']);
  });

  it('[EXE-WASM-EXPORTS.1] reserved symbols and unknown canister_ names are InvalidExportSection', () => {
    expect(rejects(MOD('(func $f) (export "canister_start" (func $f))'), 'InvalidExportSection')).toBe(
      'Wasm module has an invalid export section. Exporting reserved symbol canister_start not allowed.',
    );
    expect(rejects(MOD('(global (mut i64) (i64.const 0)) (export "canister counter_instructions" (global 0))'), 'InvalidExportSection')).toContain('reserved symbol');
    expect(rejects(MOD('(func $f) (export "canister_foo" (func $f))'), 'InvalidExportSection')).toBe(
      `Wasm module has an invalid export section. Exporting reserved function 'canister_foo' with "canister_" prefix`,
    );
    rejects(MOD('(func $f) (export "canister_update" (func $f))'), 'InvalidExportSection'); // no space, no name
  });

  it('[EXE-WASM-EXPORTS.1] entry points must have type () -> ()', () => {
    expect(rejects(MOD('(func $f (param i32)) (export "canister_update f" (func $f))'), 'InvalidFunctionSignature')).toBe(
      "Wasm module has an invalid function signature. Expected input params [] for 'canister_update f', got [I32].",
    );
    rejects(MOD('(func $f (result i32) i32.const 0) (export "canister_init" (func $f))'), 'InvalidFunctionSignature');
    // an imported function exported as an entry point is checked too
    rejects(MOD('(import "ic0" "msg_arg_data_size" (func $s (result i32))) (export "canister_query q" (func $s))'), 'InvalidFunctionSignature');
  });

  it('[EXE-WASM-EXPORTS.1] the same name under two kinds is DuplicateExport', () => {
    expect(rejects(MOD('(func $f) (export "canister_update x" (func $f)) (export "canister_query x" (func $f))'), 'DuplicateExport')).toBe(
      "Duplicate function 'x' exported multiple times with different call types: update, query, or composite_query.",
    );
  });

  it('[EXE-WASM-EXPORTS.1] at most 1000 methods and 20000 bytes of names (limits configurable)', () => {
    const m = MOD('(func $f) (export "canister_update a" (func $f)) (export "canister_query bb" (func $f)) (export "canister_composite_query ccc" (func $f))');
    validOrFail(m);
    expect(rejects(m, 'TooManyExports', { maxExportedMethods: 2 })).toContain('is 3 which exceeds 2');
    expect(rejects(m, 'ExportedNamesTooLong', { maxSumExportedMethodNameBytes: 5 })).toContain('is 6 which exceeds the allowed limit of 5');
    const many = Array.from({ length: 1001 }, (_, i) => `(export "canister_update m${i}" (func $f))`).join(' ');
    rejects(MOD(`(func $f) ${many}`), 'TooManyExports');
    const long = 'x'.repeat(10001);
    rejects(MOD(`(func $f) (export "canister_update ${long}" (func $f)) (export "canister_query y${long}" (func $f))`), 'ExportedNamesTooLong');
  });
});

describe('limits', () => {
  it('[EXE-WASM-LIMITS.1] more than 50000 functions is TooManyFunctions', () => {
    const m = MOD('(func) (func) (func)');
    expect(rejects(m, 'TooManyFunctions', { maxFunctions: 2 })).toBe('Wasm module defined 3 functions which exceeds the maximum number allowed 2.');
    rejects(MOD(Array.from({ length: 50001 }, () => '(func)').join('')), 'TooManyFunctions');
  });

  it('[EXE-WASM-LIMITS.1] more than 1000 globals is TooManyGlobals; non-numeric globals are InvalidGlobalSection', () => {
    rejects(MOD(Array.from({ length: 1001 }, () => '(global i32 (i32.const 0))').join('')), 'TooManyGlobals');
    expect(rejects(MOD('(global externref (ref.null extern))'), 'InvalidGlobalSection')).toContain('Unsupported global type');
  });

  it('[EXE-WASM-LIMITS.1] the code section is at most 10 MiB', () => {
    const m = MOD('(func i32.const 1 drop)');
    expect(rejects(m, 'CodeSectionTooLarge', { maxCodeSectionBytes: 4 })).toMatch(/^Wasm module code section size of \d+ exceeds the maximum allowed size of 4\.$/);
  });

  it('[EXE-WASM-LIMITS.1] a function of more than 1000000 instructions is FunctionTooLarge', () => {
    const m = MOD('(func) (func nop nop nop)');
    // sizes count every instruction including the final end: 1 and 4
    expect(rejects(m, 'FunctionTooLarge', { maxFunctionInstructions: 3 })).toBe(
      'Wasm module contains a function at index 1 of size 4 that exceeds the maximum allowed size of 3.',
    );
    expect(validOrFail(m).largestFunctionInstructionCount).toBe(4);
  });

  it('[EXE-WASM-LIMITS.1] complexity above the limit is FunctionComplexityTooHigh', () => {
    const m = MOD('(func (block (loop br 0)))');
    // block 50 + loop 50 + br 50 + end 1 + end 1 + end 1 = 153
    expect(validOrFail(m).maxComplexity).toBe(153);
    expect(rejects(m, 'FunctionComplexityTooHigh', { maxFunctionComplexity: 152 })).toBe(
      'Wasm module contains a function at index 0 with complexity 153 which exceeds the maximum complexity allowed 152.',
    );
  });

  it('[EXE-WASM-LIMITS.1] table.grow/set/fill/copy/init are UnsupportedWasmInstruction', () => {
    expect(rejects(MOD('(table 1 funcref) (func (drop (table.grow (ref.null func) (i32.const 1))))'), 'UnsupportedWasmInstruction')).toBe(
      'Wasm module contains a function at index 0 with unsupported instruction table.grow.',
    );
    rejects(MOD('(table 1 funcref) (func (table.set (i32.const 0) (ref.null func)))'), 'UnsupportedWasmInstruction');
    rejects(MOD('(table 1 funcref) (func (table.fill (i32.const 0) (ref.null func) (i32.const 1)))'), 'UnsupportedWasmInstruction');
    rejects(MOD('(table 1 funcref) (func (table.copy (i32.const 0) (i32.const 0) (i32.const 1)))'), 'UnsupportedWasmInstruction');
    rejects(MOD('(table 1 funcref) (elem $e func) (func (table.init $e (i32.const 0) (i32.const 0) (i32.const 0)))'), 'UnsupportedWasmInstruction');
    // table.get, table.size, elem.drop are allowed
    validOrFail(MOD('(table 1 funcref) (elem $e func) (func (drop (table.get (i32.const 0))) (drop (table.size)) (elem.drop $e))'));
  });
});

describe('data segments', () => {
  it('[EXE-WASM-DATA.1] active offsets must be one i32.const (i64.const for a 64-bit memory)', () => {
    const info = validOrFail(MOD('(memory 1) (data (i32.const 16) "ab") (data "passive")'));
    expect(info.dataSegments).toEqual([
      { mode: 'active', offset: 16n, size: 2 },
      { mode: 'passive', offset: undefined, size: 7 },
    ]);
    validOrFail(MOD('(memory i64 1) (data (i64.const 16) "ab")'));
    expect(rejects(MOD('(memory 1) (data (offset i32.const 1 i32.const 2 i32.add) "ab")', { extended_const: true }), 'InvalidDataSection')).toBe(
      'Wasm module has an invalid data section. Invalid offset expression in data segment for 32bit memory: I32Const { value: 1 }',
    );
  });

  it('[EXE-WASM-DATA.1] a segment outside the initial memory is InvalidDataSegment', () => {
    expect(rejects(MOD('(memory 1) (data (i32.const 65535) "ab")'), 'InvalidDataSegment')).toBe('Wasm module has invalid data segment of 2 bytes at 65535');
    validOrFail(MOD('(memory 1) (data (i32.const 65534) "ab")'));
    // i32 offsets are read as signed, like the replica: -1 is far out of bounds
    rejects(MOD('(memory 1) (data (i32.const -1) "")'), 'InvalidDataSegment');
  });
});

describe('custom sections', () => {
  const base = MOD('(memory 1)');
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

  it('[EXE-WASM-CUSTOM.1] icp:public / icp:private sections are collected; other names ignored', () => {
    let m = withCustom(base, 'icp:public candid:service', enc('service : {}'));
    m = withCustom(m, 'icp:private motoko:stable-types', enc('x'));
    m = withCustom(m, 'producers', enc('y'));
    const info = validOrFail(m);
    expect([...info.customSections.entries()].map(([k, v]) => [k, v.visibility, new TextDecoder().decode(v.content)])).toEqual([
      ['candid:service', 'public', 'service : {}'],
      ['motoko:stable-types', 'private', 'x'],
    ]);
  });

  it('[EXE-WASM-CUSTOM.1] other icp: names, a missing space and duplicate names are InvalidCustomSection', () => {
    expect(rejects(withCustom(base, 'icp:protected x', enc('')), 'InvalidCustomSection')).toBe(
      "Wasm module has an invalid custom section. Invalid custom section: Custom section 'icp:protected x' has no public/private scope defined.",
    );
    expect(rejects(withCustom(base, 'icp:public', enc('')), 'InvalidCustomSection')).toContain('must have a space');
    expect(rejects(withCustom(withCustom(base, 'icp:public a', enc('1')), 'icp:private a', enc('2')), 'InvalidCustomSection')).toBe(
      'Wasm module has an invalid custom section. Invalid custom section: name a already exists',
    );
  });

  it('[EXE-WASM-CUSTOM.1] at most 16 sections and 1 MiB of names and contents', () => {
    let m = base;
    for (let i = 0; i < 17; i++) m = withCustom(m, `icp:public s${i}`, enc('x'));
    expect(rejects(m, 'TooManyCustomSections')).toBe('Wasm module defined 17 custom sections which exceeds the maximum number allowed 16.');
    const big = withCustom(base, 'icp:private big', new Uint8Array(1024 * 1024 - 3));
    validOrFail(big);
    expect(rejects(withCustom(base, 'icp:private big', new Uint8Array(1024 * 1024 - 2)), 'InvalidCustomSection')).toContain(
      'size 1048577 bytes, allowed 1048576 bytes',
    );
  });
});
