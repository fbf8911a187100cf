/** Shared helpers of the Wasm-layer tests: WAT to binary (wabt), validate + instrument + instantiate. */
import wabtInit from 'wabt';
import { expect } from 'vitest';
import { validateModule, type ModuleInfo } from '../src/wasm/validate.js';
import { instrument, type InstrumentedModule } from '../src/wasm/instrument.js';
import { ensureDirtyCovers } from '../src/wasm/dirty.js';

const wabt = await wabtInit();

const FEATURES = {
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  sign_extension: true,
  sat_float_to_int: true,
  simd: true,
  memory64: true,
  tail_call: true,
  mutable_globals: true,
};

/** WAT text to a binary module (no validation: V8 and `validateModule` do that). */
export const wat = (text: string, features: Record<string, boolean> = {}): Uint8Array => {
  const m = wabt.parseWat('test.wat', text, { ...FEATURES, ...features });
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
};

/** Appends a custom section to a module. */
export const withCustom = (bytes: Uint8Array, name: string, data: Uint8Array): Uint8Array => {
  const enc = new TextEncoder().encode(name);
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      out.push(b);
    } while (n !== 0);
    return out;
  };
  const content = [...leb(enc.length), ...enc, ...data];
  return new Uint8Array([...bytes, 0, ...leb(content.length), ...content]);
};

export const validOrFail = (bytes: Uint8Array): ModuleInfo => {
  const v = validateModule(bytes);
  if (v._tag === 'Left') throw new Error(`expected a valid module: ${v.left.code}: ${v.left.message}`);
  return v.right;
};

export class OutOfInstructions extends Error {}

export interface Harness {
  readonly info: ModuleInfo;
  readonly inst: InstrumentedModule;
  readonly instance: WebAssembly.Instance;
  readonly exports: Record<string, unknown>;
  readonly counter: WebAssembly.Global;
  readonly memory: WebAssembly.Memory | undefined;
  readonly dirty: WebAssembly.Memory | undefined;
  /** calls of try_grow_wasm_memory: (result, delta) */
  readonly grows: [number | bigint, number | bigint][];
  /** calls of out_of_instructions */
  ooi: number;
  /** what out_of_instructions does; default: throw OutOfInstructions */
  onOoi: (h: Harness) => void;
  /** runs an export with the counter set to `start`; returns the instructions used */
  cost: (name: string, ...args: unknown[]) => { used: bigint; result: unknown };
}

export const START = 1_000_000_000n;

/** Validate, instrument, instantiate (with stub ic0 imports), apply the data segments. */
export const harness = (bytes: Uint8Array, ic0: Record<string, (...a: never[]) => unknown> = {}, env: Record<string, unknown> = {}): Harness => {
  const info = validOrFail(bytes);
  const inst = instrument(info.bytes, info);
  const mod = new WebAssembly.Module(inst.binary as BufferSource);
  const h = {
    info,
    inst,
    grows: [] as [number | bigint, number | bigint][],
    ooi: 0,
    onOoi: (): void => {
      throw new OutOfInstructions();
    },
  } as unknown as Harness & { instance: WebAssembly.Instance };
  const imports: WebAssembly.Imports = {
    __: {
      out_of_instructions: () => {
        h.ooi++;
        h.onOoi(h);
      },
      try_grow_wasm_memory: (result: number | bigint, delta: number | bigint) => {
        h.grows.push([result, delta]);
        const dirty = h.dirty;
        if (dirty !== undefined && h.memory !== undefined) ensureDirtyCovers(dirty, h.memory.buffer.byteLength);
        return result;
      },
    },
    ic0: ic0 as unknown as WebAssembly.ModuleImports,
    env: env as WebAssembly.ModuleImports,
  };
  const instance = new WebAssembly.Instance(mod, imports);
  const ex = instance.exports as Record<string, unknown>;
  Object.assign(h, {
    instance,
    exports: ex,
    counter: ex[inst.counterExport] as WebAssembly.Global,
    memory: inst.memoryExport === undefined ? undefined : (ex[inst.memoryExport] as WebAssembly.Memory),
    dirty: inst.dirtyExport === undefined ? undefined : (ex[inst.dirtyExport] as WebAssembly.Memory),
  });
  if (h.memory !== undefined) {
    const m = new Uint8Array(h.memory.buffer);
    for (const s of inst.dataSegments) m.set(s.bytes, Number(s.offset));
    if (h.dirty !== undefined) ensureDirtyCovers(h.dirty, h.memory.buffer.byteLength);
  }
  // direct calls run with a large budget; `cost` sets START first
  h.counter.value = 2n ** 62n;
  h.cost = (name: string, ...args: unknown[]) => {
    h.counter.value = START;
    const f = ex[name] as (...a: unknown[]) => unknown;
    expect(typeof f).toBe('function');
    const result = f(...args);
    return { used: START - (h.counter.value as bigint), result };
  };
  return h;
};
