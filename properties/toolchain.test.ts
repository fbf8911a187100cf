/**
 * The toolchain (src/toolchain/): the compile cache, every canister in canisters/ (compiles,
 * validates, exports what its file says, imports only the System API), the universal canister's
 * op table (universal.ts and universal.wat agree) and its encoder/decoder, and compile errors.
 * Nothing here runs a canister.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/core/root.js';
import {
  cacheDir,
  cacheKey,
  canistersDir,
  compileMotoko,
  compilersLoaded,
  compileWat,
  compilerVersions,
  listCanisters,
  loadCanister,
  motokoCacheKey,
  watCacheKey,
} from '../src/toolchain/compile.js';
import {
  OPS,
  decodeProgram,
  disassemble,
  effectText,
  encodeProgram,
  opInfo,
  prog,
  typecheck,
  RELAY_REPLY,
  RELAY_REJECT,
  type Instr,
  type PlainOpName,
} from '../src/toolchain/universal.js';

const ROOT = packageRoot();
const nonce = (): string => `${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2)}`;
const removeEntry = (key: string): void => ['wasm', 'did'].forEach((x) => rmSync(join(cacheDir(), `${key}.${x}`), { force: true }));

/** The memory section's first memory: 64-bit (memory64) or not. */
const memory64 = (wasm: Uint8Array): boolean | undefined => {
  let p = 8;
  const leb = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = wasm[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return v;
    }
  };
  while (p < wasm.length) {
    const id = wasm[p++]!;
    const size = leb();
    if (id === 5) {
      const count = leb();
      return count > 0 ? (wasm[p]! & 0x04) !== 0 : undefined;
    }
    p += size;
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------

describe('compile cache', () => {
  it('a hit returns the stored bytes without loading a compiler', async () => {
    // This runs first in a fresh worker: no compiler is loaded yet.
    expect(compilersLoaded()).toEqual({ moc: false, wabt: false });
    const n = nonce();
    const mo = { 'Main.mo': `// ${n}\nactor {}` };
    const wat = `;; ${n}\n(module)`;
    const mk = motokoCacheKey(mo, 'Main.mo');
    const wk = watCacheKey(wat, 'x.wat');
    mkdirSync(cacheDir(), { recursive: true });
    writeFileSync(join(cacheDir(), `${mk}.wasm`), Uint8Array.of(1, 2, 3));
    writeFileSync(join(cacheDir(), `${mk}.did`), 'service : {}');
    writeFileSync(join(cacheDir(), `${wk}.wasm`), Uint8Array.of(4, 5));
    try {
      expect(await compileMotoko(mo, 'Main.mo')).toEqual({ wasm: Uint8Array.of(1, 2, 3), candid: 'service : {}' });
      expect(await compileWat(wat, 'x.wat')).toEqual(Uint8Array.of(4, 5));
      expect(compilersLoaded()).toEqual({ moc: false, wabt: false });
    } finally {
      removeEntry(mk);
      removeEntry(wk);
    }
  });

  it('Motoko: a miss compiles and stores; the second compile is a hit (same bytes, much faster)', async () => {
    const n = nonce();
    const files = { 'Main.mo': `// ${n}\nimport Lib "Lib";\npersistent actor { public query func f() : async Nat { Lib.x } }`, 'Lib.mo': 'module { public let x = 7 }' };
    const key = motokoCacheKey(files, 'Main.mo');
    expect(existsSync(join(cacheDir(), `${key}.wasm`))).toBe(false);
    try {
      const t0 = performance.now();
      const a = await compileMotoko(files, 'Main.mo');
      const miss = performance.now() - t0;
      expect(readFileSync(join(cacheDir(), `${key}.wasm`))).toEqual(Buffer.from(a.wasm));
      expect(readFileSync(join(cacheDir(), `${key}.did`), 'utf8')).toBe(a.candid);
      expect(a.candid).toContain('f: () -> (nat) query');
      const t1 = performance.now();
      const b = await compileMotoko(files, 'Main.mo');
      const hit = performance.now() - t1;
      expect(b.wasm).toEqual(a.wasm);
      expect(b.candid).toBe(a.candid);
      expect(hit).toBeLessThan(Math.max(50, miss / 10));
    } finally {
      removeEntry(key);
    }
  });

  it('WAT: a miss compiles and stores; the second compile is a hit with the same bytes', async () => {
    const text = `;; ${nonce()}\n(module (func (export "f") (result i32) i32.const 42))`;
    const key = watCacheKey(text, 'f.wat');
    try {
      const a = await compileWat(text, 'f.wat');
      expect(readFileSync(join(cacheDir(), `${key}.wasm`))).toEqual(Buffer.from(a));
      expect(await compileWat(text, 'f.wat')).toEqual(a);
      expect(((await WebAssembly.instantiate(a)).instance.exports['f'] as () => number)()).toBe(42);
    } finally {
      removeEntry(key);
    }
  });

  it('ICSPEC_NO_COMPILE_CACHE=1 compiles without reading or writing the cache', async () => {
    const text = `;; ${nonce()}\n(module)`;
    const key = watCacheKey(text, 'n.wat');
    mkdirSync(cacheDir(), { recursive: true });
    writeFileSync(join(cacheDir(), `${key}.wasm`), Uint8Array.of(9));
    process.env['ICSPEC_NO_COMPILE_CACHE'] = '1';
    try {
      expect(WebAssembly.validate(await compileWat(text, 'n.wat'))).toBe(true);
      removeEntry(key);
      await compileWat(text, 'n.wat');
      expect(existsSync(join(cacheDir(), `${key}.wasm`))).toBe(false);
    } finally {
      delete process.env['ICSPEC_NO_COMPILE_CACHE'];
      removeEntry(key);
    }
  });

  it('the key covers the compiler, its version, the main file and every file name and text', () => {
    const v = compilerVersions();
    expect(v.motoko).toBe('4.10.0');
    expect(v.wabt).toBe('1.0.39');
    const files = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 30 }), { minKeys: 1, maxKeys: 4 });
    fc.assert(
      fc.property(files, fc.string({ maxLength: 30 }), (fs, extra) => {
        const main = Object.keys(fs)[0]!;
        const k = cacheKey('moc', v.motoko, main, fs);
        expect(k).toMatch(/^[0-9a-f]{64}$/);
        // insertion order does not matter
        expect(cacheKey('moc', v.motoko, main, Object.fromEntries(Object.entries(fs).reverse()))).toBe(k);
        // every component does
        expect(cacheKey('wabt', v.motoko, main, fs)).not.toBe(k);
        expect(cacheKey('moc', v.motoko + '-x', main, fs)).not.toBe(k);
        expect(cacheKey('moc', v.motoko, main + 'x', fs)).not.toBe(k);
        expect(cacheKey('moc', v.motoko, main, { ...fs, [main]: fs[main] + extra + '!' })).not.toBe(k);
        expect(cacheKey('moc', v.motoko, main, { ...fs, [main + '/x']: extra })).not.toBe(k);
      }),
    );
    // no ambiguity between names and texts
    expect(cacheKey('moc', '1', 'a', { a: 'bc' })).not.toBe(cacheKey('moc', '1', 'a', { ab: 'c' }));
    expect(motokoCacheKey({ 'A.mo': 'x' }, 'A.mo')).not.toBe(watCacheKey('x', 'A.mo'));
  });
});

