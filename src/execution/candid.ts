/**
 * The management canister's Candid interface (the interface spec's `ic.did`), as
 * `@dfinity/candid` types: arguments are decoded and results encoded by the ecosystem's own
 * library ([EXE-MGMT.1]).
 */
import { IDL } from '@dfinity/candid';
import { Principal as DPrincipal } from '@dfinity/principal';
import type { Principal } from '../core/principal.js';
import { principalFromBytes } from '../core/principal.js';

export const toDfinity = (p: Principal): DPrincipal => DPrincipal.fromUint8Array(p.bytes);
export const fromDfinity = (p: DPrincipal): Principal => principalFromBytes(p.toUint8Array()) as Principal;

const LogVisibility = IDL.Variant({ controllers: IDL.Null, public: IDL.Null, allowed_viewers: IDL.Vec(IDL.Principal) });
const EnvVar = IDL.Record({ name: IDL.Text, value: IDL.Text });
export const CanisterSettings = IDL.Record({
  controllers: IDL.Opt(IDL.Vec(IDL.Principal)),
  compute_allocation: IDL.Opt(IDL.Nat),
  memory_allocation: IDL.Opt(IDL.Nat),
  freezing_threshold: IDL.Opt(IDL.Nat),
  reserved_cycles_limit: IDL.Opt(IDL.Nat),
  log_visibility: IDL.Opt(LogVisibility),
  wasm_memory_limit: IDL.Opt(IDL.Nat),
  wasm_memory_threshold: IDL.Opt(IDL.Nat),
  environment_variables: IDL.Opt(IDL.Vec(EnvVar)),
});
const DefiniteSettings = IDL.Record({
  controllers: IDL.Vec(IDL.Principal),
  compute_allocation: IDL.Nat,
  memory_allocation: IDL.Nat,
  freezing_threshold: IDL.Nat,
  reserved_cycles_limit: IDL.Nat,
  log_visibility: LogVisibility,
  wasm_memory_limit: IDL.Nat,
  wasm_memory_threshold: IDL.Nat,
});
const CanisterIdRecord = IDL.Record({ canister_id: IDL.Principal });
const InstallMode = IDL.Variant({
  install: IDL.Null,
  reinstall: IDL.Null,
  upgrade: IDL.Opt(
    IDL.Record({
      skip_pre_upgrade: IDL.Opt(IDL.Bool),
      wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
    }),
  ),
});
const ChunkHash = IDL.Record({ hash: IDL.Vec(IDL.Nat8) });
const ChangeOrigin = IDL.Variant({
  from_user: IDL.Record({ user_id: IDL.Principal }),
  from_canister: IDL.Record({ canister_id: IDL.Principal, canister_version: IDL.Opt(IDL.Nat64) }),
});
const ChangeDetails = IDL.Variant({
  creation: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
  code_uninstall: IDL.Null,
  code_deployment: IDL.Record({ mode: IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Null }), module_hash: IDL.Vec(IDL.Nat8) }),
  load_snapshot: IDL.Record({ snapshot_id: IDL.Vec(IDL.Nat8), canister_version: IDL.Nat64, taken_at_timestamp: IDL.Nat64 }),
  controllers_change: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
});
const Change = IDL.Record({ timestamp_nanos: IDL.Nat64, canister_version: IDL.Nat64, origin: ChangeOrigin, details: ChangeDetails });
const Snapshot = IDL.Record({ id: IDL.Vec(IDL.Nat8), taken_at_timestamp: IDL.Nat64, total_size: IDL.Nat64 });
const Blob = IDL.Vec(IDL.Nat8);

