/**
 * The state operations the execution rules are made of: queues, call contexts, responses
 * to the origin of a call, and applying what an execution did. All pure: each returns a new
 * state.
 */
import type { Principal } from '../core/principal.js';
import { rejectCodeOf, errorCodeText, type Trap, type UserError } from './errors.js';
import { appendLog, logRemaining } from './log.js';
import type { CallArgs, ExecEffects, ExecInput, ExecResult, Response, WasmState } from './runtime.js';
import { bumpAll, callbackSlot, consume, consumeSubnet, contextSlot, cyclesEnv, type Charges } from './cycles.js';
import { execute } from './runtime.js';
import type { EntryKind } from './sysapi.js';
import type { CallbackEntry, CallContext, Canister, ExecState, IngressStatus, Message, Origin } from './state.js';

// ---------------------------------------------------------------------------------------
// Messages and queues ([EXE-ORDER.1])

/** A canister-to-canister call message goes into the FIFO of its (caller, callee) pair. */
export const pairQueue = (from: string, to: string): string => `${from}>${to}`;

/** A message before it has an id. */
export type NewMessage = Message extends infer M ? (M extends Message ? Omit<M, 'id'> : never) : never;

export const enqueue = (s: ExecState, m: NewMessage): ExecState => {
  const id = s.nextId;
  const msg = { ...m, id } as Message;
  const q = s.queues.get(msg.queue) ?? [];
  return { ...s, nextId: id + 1, messages: s.messages.set(id, msg), queues: s.queues.set(msg.queue, [...q, id]) };
};

/** Whether the message is at the head of its queue (only heads may execute). */
export const isHead = (s: ExecState, id: number): boolean => {
  const m = s.messages.get(id);
  if (m === undefined) return false;
  return s.queues.get(m.queue)?.[0] === id;
};

/** Remove a pending message from its queue (the head when it executes; anywhere when withdrawn). */
export const dequeue = (s: ExecState, id: number): ExecState => {
  const m = s.messages.get(id)!;
  const q = s.queues.get(m.queue) ?? [];
  const rest = q[0] === id ? q.slice(1) : q.filter((x) => x !== id);
  return { ...s, messages: s.messages.delete(id), queues: rest.length === 0 ? s.queues.delete(m.queue) : s.queues.set(m.queue, rest) };
};

// ---------------------------------------------------------------------------------------
// Canisters

export const getCanister = (s: ExecState, id: string): Canister | undefined => s.canisters.get(id);

export const putCanister = (s: ExecState, c: Canister): ExecState => ({ ...s, canisters: s.canisters.set(c.id.text, c) });

/** The status code `ic0.canister_status` returns. */
export const statusCode = (c: Canister): 1 | 2 | 3 => (c.status === 'running' ? 1 : c.status === 'stopping' ? 2 : 3);

// ---------------------------------------------------------------------------------------
// Call contexts and responses ([EXE-EXEC-CALL.1], [EXE-STARVED.1])

export const newContext = (s: ExecState, canister: string, origin: Origin, caller: Principal, cycles: bigint, deadline = 0n): [ExecState, CallContext] => {
  const ctx: CallContext = { id: s.nextId, canister, origin, caller, needsToRespond: origin.kind !== 'system', availableCycles: cycles, outstanding: 0, instructions: 0n, deadline };
  return [putContext({ ...s, nextId: s.nextId + 1 }, ctx), ctx];
};

// Contexts and callbacks change only through these four, which keep the index of response
// slots ([CYC-MEMORY-USAGE.1]) in step with them.

const addSlots = (s: ExecState, canister: string, d: number): ExecState => {
  if (d === 0) return s;
  const n = (s.messageSlots.get(canister) ?? 0) + d;
  return { ...s, messageSlots: n === 0 ? s.messageSlots.delete(canister) : s.messageSlots.set(canister, n) };
};

export const putContext = (s: ExecState, ctx: CallContext): ExecState => {
  // (the old entry is read before the map changes: reading it after would reroot the map twice)
  const d = contextSlot(ctx) - contextSlot(s.contexts.get(ctx.id));
  return addSlots({ ...s, contexts: s.contexts.set(ctx.id, ctx) }, ctx.canister, d);
};

export const dropContext = (s: ExecState, id: number): ExecState => {
  const ctx = s.contexts.get(id);
  return ctx === undefined ? s : addSlots({ ...s, contexts: s.contexts.delete(id) }, ctx.canister, -contextSlot(ctx));
};