// ---------------------------------------------------------------------------------------------

/** The canister methods each canister exports (update, query, composite query) and its system exports. */
const EXPECTED: Readonly<Record<string, { update: string[]; query: string[]; composite?: string[]; system: string[] }>> = {
  counter: { update: ['bump', 'inc'], query: ['get'], system: [] },
  ping: { update: ['run'], query: ['get', 'peek'], system: [] },
  pong: { update: ['ping'], query: ['calls'], system: [] },
  trapper: { update: ['print', 'set', 'setThenAssert', 'setThenTrap'], query: ['get'], system: [] },
  stable: { update: ['add'], query: ['read'], system: [] },
  timer: { update: ['once', 'start', 'stop'], query: ['ticks'], system: [] },
  ledger_client: { update: ['balance', 'transfer'], query: ['self'], system: [] },
  minimal: { update: ['inc'], query: ['get'], system: [] },
  loop: { update: ['compute', 'spin'], query: ['compute_query'], system: [] },
  bigmem: { update: ['grow', 'touch'], query: ['peek', 'size'], system: [] },
  universal: {
    update: ['update'],
    query: ['query'],
    composite: ['composite_query'],
    system: ['canister_global_timer', 'canister_heartbeat', 'canister_init', 'canister_inspect_message', 'canister_post_upgrade', 'canister_pre_upgrade'],
  },
};
/** What every Motoko canister exports besides its methods (moc's runtime). */
const MOTOKO_SYSTEM = ['canister_global_timer', 'canister_init', 'canister_post_upgrade', 'canister_pre_upgrade'];
/** The System API: the interface spec's "Overview of imports" plus call_with_best_effort_response. */
const IC0 = new Set<string>(OPS.flatMap((o) => ('ic0' in o ? [o.ic0] : [])));