/** Each method: argument and result types ([EXE-MGMT.1]). */
export const METHODS = {
  create_canister: { arg: IDL.Record({ settings: IDL.Opt(CanisterSettings), sender_canister_version: IDL.Opt(IDL.Nat64) }), ret: [CanisterIdRecord] },
  provisional_create_canister_with_cycles: {
    arg: IDL.Record({ amount: IDL.Opt(IDL.Nat), settings: IDL.Opt(CanisterSettings), specified_id: IDL.Opt(IDL.Principal), sender_canister_version: IDL.Opt(IDL.Nat64) }),
    ret: [CanisterIdRecord],
  },
  provisional_top_up_canister: { arg: IDL.Record({ canister_id: IDL.Principal, amount: IDL.Nat }), ret: [] },
  update_settings: { arg: IDL.Record({ canister_id: IDL.Principal, settings: CanisterSettings, sender_canister_version: IDL.Opt(IDL.Nat64) }), ret: [] },
  install_code: {
    arg: IDL.Record({ mode: InstallMode, canister_id: IDL.Principal, wasm_module: Blob, arg: Blob, sender_canister_version: IDL.Opt(IDL.Nat64) }),
    ret: [],
  },
  install_chunked_code: {
    arg: IDL.Record({
      mode: InstallMode,
      target_canister: IDL.Principal,
      store_canister: IDL.Opt(IDL.Principal),
      chunk_hashes_list: IDL.Vec(ChunkHash),
      wasm_module_hash: Blob,
      arg: Blob,
      sender_canister_version: IDL.Opt(IDL.Nat64),
    }),
    ret: [],
  },
  upload_chunk: { arg: IDL.Record({ canister_id: IDL.Principal, chunk: Blob }), ret: [ChunkHash] },
  clear_chunk_store: { arg: CanisterIdRecord, ret: [] },
  stored_chunks: { arg: CanisterIdRecord, ret: [IDL.Vec(ChunkHash)] },
  uninstall_code: { arg: IDL.Record({ canister_id: IDL.Principal, sender_canister_version: IDL.Opt(IDL.Nat64) }), ret: [] },
  start_canister: { arg: CanisterIdRecord, ret: [] },
  stop_canister: { arg: CanisterIdRecord, ret: [] },
  delete_canister: { arg: CanisterIdRecord, ret: [] },
  deposit_cycles: { arg: CanisterIdRecord, ret: [] },
  raw_rand: { arg: undefined, ret: [Blob] },
  canister_status: {
    arg: CanisterIdRecord,
    ret: [
      IDL.Record({
        status: IDL.Variant({ running: IDL.Null, stopping: IDL.Null, stopped: IDL.Null }),
        version: IDL.Nat64,
        settings: DefiniteSettings,
        module_hash: IDL.Opt(Blob),
        memory_size: IDL.Nat,
        cycles: IDL.Nat,
        reserved_cycles: IDL.Nat,
        idle_cycles_burned_per_day: IDL.Nat,
        query_stats: IDL.Record({
          num_calls_total: IDL.Nat,
          num_instructions_total: IDL.Nat,
          request_payload_bytes_total: IDL.Nat,
          response_payload_bytes_total: IDL.Nat,
        }),
      }),
    ],
  },
  canister_info: {
    arg: IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) }),
    ret: [IDL.Record({ total_num_changes: IDL.Nat64, recent_changes: IDL.Vec(Change), module_hash: IDL.Opt(Blob), controllers: IDL.Vec(IDL.Principal) })],
  },
  take_canister_snapshot: {
    arg: IDL.Record({ canister_id: IDL.Principal, replace_snapshot: IDL.Opt(Blob), uninstall_code: IDL.Opt(IDL.Bool), sender_canister_version: IDL.Opt(IDL.Nat64) }),
    ret: [Snapshot],
  },
  load_canister_snapshot: { arg: IDL.Record({ canister_id: IDL.Principal, snapshot_id: Blob, sender_canister_version: IDL.Opt(IDL.Nat64) }), ret: [] },
  list_canister_snapshots: { arg: CanisterIdRecord, ret: [IDL.Vec(Snapshot)] },
  delete_canister_snapshot: { arg: IDL.Record({ canister_id: IDL.Principal, snapshot_id: Blob }), ret: [] },
  fetch_canister_logs: {
    arg: CanisterIdRecord,
    ret: [IDL.Record({ canister_log_records: IDL.Vec(IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: Blob })) })],
  },
} as const;

export type MethodName = keyof typeof METHODS;

export const isMethod = (m: string): m is MethodName => Object.prototype.hasOwnProperty.call(METHODS, m);

/** Encode a method's argument (a value of its `ic.did` type). */
export const encodeArg = (method: MethodName, arg: unknown): Uint8Array => {
  const t = METHODS[method].arg;
  return new Uint8Array(t === undefined ? IDL.encode([], []) : IDL.encode([t], [arg]));
};

/**
 * Decode a method's argument; a Candid error is the replica's `InvalidManagementPayload`. The
 * decoding of a large argument is remembered per argument (one message's bytes are decoded at
 * induction, for routing and for execution: an `install_code` with a module of 250 KB took
 * three decodings of several milliseconds each); the decoded value is never modified.
 */
export const decodeArg = (method: MethodName, bytes: Uint8Array): { ok: unknown } | { err: string } => {
  const known = bytes.length >= MEMO_BYTES ? DECODED.get(bytes) : undefined;
  if (known !== undefined && known.method === method) return known.result;
  const t = METHODS[method].arg;
  let result: { ok: unknown } | { err: string };
  try {
    const v = IDL.decode(t === undefined ? [] : [t], bytes);
    result = { ok: t === undefined ? null : v[0] };
  } catch (e) {
    result = { err: (e as Error).message };
  }
  if (bytes.length >= MEMO_BYTES) DECODED.set(bytes, { method, result });
  return result;
};
const MEMO_BYTES = 4096;
const DECODED = new WeakMap<Uint8Array, { readonly method: MethodName; readonly result: { ok: unknown } | { err: string } }>();

export const encodeRet = (method: MethodName, values: unknown[]): Uint8Array =>
  new Uint8Array(IDL.encode([...METHODS[method].ret] as IDL.Type[], values));