export const putCallback = (s: ExecState, cb: CallbackEntry): ExecState => {
  const d = callbackSlot(cb) - callbackSlot(s.callbacks.get(cb.id));
  return addSlots({ ...s, callbacks: s.callbacks.set(cb.id, cb) }, cb.canister, d);
};

export const dropCallback = (s: ExecState, id: number): ExecState => {
  const cb = s.callbacks.get(id);
  return cb === undefined ? s : addSlots({ ...s, callbacks: s.callbacks.delete(id) }, cb.canister, -callbackSlot(cb));
};

/** Deliver a response to whoever waits for it: the ingress history, a calling canister, or nobody (system tasks). */
export const respondTo = (s: ExecState, origin: Origin, response: Response, refund: bigint, error?: UserError): ExecState => {
  switch (origin.kind) {
    case 'ingress': {
      const expiry = s.ingress.get(origin.messageId)?.expiry;
      const st: IngressStatus = {
        ...(response.kind === 'reply'
          ? { status: 'replied' as const, time: s.time, reply: response.data }
          : { status: 'rejected' as const, time: s.time, code: response.code, message: response.message, errorCode: error ? errorCodeText(error.code) : '' }),
        ...(expiry !== undefined ? { expiry } : {}),
      };
      return { ...s, ingress: s.ingress.set(origin.messageId, st) };
    }
    case 'canister': {
      // [EXE-BEST-EFFORT.1] the response to an expired best-effort call is dropped, but the
      // cycles it refunds return to the caller ([CYC-REFUND.1])
      if (s.callbacks.get(origin.callback)?.expired === true) {
        const caller = s.canisters.get(origin.caller);
        return caller === undefined ? consumeSubnet(s, refund, 'DroppedMessages') : putCanister(s, { ...caller, cycles: caller.cycles + refund });
      }
      // a system error reaches a calling canister as its reject code and `IC0xxx: <text>`
      const r: Response = error !== undefined && response.kind === 'reject' ? { ...response, message: `${errorCodeText(error.code)}: ${error.message}` } : response;
      // [EXE-ORDER.1] responses have no queue order: each is its own queue
      return enqueue(s, { kind: 'response', queue: `response:${s.nextId}`, canister: origin.caller, callback: origin.callback, response: r, refund });
    }
    case 'system':
      return s;
  }
};

export const rejectWith = (e: UserError): Response => ({ kind: 'reject', code: rejectCodeOf(e.code), message: e.message });

/** Answer a context with an error (trap, did not reply, …) when it still needs an answer. */
export const respondError = (s: ExecState, ctx: CallContext, e: UserError): ExecState => {
  if (!ctx.needsToRespond) return s;
  const s1 = respondTo(s, ctx.origin, rejectWith(e), ctx.availableCycles, e);
  return putContext(s1, { ...ctx, needsToRespond: false, availableCycles: 0n });
};

/**
 * After an execution in a context: a context that still needs to respond but has no
 * outstanding call can never respond, so the system answers for it ([EXE-STARVED.1]);
 * a context that has responded and has no outstanding calls is removed; a stopping
 * canister without open contexts becomes stopped ([EXE-STOP.1]).
 */
export const settleContext = (s: ExecState, ctxId: number, didNotReply: () => UserError): ExecState => {
  const ctx = s.contexts.get(ctxId);
  if (ctx === undefined) return s;
  let st = s;
  if (ctx.outstanding === 0 && ctx.needsToRespond) st = respondError(st, ctx, ctx.lastTrap ?? didNotReply());
  const c2 = st.contexts.get(ctxId)!;
  if (c2.outstanding === 0 && !c2.needsToRespond) st = dropContext(st, ctxId);
  return maybeStopped(st, ctx.canister);
};

export const openContexts = (s: ExecState, canister: string): number => {
  let n = 0;
  for (const [, c] of s.contexts.entries()) if (c.canister === canister) n++;
  return n;
};

/**
 * A stopping canister with no open call contexts is stopped, and its stop requests are answered;
 * never before ([EXE-STOPPED-IDLE.1]).
 */