/** The interface spec's "Overview of imports" (reference/ic-interface-spec.md), and call_with_best_effort_response. */
const SPEC_IC0 = `msg_arg_data_size msg_arg_data_copy msg_caller_size msg_caller_copy msg_reject_code msg_reject_msg_size
  msg_reject_msg_copy msg_reply_data_append msg_reply msg_reject msg_cycles_available msg_cycles_available128
  msg_cycles_refunded msg_cycles_refunded128 msg_cycles_accept msg_cycles_accept128 cycles_burn128 canister_self_size
  canister_self_copy canister_cycle_balance canister_cycle_balance128 canister_status canister_version
  msg_method_name_size msg_method_name_copy accept_message call_new call_on_cleanup call_data_append call_cycles_add
  call_cycles_add128 call_perform stable_size stable_grow stable_write stable_read stable64_size stable64_grow
  stable64_write stable64_read certified_data_set data_certificate_present data_certificate_size data_certificate_copy
  time global_timer_set performance_counter is_controller in_replicated_execution debug_print trap
  call_with_best_effort_response`.split(/\s+/);

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/** The methods a canister source documents: `///   name(` lines (Motoko), `canister_<kind> name` in the leading comment (WAT). */
const documented = (language: 'motoko' | 'wat', source: string): { update: string[]; query: string[]; composite: string[]; all: string[] } => {
  if (language === 'motoko') {
    const all = sorted(new Set([...source.matchAll(/^\/\/\/\s+(\w+)\(/gm)].map((m) => m[1]!)));
    return { update: [], query: [], composite: [], all };
  }
  const header = source.split("\n").filter((_l, i, ls) => ls.slice(0, i + 1).every((x) => x.startsWith(";;"))).join("\n");
  const of = (kind: string) => sorted(new Set([...header.matchAll(new RegExp(`canister_${kind}\\s+(\\w+)`, 'g'))].map((m) => m[1]!)));
  const update = of('update');
  const query = of('query');
  const composite = of('composite_query');
  return { update, query, composite, all: sorted([...update, ...query, ...composite]) };
};

describe('canisters/', () => {
  it('holds the expected canisters', () => {
    expect(listCanisters().map((c) => c.name)).toEqual(sorted(Object.keys(EXPECTED)));
  });

  for (const { name, language } of listCanisters()) {
    it(`${language}/${name} compiles, validates, and exports what its file says`, async () => {
      const c = await loadCanister(name);
      expect(c.language).toBe(language);
      expect(WebAssembly.validate(c.wasm)).toBe(true);
      const mod = new WebAssembly.Module(c.wasm);
      const exports = WebAssembly.Module.exports(mod).filter((e) => e.kind === 'function');
      const internal = (m: string) => m.startsWith('__motoko') || m.startsWith('@motoko');
      const methods = (kind: string) =>
        sorted(exports.flatMap((e) => (e.name.startsWith(`canister_${kind} `) ? [e.name.slice(kind.length + 10)] : [])).filter((m) => !internal(m)));
      const want = EXPECTED[name]!;
      expect(methods('update')).toEqual(sorted(want.update));
      expect(methods('query')).toEqual(sorted(want.query));
      expect(methods('composite_query')).toEqual(sorted(want.composite ?? []));
      expect(sorted(exports.filter((e) => !e.name.includes(' ')).map((e) => e.name))).toEqual(
        sorted(language === 'motoko' ? MOTOKO_SYSTEM : want.system),
      );
      // Only the System API is imported.
      for (const i of WebAssembly.Module.imports(mod)) {
        expect(i.module).toBe('ic0');
        expect(IC0.has(i.name), `${name} imports ic0.${i.name}`).toBe(true);
      }

      const file = language === 'wat' ? join(canistersDir(), 'wat', `${name}.wat`) : join(canistersDir(), 'motoko', `${name}.mo`);
      const doc = documented(language, readFileSync(file, 'utf8'));
      const all = sorted([...want.update, ...want.query, ...(want.composite ?? [])]);
      expect(doc.all).toEqual(all);
      if (language === 'wat') {
        expect(doc.update).toEqual(sorted(want.update));
        expect(doc.query).toEqual(sorted(want.query));
        expect(memory64(c.wasm)).toBe(false);
      } else {
        // moc's default: enhanced orthogonal persistence on a 64-bit memory
        expect(memory64(c.wasm)).toBe(true);
        const candid = c.candid ?? '';
        const service = candid.slice(candid.lastIndexOf('service'));
        const declared = [...service.matchAll(/^\s+(\w+): \(.*\) -> \(.*\)( query)?;$/gm)];
        expect(sorted(declared.map((m) => m[1]!))).toEqual(all);
        expect(sorted(declared.filter((m) => m[2]).map((m) => m[1]!))).toEqual(sorted(want.query));
      }
    });
  }

  it('ledger_client speaks ICRC-1 to the ICP ledger', async () => {
    const c = await loadCanister('ledger_client');
    expect(c.candid).toMatch(/owner: principal;\s+subaccount: opt blob;/);
    expect(c.candid).toMatch(/transfer: \(arg: TransferArg\) -> \(TransferResult\)/);
    expect(readFileSync(join(canistersDir(), 'motoko', 'ledger_client.mo'), 'utf8')).toContain('actor "ryjl3-tyaaa-aaaaa-aaaba-cai"');
  });

  it('the universal canister imports the whole System API and exports its memory and table', async () => {
    const mod = new WebAssembly.Module((await loadCanister('universal')).wasm);
    expect(sorted(WebAssembly.Module.imports(mod).map((i) => i.name))).toEqual(sorted(IC0));
    const other = WebAssembly.Module.exports(mod).filter((e) => e.kind !== 'function');
    expect(other.map((e) => `${e.kind}:${e.name}`).sort()).toEqual(['memory:memory', 'table:table']);
  });

  it('loadCanister rejects unknown and malformed names', async () => {
    await expect(loadCanister('no_such_canister')).rejects.toThrow(/no canister no_such_canister/);
    await expect(loadCanister('../wat/minimal')).rejects.toThrow(/bad canister name/);
  });
});

// ---------------------------------------------------------------------------------------------

const UNIVERSAL_WAT = (): string => readFileSync(join(ROOT, 'canisters', 'wat', 'universal.wat'), 'utf8');

const arbInstr: fc.Arbitrary<Instr> = fc.oneof(
  fc.nat({ max: 0xffffffff }).map((value): Instr => ({ op: 'push_i32', value })),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value): Instr => ({ op: 'push_i64', value })),
  fc.uint8Array({ maxLength: 40 }).map((value): Instr => ({ op: 'push_blob', value })),
  fc.constantFrom(...OPS.filter((o) => !('imm' in o)).map((o) => o.name as PlainOpName)).map((op): Instr => ({ op })),
);

