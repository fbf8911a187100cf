/**
 * The abstract behaviour of execution as a machine (`#meta.machine` `execution_abstract`): the
 * vocabulary of the Quint model spec/quint/execution.qnt, carried out by the execution machine
 * on universal canisters running in real Wasm ([EXE-ABSTRACT.1]). A model program — write the
 * canister's memory, make calls whose callee and callbacks run programs too, then reply, reject,
 * trap or return — is encoded into the universal canister's byte code; the model's memory is the
 * canister's stable global (one byte; empty reads as 0). The view is what the model and the
 * machine both know: canister status, memory, the model's ingress messages, open call contexts.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { notEnabled, ok, type ActionSpec, type AnyActionSpec, type Invariant, type Machine, type Result } from '../core/machine.js';
import { MANAGEMENT_CANISTER, principalFromText, type Principal } from '../core/principal.js';
import { Nat, Rec, SmallNat } from '../trace/codecs.js';
import { map, variant, UNIT, type ItfValue } from '../trace/itf.js';
import { prog, type Prog } from '../toolchain/universal.js';
import { encodeArg, toDfinity } from './candid.js';
import { executionMachine, installCodeArg, initExec, WasmCodec } from './machine.js';
import { openContexts, pairQueue } from './ops.js';
import * as R from './rules.js';
import type { ExecState } from './state.js';

// ---------------------------------------------------------------- programs

export type End = 'Reply' | 'Reject' | 'Trap' | 'Silent';
/** A callback's or a callee's program: write the memory (0: no write), then end. */
export interface Leaf {
  readonly write: number;
  readonly end: End;
  /** a callee accepts every cycle attached to its call ([CYC-SYSAPI.1]) */
  readonly accept: boolean;
  /** a reply or reject callback writes the cycles refunded to it ([CYC-REFUND.1]) */
  readonly write_refund: boolean;
}
export interface Call {
  readonly callee: number;
  /** cycles attached to the call */
  readonly cycles: number;
  readonly prog: Leaf;
  readonly on_reply: Leaf;
  readonly on_reject: Leaf;
  /** run when the reply or reject callback traps ([EXE-CLEANUP.1]) */
  readonly on_cleanup: Leaf;
}
/** An ingress message's program: write, make the calls in order, then end. */
export interface Program {
  readonly write: number;
  readonly calls: readonly Call[];
  readonly end: End;
}

/** The reject message of a model `Reject`. */
export const REJECT_MESSAGE = 'abstract reject';

/** Where a program runs: what of the System API it may use. */
export type Role = 'ingress' | 'callee' | 'callback' | 'cleanup';

/**
 * [EXE-ABSTRACT.1] a model program as universal canister byte code: a callee's `accept` is
 * `msg_cycles_accept`; a callback's `write_refund` stores `msg_cycles_refunded` (8 bytes, little
 * endian: its first byte is the model's value); each only where its role offers it.
 */
export const encodeProgram = (p: Program & Partial<Pick<Leaf, 'accept' | 'write_refund'>>, canisters: readonly Principal[], role: Role = 'ingress'): Prog => {
  let u = prog();
  if (role === 'callee' && p.accept === true) u = u.pushI64(1_000_000n).msgCyclesAccept().drop();
  if (p.write > 0) u = u.pushBytes(Uint8Array.of(p.write)).setStableGlobal();
  if (role === 'callback' && p.write_refund === true) u = u.msgCyclesRefunded().i64ToBlob().setStableGlobal();
  for (const c of p.calls)
    u = u
      .callSimple({
        callee: canisters[c.callee]!.bytes,
        method: 'update',
        arg: encodeProgram(leafProgram(c.prog), canisters, 'callee').build(),
        onReply: encodeProgram(leafProgram(c.on_reply), canisters, 'callback'),
        onReject: encodeProgram(leafProgram(c.on_reject), canisters, 'callback'),
        onCleanup: encodeProgram(leafProgram(c.on_cleanup), canisters, 'cleanup'),
        ...(c.cycles > 0 ? { cycles: BigInt(c.cycles) } : {}),
      })
      .drop();
  switch (p.end) {
    case 'Reply':
      return u.getStableGlobal().replyBlob();
    case 'Reject':
      return u.rejectWith(REJECT_MESSAGE);
    case 'Trap':
      return u.pushBytes('abstract trap').trap();
    case 'Silent':
      return u;
  }
};
const leafProgram = (l: Leaf): Program & Pick<Leaf, 'accept' | 'write_refund'> => ({ write: l.write, calls: [], end: l.end, accept: l.accept, write_refund: l.write_refund });

