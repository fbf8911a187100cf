/**
 * What the client suites share: icspec's server with the Motoko counter compiled, and the
 * Candid interfaces they call, as factories that each client fills with its own IDL.
 */
import { afterAll, beforeAll } from 'vitest';
import { serve, type RunningServer } from '../src/http/server.js';
import { loadCanister } from '../src/toolchain/compile.js';
import type { Idl } from './idl.js';

export { counterIdl, managementIdl } from './idl.js';

/** A server for the suite (started before its tests, closed after), and the Motoko counter's and trapper's modules. */
export const withServer = (seed: string): { readonly server: () => RunningServer; readonly counter: () => Uint8Array; readonly trapper: () => Uint8Array } => {
  let srv: RunningServer | undefined;
  const wasm = new Map<string, Uint8Array>();
  beforeAll(async () => {
    for (const n of ['counter', 'trapper']) wasm.set(n, (await loadCanister(n)).wasm);
    srv = await serve({ seed });
  });
  afterAll(async () => srv?.close());
  return { server: () => srv!, counter: () => wasm.get('counter')!, trapper: () => wasm.get('trapper')! };
};

/** Candid `()`. */
export const EMPTY_ARGS = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]);

/** The Motoko trapper's interface, and a method it does not have. */
export const trapperIdl = ({ IDL: I }: { IDL: Idl }): unknown =>
  I.Service({ set: I.Func([I.Nat], [], []), setThenTrap: I.Func([I.Nat], [], []), get: I.Func([], [I.Nat], ['query']), missing: I.Func([], [], []), missingQuery: I.Func([], [I.Nat], ['query']) });

export interface Trapper {
  set(v: bigint): Promise<void>;
  setThenTrap(v: bigint): Promise<void>;
  get(): Promise<bigint>;
  missing(): Promise<void>;
  missingQuery(): Promise<bigint>;
}


/** The management canister reached as dfx does: the effective canister is the one named, else the subnet's first. */
export const effectiveOf = <P>(fromText: (t: string) => P) => (_method: string, args: unknown[]): { effectiveCanisterId: P } => ({
  effectiveCanisterId: (args[0] as { canister_id?: P }).canister_id ?? fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai'),
});

export interface Management<P> {
  provisional_create_canister_with_cycles(a: { amount: [bigint]; settings: []; specified_id: []; sender_canister_version: [] }): Promise<{ canister_id: P }>;
  install_code(a: { mode: { install: null }; canister_id: P; wasm_module: Uint8Array; arg: Uint8Array; sender_canister_version: [] }): Promise<void>;
}

export interface Counter {
  inc(): Promise<void>;
  get(): Promise<bigint>;
}

/** Create a canister with 10^13 cycles and install a module (taking `()`) in it. */
export const installCounter = async <P>(ic: Management<P>, wasm: Uint8Array): Promise<P> => {
  const { canister_id } = await ic.provisional_create_canister_with_cycles({ amount: [10n ** 13n], settings: [], specified_id: [], sender_canister_version: [] });
  await ic.install_code({ mode: { install: null }, canister_id, wasm_module: wasm, arg: EMPTY_ARGS, sender_canister_version: [] });
  return canister_id;
};