describe('the universal canister', () => {
  it('universal.wat documents exactly the op table of universal.ts', () => {
    const rows = [...UNIVERSAL_WAT().matchAll(/^;;\s+0x([0-9a-f]{2})\s+([a-z0-9_]+)(?:\s+<([a-z0-9,]+)>)?\s+(\[[^\]]*\] -> (?:\[[^\]]*\]|!))/gm)].map((m) => ({
      code: parseInt(m[1]!, 16),
      name: m[2]!,
      imm: m[3] === 'len,bytes' ? 'blob' : m[3],
      effect: m[4]!,
    }));
    expect(rows).toEqual(OPS.map((o) => ({ code: o.code, name: o.name, imm: 'imm' in o ? o.imm : undefined, effect: effectText(o) })));
  });

  it('its dispatch table puts the handler $op_<name> at 16 + opcode, $op_bad in the gaps', () => {
    const wat = UNIVERSAL_WAT();
    const seg = /\(elem \(i32\.const 16\) func([^)]*)\)/.exec(wat);
    expect(seg).not.toBeNull();
    const handlers = seg![1]!.replace(/;;.*$/gm, '').trim().split(/\s+/);
    const max = Math.max(...OPS.map((o) => o.code));
    expect(handlers.length).toBe(max + 1);
    expect(wat).toContain(`(table (export "table") ${16 + max + 1} funcref)`);
    expect(wat).toContain(`(i32.gt_u (global.get $op) (i32.const 0x${max.toString(16)}))`);
    handlers.forEach((h, code) => expect(h).toBe(`$op_${opInfo(code)?.name ?? 'bad'}`));
    expect(/\(elem \(i32\.const 0\) func \$cb_reply \$cb_reject \$cb_cleanup\)/.test(wat)).toBe(true);
  });

  it('the op table is consistent: unique codes, names and methods; every builder method appends its opcode', () => {
    expect(new Set(OPS.map((o) => o.code)).size).toBe(OPS.length);
    expect(new Set(OPS.map((o) => o.name)).size).toBe(OPS.length);
    expect(new Set(OPS.map((o) => o.method)).size).toBe(OPS.length);
    expect(OPS.every((o) => o.code >= 0 && o.code < 256)).toBe(true);
    for (const o of OPS) {
      if ('imm' in o) continue;
      const m = (prog() as unknown as Record<string, () => { build(): Uint8Array }>)[o.method];
      expect(typeof m, o.method).toBe('function');
      expect(m!.call(prog()).build()).toEqual(Uint8Array.of(o.code));
    }
    // The System API ops cover the interface spec's list (+ call_with_best_effort_response).
    expect(sorted(IC0)).toEqual(sorted(SPEC_IC0));
  });

  it('builds programs: literals, immutability, composites', () => {
    expect(prog().pushBytes('hi').replyDataAppend().reply().build()).toEqual(Uint8Array.of(0x03, 2, 0, 0, 0, 0x68, 0x69, 0x47, 0x48));
    expect(decodeProgram(prog().pushI32(-1).pushI64(-1n).pushI64(5).build())).toEqual([
      { op: 'push_i32', value: 0xffffffff },
      { op: 'push_i64', value: 2n ** 64n - 1n },
      { op: 'push_i64', value: 5n },
    ]);
    const base = prog().nop();
    base.reply();
    expect(base.build()).toEqual(Uint8Array.of(0));
    expect(prog().then(prog().nop()).then(prog().drop()).build()).toEqual(Uint8Array.of(0x00, 0x04));
    expect(prog().msgArgData().build()).toEqual(prog().pushI32(0).msgArgDataSize().msgArgDataCopy().build());
    expect(decodeProgram(RELAY_REPLY.build()).map((i) => i.op)).toEqual(['push_i32', 'msg_arg_data_size', 'msg_arg_data_copy', 'msg_reply_data_append', 'msg_reply']);
    expect(decodeProgram(RELAY_REJECT.build()).map((i) => i.op)).toEqual(['push_i32', 'msg_reject_msg_size', 'msg_reject_msg_copy', 'msg_reject']);

    const onReply = prog().replyData('ok');
    const p = prog().callSimple({ callee: Uint8Array.of(1, 2), method: 'm', arg: 'a', onReply, onCleanup: prog().nop(), cycles: (3n << 64n) | 7n });
    const d = decodeProgram(p.build());
    expect(d.map((i) => i.op)).toEqual([
      'push_blob', 'push_blob', 'push_blob', 'push_blob', 'call_new',
      'push_blob', 'call_on_cleanup',
      'push_blob', 'call_data_append',
      'push_i64', 'push_i64', 'call_cycles_add128',
      'call_perform',
    ]);
    expect(d[2]).toEqual({ op: 'push_blob', value: onReply.build() });
    expect(d[3]).toEqual({ op: 'push_blob', value: RELAY_REJECT.build() });
    expect([d[9], d[10]]).toEqual([{ op: 'push_i64', value: 3n }, { op: 'push_i64', value: 7n }]);
    expect(typecheck(p.build())).toBeUndefined();
  });

  it('programs round-trip through the encoder and decodeProgram', () => {
    fc.assert(
      fc.property(fc.array(arbInstr, { maxLength: 30 }), (instrs) => {
        const bytes = encodeProgram(instrs);
        expect(decodeProgram(bytes)).toEqual(instrs);
        expect(encodeProgram(decodeProgram(bytes))).toEqual(bytes);
        expect(disassemble(bytes).split('\n').filter((l) => l !== '').length).toBe(instrs.length);
      }),
    );
  });

  it('decodeProgram rejects unknown opcodes and truncated immediates, with the position', () => {
    expect(() => decodeProgram(Uint8Array.of(0x00, 0x23))).toThrow(/unknown opcode 0x23 at byte 1/);
    expect(() => decodeProgram(Uint8Array.of(0xff))).toThrow(/unknown opcode 0xff at byte 0/);
    expect(() => decodeProgram(Uint8Array.of(0x01, 1, 2, 3))).toThrow(/truncated push_i32 at byte 0/);
    expect(() => decodeProgram(Uint8Array.of(0x00, 0x02, 1))).toThrow(/truncated push_i64 at byte 1/);
    expect(() => decodeProgram(Uint8Array.of(0x03, 5, 0, 0, 0, 1))).toThrow(/truncated push_blob at byte 0/);
    expect(decodeProgram(new Uint8Array())).toEqual([]);
  });

  it('typecheck follows the stack effects', () => {
    expect(typecheck(prog().pushI32(1).replyDataAppend().build())).toBe('instruction 1 (msg_reply_data_append): expected blob, found i32');
    expect(typecheck(prog().drop().build())).toBe('instruction 0 (drop): stack underflow');
    expect(typecheck(prog().pushBytes('x').pushI32(1).swap().i32ToBlob().build())).toBe('instruction 3 (i32_to_blob): expected i32, found blob');
    expect(typecheck(prog().pushI32(0).pushI32(4).msgArgDataCopy().dup().concat().replyBlob().build())).toBeUndefined();
    expect(typecheck(prog().pushBytes('').eval().drop().build())).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

describe('compile errors', () => {
  it('bad Motoko rejects with moc’s diagnostics', async () => {
    const files = { 'Bad.mo': `// ${nonce()}\nactor { public func f() : async Nat { "text" } }` };
    await expect(compileMotoko(files, 'Bad.mo')).rejects.toThrow(/Bad\.mo:2:\d+: error \[M0050\] literal of type\s+Text\s+does not have expected type\s+Nat/);
    await expect(compileMotoko({ 'A.mo': `// ${nonce()}\nactor { public func f() : async () { g() } }` }, 'A.mo')).rejects.toThrow(/unbound variable g/);
    await expect(compileMotoko({ 'A.mo': 'actor {}' }, 'B.mo')).rejects.toThrow(/main file B\.mo is not among the files/);
    expect(existsSync(join(cacheDir(), `${motokoCacheKey(files, 'Bad.mo')}.wasm`))).toBe(false);
  });

  it('bad WAT rejects with wabt’s message', async () => {
    await expect(compileWat('(module (func (bad)))', 'bad.wat')).rejects.toThrow(/^wabt: parseWat failed:\nbad\.wat:1:16: error: unexpected token "bad"/);
    await expect(compileWat('(module (func (result i32) i64.const 1))', 'type.wat')).rejects.toThrow(/validate failed:\ntype\.wat:1:\d+: error: type mismatch/);
    await expect(compileWat('(module (func call $nope))', 'u.wat')).rejects.toThrow(/undefined function variable "\$nope"/);
  });
});