export const maybeStopped = (s: ExecState, canister: string): ExecState => {
  const c = s.canisters.get(canister);
  if (c === undefined || c.status !== 'stopping' || openContexts(s, canister) > 0) return s;
  let st = putCanister(s, { ...c, status: 'stopped', stopWaiters: [], version: c.version + 1n });
  for (const w of c.stopWaiters) st = respondTo(st, w, { kind: 'reply', data: EMPTY_REPLY }, 0n);
  return st;
};

/** Candid `()`: the reply of methods without a result. */
export const EMPTY_REPLY = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0x00, 0x00]);

// ---------------------------------------------------------------------------------------
// Running an entry point and applying its effects

export interface RunArgs {
  readonly kind: EntryKind;
  readonly entry: ExecInput['entry'];
  readonly caller: Principal;
  readonly arg: Uint8Array;
  readonly methodName?: string;
  readonly cyclesAvailable?: bigint;
  readonly cyclesRefunded?: bigint;
  readonly rejectCode?: number;
  readonly rejectMessage?: string;
  readonly limit: bigint;
  readonly sliceLimit: bigint;
  readonly callContextInstructions?: bigint;
  readonly certificate?: Uint8Array;
  readonly alreadyReplied?: boolean;
  readonly deadline?: bigint;
  /** whether the caller controls the canister (out-of-cycles errors then tell the amount) */
  readonly reveal?: boolean;
}

export const run = (s: ExecState, c: Canister, wasm: WasmState, a: RunArgs, persist = true): ExecResult =>
  execute(
    c.id.text,
    wasm,
    {
      kind: a.kind,
      entry: a.entry,
      canisterId: c.id,
      caller: a.caller,
      arg: a.arg,
      methodName: a.methodName ?? '',
      time: s.time,
      balance: c.cycles,
      cyclesAvailable: a.cyclesAvailable ?? 0n,
      cyclesRefunded: a.cyclesRefunded ?? 0n,
      rejectCode: a.rejectCode ?? 0,
      rejectMessage: a.rejectMessage ?? '',
      controllers: c.controllers,
      status: statusCode(c),
      version: c.version,
      ...(a.certificate ? { certificate: a.certificate } : {}),
      deadline: a.deadline ?? 0n,
      limit: a.limit,
      sliceLimit: a.sliceLimit,
      wasmMemoryLimit: c.settings.wasmMemoryLimit,
      stableMemoryLimitBytes: s.config.stableMemoryLimit,
      callContextInstructions: a.callContextInstructions ?? 0n,
      logRemaining: logRemaining(c.log),
      ...(a.alreadyReplied === true ? { alreadyReplied: true } : {}),
      cycles: cyclesEnv(s, c, wasm, a.reveal ?? false),
    },
    c.globalTimer,
    persist,
  );

/**
 * Apply a successful execution in context `ctx`: the new Wasm state, cycles, certified data,
 * timer, version ([EXE-VERSION.1]), the response and the calls it made.
 */
export const applyOk = (
  s: ExecState,
  c: Canister,
  ctx: CallContext,
  r: Extract<ExecResult['outcome'], { kind: 'ok' }>,
  instructions: bigint,
  bumpVersion: boolean,
  /** instructions still to pay (a deferred prepayment less its refund) ([CYC-PREPAY.1]) */
  instructionCharge = 0n,
): ExecState => {
  let st = s;
  // accepted cycles come in, attached ones go out, reserved ones move aside ([CYC-REFUND.1], [CYC-RESERVE.1])
  let cycles = c.cycles + r.cyclesAccepted - r.cyclesSent - r.cyclesReserved;
  let ctx2: CallContext = { ...ctx, availableCycles: ctx.availableCycles - r.cyclesAccepted, instructions: ctx.instructions + instructions };
  // calls: each becomes a message in the (caller, callee) FIFO and a registered callback
  for (const call of r.calls) st = registerCall(st, c.id.text, ctx2.id, call);
  ctx2 = { ...ctx2, outstanding: ctx2.outstanding + r.calls.length };
  if (r.response !== undefined && ctx2.needsToRespond) {
    st = respondTo(st, ctx2.origin, r.response, ctx2.availableCycles);
    ctx2 = { ...ctx2, needsToRespond: false, availableCycles: 0n };
  }
  if (ctx2.origin.kind === 'system' && ctx2.availableCycles > 0n) {
    cycles += ctx2.availableCycles;
    ctx2 = { ...ctx2, availableCycles: 0n };
  }
  // answering its own expired best-effort call credits the refund to the canister itself ([CYC-REFUND.1])
  cycles += st.canisters.get(c.id.text)!.cycles - c.cycles;
  // what the execution consumed: its instructions, the calls' fees and reservations
  // ([CYC-CALL-FEE.1]) and the cycles it burned ([CYC-SYSAPI.1]), in one charge
  const charges: Charges = [
    ['Instructions', r.executionCharged + instructionCharge],
    ['RequestAndResponseTransmission', r.transmissionCharged],
    ['BurnedCycles', r.cyclesBurned],
  ];
  const charged = r.executionCharged + instructionCharge + r.transmissionCharged + r.cyclesBurned;
  const c2: Canister = {
    ...c,
    wasm: r.state,
    cycles: cycles - charged,
    consumed: bumpAll(c.consumed, charges),
    reserved: c.reserved + r.cyclesReserved,
    version: bumpVersion ? c.version + 1n : c.version,
    ...(r.certifiedData !== undefined ? { certifiedData: r.certifiedData } : {}),
    ...(r.globalTimer !== undefined ? { globalTimer: r.globalTimer } : {}),
  };
  st = { ...st, canisters: st.canisters.set(c2.id.text, c2), ...(charged > 0n ? { books: { ...st.books, consumed: bumpAll(st.books.consumed, charges) } } : {}) };
  return putContext(st, ctx2);
};

