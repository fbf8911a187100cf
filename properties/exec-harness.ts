/** Test harness over the execution machine: a subnet, and helpers that drive it like a client. */
import { IDL } from '@dfinity/candid';
import * as E from 'fp-ts/lib/Either.js';
import { ANONYMOUS, MANAGEMENT_CANISTER, canisterId, principalFromBytes, type Principal } from '../src/core/principal.js';
import { fromDfinity, METHODS, toDfinity, type MethodName } from '../src/execution/candid.js';
import { APPLICATION_SUBNET } from '../src/execution/config.js';
import { certify, query, submitIngress, type QueryOutput } from '../src/execution/rules.js';
import { runRound, type RoundEvent } from '../src/execution/scheduler.js';
import { emptyState, type ExecConfig, type ExecState, type IngressStatus } from '../src/execution/state.js';
import { loadCanister } from '../src/toolchain/compile.js';

export const T0 = 1_620_328_630_000_000_000n;
export const SECOND = 1_000_000_000n;

/** An application subnet with small instruction limits, so that runaway tests end quickly. */
export const SMALL: ExecConfig = {
  ...APPLICATION_SUBNET,
  limits: { ...APPLICATION_SUBNET.limits, update: 200_000_000n, updateSlice: 50_000_000n, query: 100_000_000n, install: 2_000_000_000n, installSlice: 500_000_000n },
};

export const subnet = (config: ExecConfig = SMALL): ExecState => emptyState(config, T0);

export interface Done {
  readonly state: ExecState;
  readonly status: IngressStatus;
  readonly prints: string[];
  readonly events: RoundEvent[];
}

/** Submit an ingress message and run rounds (1 s apart) until it completes. */
export const ingress = (s0: ExecState, callee: Principal, method: string, arg: Uint8Array, sender: Principal = ANONYMOUS): Done => {
  const r = submitIngress(s0, { sender, canister: callee, method, arg });
  if (E.isLeft(r)) throw new Error(`submit failed: ${JSON.stringify(r.left)}`);
  let s = r.right.state;
  const id = r.right.output.messageId;
  const prints: string[] = [];
  const events: RoundEvent[] = [];
  for (let i = 0; i < 1000; i++) {
    s = runRound(s, s.time, (e) => {
      events.push(e);
      prints.push(...e.report.debugPrints);
    });
    const st = s.ingress.get(id)!;
    if (st.status === 'replied' || st.status === 'rejected') return { state: s, status: st, prints, events };
    s = { ...s, time: s.time + SECOND };
  }
  throw new Error('ingress did not complete in 1000 rounds');
};

/** Run rounds until no message is pending. */
export const settle = (s0: ExecState, rounds = 10): ExecState => {
  let s = s0;
  for (let i = 0; i < rounds; i++) {
    s = runRound(s, s.time);
    if (s.messages.size === 0) break;
    s = { ...s, time: s.time + SECOND };
  }
  return s;
};

/** A query on the state as it is now (certified first: queries read the last certified state). */
export const q = (s: ExecState, callee: Principal, method: string, arg: Uint8Array, sender: Principal = ANONYMOUS): QueryOutput => {
  const c = certify(s, {});
  if (E.isLeft(c)) throw new Error('certify not enabled');
  const r = query(c.right.state, { sender, canister: callee, method, arg });
  if (E.isLeft(r)) throw new Error('query not enabled');
  return r.right.output;
};

/** Call a management canister method by ingress with a Candid-encoded argument. */
export const mgmt = (s: ExecState, method: MethodName, arg: unknown, sender: Principal = ANONYMOUS): Done => {
  const t = METHODS[method].arg;
  const bytes = t === undefined ? IDL.encode([], []) : IDL.encode([t], [arg]);
  return ingress(s, MANAGEMENT_CANISTER, method, new Uint8Array(bytes), sender);
};

export const decodeReply = (method: MethodName, st: IngressStatus): unknown => {
  if (st.status !== 'replied') throw new Error(`expected a reply, got ${JSON.stringify(st, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  return IDL.decode([...METHODS[method].ret] as IDL.Type[], st.reply)[0];
};

/** Create a canister (controllers default: the sender). */
export const create = (s: ExecState, opts: { sender?: Principal; controllers?: Principal[]; cycles?: bigint } = {}): { state: ExecState; id: Principal } => {
  const d = mgmt(
    s,
    'provisional_create_canister_with_cycles',
    {
      amount: [opts.cycles ?? 1_000_000_000_000_000n],
      settings: opts.controllers ? [{ controllers: [opts.controllers.map(toDfinity)], compute_allocation: [], memory_allocation: [], freezing_threshold: [], reserved_cycles_limit: [], log_visibility: [], wasm_memory_limit: [], wasm_memory_threshold: [], environment_variables: [] }] : [],
      specified_id: [],
      sender_canister_version: [],
    },
    opts.sender ?? ANONYMOUS,
  );
  const r = decodeReply('provisional_create_canister_with_cycles', d.status) as { canister_id: Parameters<typeof fromDfinity>[0] };
  return { state: d.state, id: fromDfinity(r.canister_id) };
};

export const installArg = (id: Principal, wasm: Uint8Array, arg: Uint8Array = new Uint8Array(), mode: 'install' | 'reinstall' | 'upgrade' | 'upgrade-keep' = 'install') => ({
  mode:
    mode === 'upgrade' ? { upgrade: [] } : mode === 'upgrade-keep' ? { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: [{ keep: null }] }] } : { [mode]: null },
  canister_id: toDfinity(id),
  wasm_module: wasm,
  arg,
  sender_canister_version: [],
});

export const install = (s: ExecState, id: Principal, wasm: Uint8Array, arg?: Uint8Array, mode: Parameters<typeof installArg>[3] = 'install', sender: Principal = ANONYMOUS): Done =>
  mgmt(s, 'install_code', installArg(id, wasm, arg, mode), sender);

/** A fresh subnet with one canister running `name` (from canisters/). */
export const withCanister = async (name: string, config: ExecConfig = SMALL, arg?: Uint8Array): Promise<{ state: ExecState; id: Principal; wasm: Uint8Array }> => {
  const wasm = (await loadCanister(name)).wasm;
  const c = create(subnet(config));
  const d = install(c.state, c.id, wasm, arg);
  if (d.status.status !== 'replied') throw new Error(`install of ${name} failed: ${JSON.stringify(d.status)}`);
  return { state: d.state, id: c.id, wasm };
};

export const CANDID_EMPTY = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0x00, 0x00]);
export const candidNat = (n: number): Uint8Array => new Uint8Array(IDL.encode([IDL.Nat], [BigInt(n)]));
export const decodeNat = (b: Uint8Array): bigint => IDL.decode([IDL.Nat], b)[0] as bigint;

export const userPrincipal = (n: number): Principal => principalFromBytes(new Uint8Array([n, 0xaa, 0x01])) as Principal;
export const cid = (n: bigint): Principal => canisterId(n);

export const statusOf = (st: IngressStatus): string =>
  st.status === 'replied' ? `reply:${Buffer.from(st.reply).toString('hex')}` : st.status === 'rejected' ? `reject:${st.code}:${st.errorCode}:${st.message}` : st.status;