/** The model's memory value: the stable global's one byte, 0 when empty. */
export const memoryValue = (global: Uint8Array): bigint => (global.length === 0 ? 0n : BigInt(global[0]!));

// ---------------------------------------------------------------- state

export interface AbstractState {
  readonly exec: ExecState;
  /** model canister k is this universal canister */
  readonly canisters: readonly Principal[];
  /** the machine's callback id of each model callback, in the order both create them */
  readonly callbacks: readonly number[];
}

export interface AbstractInit {
  readonly canisters: number;
  readonly wasm: Uint8Array;
}

/** The user of the model: the sender of its ingress messages and the controller of every canister. */
export const USER = principalFromText('rrkah-fqaaa-aaaaa-aaaaq-cai') as Principal;

const INGRESS_PREFIX = 'model-';
const ingressId = (id: bigint): string => `${INGRESS_PREFIX}${id}`;

/** Submit an ingress message and execute it at once; its id. */
const runIngress = (s: ExecState, canister: Principal, method: string, arg: Uint8Array, messageId: string): E.Either<string, ExecState> => {
  const sub = R.submitIngress(s, { sender: USER, canister, method, arg, messageId });
  if (E.isLeft(sub)) return E.left(`${method}: ${JSON.stringify(sub.left, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  const st = sub.right.state;
  const m = messageOf(st, `ingress:${messageId}`);
  if (m === undefined) return E.left(`${method}: the message was not queued`);
  const ex = R.executeMessage(st, { message: m });
  return E.isLeft(ex) ? E.left(`${method}: cannot execute`) : E.right(ex.right.state);
};

/** The head message of a queue. */
const messageOf = (s: ExecState, queue: string): number | undefined => s.queues.get(queue)?.[0];


/** [EXE-ABSTRACT.1] K universal canisters, created and installed by the user, all running. */
export const initAbstract = (cfg: AbstractInit): E.Either<{ code: string; message: string }, AbstractState> => {
  const base = initExec({ subnet: 'application', time: T0 });
  if (E.isLeft(base)) return base;
  let s = base.right;
  const canisters: Principal[] = [];
  for (let k = 0; k < cfg.canisters; k++) {
    const created = runIngress(s, MANAGEMENT_CANISTER, 'provisional_create_canister_with_cycles', encodeArg('provisional_create_canister_with_cycles', { amount: [], settings: [], specified_id: [], sender_canister_version: [] }), `init-create-${k}`);
    if (E.isLeft(created)) return E.left({ code: 'InitFailed', message: created.left });
    s = created.right;
    const id = principalFromText(s.canisterOrder[s.canisterOrder.length - 1]!) as Principal;
    const installed = runIngress(s, MANAGEMENT_CANISTER, 'install_code', installCodeArg({ canister: id, mode: 'install', wasm: cfg.wasm, arg: new Uint8Array() }), `init-install-${k}`);
    if (E.isLeft(installed)) return E.left({ code: 'InitFailed', message: installed.left });
    s = installed.right;
    if (s.canisters.get(id.text)?.wasm === undefined) return E.left({ code: 'InitFailed', message: `canister ${id.text} was not installed` });
    canisters.push(id);
  }
  return E.right({ exec: s, canisters, callbacks: [] });
};

// ---------------------------------------------------------------- actions

const newCallbacks = (before: ExecState, after: ExecState): number[] =>
  after.callbacks
    .entries()
    .map(([id]) => id)
    .filter((id) => !before.callbacks.has(id))
    .sort((a, b) => a - b);

/** Run a rule of the execution machine; record the callbacks it created. */
const step = (s: AbstractState, exec: ExecState): Result<AbstractState, null, never> => ok({ ...s, exec, callbacks: [...s.callbacks, ...newCallbacks(s.exec, exec)] }, null);

const canister = (s: AbstractState, k: bigint): Principal | undefined => s.canisters[Number(k)];

/** [EXE-INGRESS-SUBMIT.1] the user's ingress message, the program as the `update` argument. */
const submit = (s: AbstractState, a: { id: bigint; canister: bigint; prog: Program }): Result<AbstractState, null, never> => {
  const c = canister(s, a.canister);
  if (c === undefined) return notEnabled('EXE-ABSTRACT.1', `no model canister ${a.canister}`);
  for (const call of a.prog.calls) if (canister(s, BigInt(call.callee)) === undefined) return notEnabled('EXE-ABSTRACT.1', `no model canister ${call.callee}`);
  const r = R.submitIngress(s.exec, { sender: USER, canister: c, method: 'update', arg: encodeProgram(a.prog, s.canisters).build(), messageId: ingressId(a.id) });
  return E.isLeft(r) ? notEnabled('EXE-INGRESS-SUBMIT.1', `the ingress message was refused: ${r.left.kind === 'NotEnabled' ? r.left.reason : r.left.error.message}`) : step(s, r.right.state);
};

const execute = (s: AbstractState, message: number | undefined, what: string): Result<AbstractState, null, never> => {
  if (message === undefined) return notEnabled('EXE-EXECUTE.1', `${what} is not pending`);
  const r = R.executeMessage(s.exec, { message });
  return E.isLeft(r) ? notEnabled('EXE-EXECUTE.1', `${what} cannot execute`) : step(s, r.right.state);
};

/** [EXE-EXECUTE.1] the model's ingress message `id`. */
const executeIngress = (s: AbstractState, a: { id: bigint }) => execute(s, messageOf(s.exec, `ingress:${ingressId(a.id)}`), `ingress message ${a.id}`);

/** [EXE-ORDER.1] the head of the calls from canister `from` to canister `to`. */
const executeCall = (s: AbstractState, a: { from: bigint; to: bigint }) => {
  const f = canister(s, a.from);
  const t_ = canister(s, a.to);
  if (f === undefined || t_ === undefined) return notEnabled('EXE-ABSTRACT.1', `no model canister ${f === undefined ? a.from : a.to}`);
  return execute(s, messageOf(s.exec, pairQueue(f.text, t_.text)), `a call from canister ${a.from} to ${a.to}`);
};

/** [EXE-EXEC-RESPONSE.1] the response to the model's callback `callback`. */
const deliverResponse = (s: AbstractState, a: { callback: bigint }) => {
  const cb = s.callbacks[Number(a.callback)];
  let message: number | undefined;
  if (cb !== undefined)
    for (const [id, m] of s.exec.messages.entries())
      if (m.kind === 'response' && m.callback === cb) {
        message = id;
        break;
      }
  return execute(s, message, `the response to callback ${a.callback}`);
};

/** The machine's time when the model's starts. */
export const T0 = 1_620_328_630_000_000_000n;
const SECOND = 1_000_000_000n;

/** [EXE-TIME.1] time moves forward by whole seconds. */
const advance = (s: AbstractState, a: { seconds: bigint }): Result<AbstractState, null, never> => {
  // as in the model: time moves forward, by at least a second
  if (a.seconds === 0n) return notEnabled('EXE-TIME.1', 'time moves by at least one second');
  const r = R.advanceTime(s.exec, { now: s.exec.time + a.seconds * SECOND });
  return E.isLeft(r) ? notEnabled('EXE-TIME.1', 'time cannot move') : step(s, r.right.state);
};

/** [EXE-STOP.1] [EXE-START.1] the user's stop_canister or start_canister, executed at once. */
const controlStatus = (method: 'stop_canister' | 'start_canister') => (s: AbstractState, a: { canister: bigint }) => {
  const c = canister(s, a.canister);
  if (c === undefined) return notEnabled('EXE-ABSTRACT.1', `no model canister ${a.canister}`);
  const n = s.exec.nextId;
  const r = runIngress(s.exec, MANAGEMENT_CANISTER, method, encodeArg(method, { canister_id: toDfinity(c) }), `${method}-${n}`);
  return E.isLeft(r) ? notEnabled('EXE-ABSTRACT.1', r.left) : step(s, r.right);
};

/** How a program ends: the variants `Reply`, `Reject`, `Trap`, `Silent`. */
const EndCodec = new t.Type<End, ItfValue, unknown>(
  'End',
  (u): u is End => typeof u === 'string',
  (u, c) => {
    const tag = (u as { tag?: unknown })?.tag;
    return tag === 'Reply' || tag === 'Reject' || tag === 'Trap' || tag === 'Silent' ? t.success(tag) : t.failure(u, c, 'expected Reply, Reject, Trap or Silent');
  },
  (e) => variant(e),
);
/** A memory value: 0 (no write) to 255, the stable global's one byte. */
const Value = new t.Type<number, ItfValue, unknown>(
  'value',
  (u): u is number => typeof u === 'number',
  (u, c) => {
    const v = SmallNat.validate(u, c);
    return E.isRight(v) && v.right > 255 ? t.failure(u, c, 'a memory value is at most 255') : v;
  },
  (n) => BigInt(n),
);
const LeafCodec = Rec('Leaf', { write: Value, end: EndCodec, accept: t.boolean, write_refund: t.boolean });
const CallCodec = Rec('Call', { callee: SmallNat, cycles: SmallNat, prog: LeafCodec, on_reply: LeafCodec, on_reject: LeafCodec, on_cleanup: LeafCodec });
const ProgramCodec = Rec('Prog', { write: Value, calls: t.array(CallCodec), end: EndCodec });

const act = <A>(rule: (s: AbstractState, a: A) => Result<AbstractState, null, never>, args: t.Decoder<unknown, A>, reqs: string[]): AnyActionSpec<AbstractState> =>
  ({ rule, args, encodeOutput: () => UNIT, encodeError: () => UNIT, reqs }) satisfies ActionSpec<AbstractState, A, null, never> as AnyActionSpec<AbstractState>;

// ---------------------------------------------------------------- view

const statusName = (st: string): string => (st === 'running' ? 'Running' : st === 'stopping' ? 'Stopping' : 'Stopped');

const byIndex = (s: AbstractState, f: (p: Principal) => ItfValue): ItfValue => map(s.canisters.map((p, k) => [BigInt(k), f(p)] as const));

const memOf = (s: AbstractState, p: Principal): bigint => {
  const w = s.exec.canisters.get(p.text)?.wasm;
  if (w === undefined || w.stable.byteLength < 4) return 0n;
  const len = new DataView(w.stable.read(0, 4).buffer).getUint32(0, true);
  return len === 0 ? 0n : memoryValue(w.stable.read(4, 1));
};

/**
 * [EXE-ABSTRACT.1] the class of a reject, from its error code: the canister's own reject, a trap
 * (an explicit trap, a contract violation such as a second reply), no reply, a callee stopping or
 * stopped; any other error code is its own class (and so a divergence from the model).
 */
export const rejectClass = (errorCode: string): string => {
  switch (errorCode) {
    case '':
      return 'reject';
    case 'IC0502':
    case 'IC0503':
    case 'IC0504':
      return 'trap';
    case 'IC0506':
      return 'no_reply';
    case 'IC0508':
      return 'stopped';
    case 'IC0509':
      return 'stopping';
    default:
      return errorCode;
  }
};

/** [EXE-ABSTRACT.1] the model's ingress messages: Received, Processing, IReplied(memory) or IRejected({code, class}). */
const ingressView = (s: AbstractState): ItfValue =>
  map(
    s.exec.ingress
      .entries()
      .filter(([id]) => id.startsWith(INGRESS_PREFIX))
      .map(([id, st]) => {
        const k = BigInt(id.slice(INGRESS_PREFIX.length));
        switch (st.status) {
          case 'replied':
            return [k, variant('IReplied', memoryValue(st.reply))] as const;
          case 'rejected':
            return [k, variant('IRejected', { code: BigInt(st.code), class: rejectClass(st.errorCode) })] as const;
          case 'received':
            return [k, variant('Received')] as const;
          default:
            return [k, variant('Processing')] as const;
        }
      })
      .sort((a, b) => (a[0] < b[0] ? -1 : 1)),
  );

// ---------------------------------------------------------------- invariants

const invariants: readonly Invariant<AbstractState>[] = [
  ...executionMachine.invariants.map((i) => ({ ...i, check: (s: AbstractState) => i.check(s.exec) })),
  {
    // [EXE-STOPPED-IDLE.1] a stopped canister has no open call context
    name: 'stopped-canisters-have-no-contexts',
    req: 'EXE-STOPPED-IDLE.1',
    check: (s) => {
      for (const p of s.canisters) if (s.exec.canisters.get(p.text)?.status === 'stopped' && openContexts(s.exec, p.text) > 0) return `canister ${p.text} is stopped with ${openContexts(s.exec, p.text)} open call contexts`;
      return undefined;
    },
  },
];

// ---------------------------------------------------------------- the machine

const InitCodec = Rec('Init', { canisters: SmallNat, wasm: WasmCodec });

export const abstractMachine: Machine<AbstractState, AbstractInit> = {
  name: 'execution_abstract',
  initAction: 'Init',
  initArgs: InitCodec as unknown as t.Decoder<unknown, AbstractInit>,
  init: initAbstract,
  defaultConfig: { canisters: 2, wasm: new Uint8Array() },
  initReqs: ['EXE-ABSTRACT.1'],
  actions: {
    SubmitIngress: act(submit as never, Rec('SubmitIngress', { id: Nat, canister: Nat, prog: ProgramCodec }) as never, ['EXE-INGRESS-SUBMIT.1', 'EXE-ABSTRACT.1']),
    ExecuteIngress: act(executeIngress, Rec('ExecuteIngress', { id: Nat }) as never, ['EXE-EXECUTE.1', 'EXE-EXEC-CALL.1']),
    ExecuteCall: act(executeCall, Rec('ExecuteCall', { from: Nat, to: Nat }) as never, ['EXE-EXECUTE.1', 'EXE-EXEC-CALL.1', 'EXE-ORDER.1', 'CYC-SYSAPI.1']),
    DeliverResponse: act(deliverResponse, Rec('DeliverResponse', { callback: Nat }) as never, ['EXE-EXECUTE.1', 'EXE-EXEC-RESPONSE.1', 'EXE-CLEANUP.1', 'CYC-REFUND.1']),
    StopCanister: act(controlStatus('stop_canister'), Rec('StopCanister', { canister: Nat }) as never, ['EXE-STOP.1']),
    StartCanister: act(controlStatus('start_canister'), Rec('StartCanister', { canister: Nat }) as never, ['EXE-START.1']),
    AdvanceTime: act(advance, Rec('AdvanceTime', { seconds: Nat }) as never, ['EXE-TIME.1']),
  },
  view: {
    status: (s) => byIndex(s, (p) => variant(statusName(s.exec.canisters.get(p.text)?.status ?? 'stopped'))),
    mem: (s) => byIndex(s, (p) => memOf(s, p)),
    ingress: ingressView,
    open_contexts: (s) => byIndex(s, (p) => BigInt(openContexts(s.exec, p.text))),
    time: (s) => (s.exec.time - T0) / SECOND,
  },
  viewReqs: { status: ['EXE-STOP.1', 'EXE-STOPPED-IDLE.1'], mem: ['EXE-TRAP-ROLLBACK.1'], ingress: ['EXE-ANSWER-ONCE.1', 'EXE-STARVED.1', 'EXE-TRAP-ERROR.1', 'EXE-CALL-ADMISSION.1'], open_contexts: ['EXE-RESPONSE-MATCH.1'], time: ['EXE-TIME.1'] },
  invariants,
};