/**
 * What an execution consumed besides its instructions: the calls' fees and reservations
 * ([CYC-CALL-FEE.1]) and the cycles it burned ([CYC-SYSAPI.1]).
 */
export const chargeEffects = (s: ExecState, c: Canister, r: Pick<ExecEffects, 'transmissionCharged' | 'executionCharged' | 'cyclesBurned'>): ExecState => {
  let [st, c2] = consume(s, c, r.transmissionCharged, 'RequestAndResponseTransmission');
  [st, c2] = consume(st, c2, r.executionCharged, 'Instructions');
  return consume(st, c2, r.cyclesBurned, 'BurnedCycles')[0];
};

const registerCall = (s: ExecState, from: string, ctx: number, call: CallArgs): ExecState => {
  const cbId = s.nextId;
  // [EXE-BEST-EFFORT.1] a best-effort call's deadline: now plus its timeout (at most 300 s)
  const deadline = call.timeoutSeconds === undefined ? 0n : s.time + BigInt(call.timeoutSeconds) * 1_000_000_000n;
  const s1 = putCallback(
    { ...s, nextId: cbId + 1 },
    {
      id: cbId,
      ctx,
      canister: from,
      callee: call.callee.text,
      method: call.method,
      reply: call.reply,
      reject: call.reject,
      ...(call.cleanup ? { cleanup: call.cleanup } : {}),
      deadline,
      message: cbId + 1,
      cyclesSent: call.cycles,
      prepaidExecution: call.prepaidExecution,
      prepaidTransmission: call.prepaidTransmission,
    },
  );
  return enqueue(s1, {
    kind: 'call',
    queue: pairQueue(from, call.callee.text),
    origin: { kind: 'canister', caller: from, ctx, callback: cbId },
    caller: s.canisters.get(from)!.id,
    callee: call.callee,
    method: call.method,
    arg: call.arg,
    cycles: call.cycles,
    deadline,
  });
};

// ---------------------------------------------------------------------------------------
// The canister log ([EXE-LOG.1])

const utf8Enc = new TextEncoder();

/** The log line of a trap: `[TRAP]: <trap>` (Wasm traps and `ic0.trap`; other errors are not logged). */
export const trapLogLine = (t: Trap): Uint8Array | undefined =>
  t.kind === 'Wasm' ? utf8Enc.encode(`[TRAP]: ${t.message}`) : t.kind === 'CalledTrap' ? utf8Enc.encode(`[TRAP]: ${t.message === '' ? '(no message)' : t.message}`) : undefined;

/** Append what an execution printed, and its trap, to the canister's log. */
export const logExecution = (s: ExecState, canister: string, prints: readonly string[], trap?: Trap): ExecState => {
  const line = trap === undefined ? undefined : trapLogLine(trap);
  if (prints.length === 0 && line === undefined) return s;
  const c = s.canisters.get(canister);
  if (c === undefined) return s;
  return putCanister(s, { ...c, log: appendLog(c.log, s.time, [...prints.map((p) => utf8Enc.encode(p)), ...(line ? [line] : [])]) });
};
