/**
 * The Candid interfaces the client suites and the HTTP benchmarks call, as factories that each
 * client fills with its own `IDL` object (no test runner here: the benchmarks import it too).
 */

/** The subset of IDL both clients' `IDL` objects offer. */
export interface Idl {
  Service(fields: Record<string, unknown>): unknown;
  Func(args: unknown[], ret: unknown[], modes: string[]): unknown;
  Record(fields: Record<string, unknown>): unknown;
  Variant(fields: Record<string, unknown>): unknown;
  Opt(t: unknown): unknown;
  Vec(t: unknown): unknown;
  Nat: unknown;
  Nat8: unknown;
  Nat64: unknown;
  Null: unknown;
  Principal: unknown;
}

/** The two management methods the suites use, with their `ic.did` types. */
export const managementIdl = ({ IDL: I }: { IDL: Idl }): unknown =>
  I.Service({
    provisional_create_canister_with_cycles: I.Func(
      [I.Record({ amount: I.Opt(I.Nat), settings: I.Opt(I.Record({ controllers: I.Opt(I.Vec(I.Principal)) })), specified_id: I.Opt(I.Principal), sender_canister_version: I.Opt(I.Nat64) })],
      [I.Record({ canister_id: I.Principal })],
      [],
    ),
    install_code: I.Func(
      [I.Record({ mode: I.Variant({ install: I.Null, reinstall: I.Null }), canister_id: I.Principal, wasm_module: I.Vec(I.Nat8), arg: I.Vec(I.Nat8), sender_canister_version: I.Opt(I.Nat64) })],
      [],
      [],
    ),
  });

/** The Motoko counter's interface. */
export const counterIdl = ({ IDL: I }: { IDL: Idl }): unknown => I.Service({ inc: I.Func([], [], []), get: I.Func([], [I.Nat], ['query']) });
