/**
 * Executing messages on Wasm canisters: a call starts a call context and runs a method entry
 * point; a response runs a callback (and, if it traps, the cleanup callback); a system task
 * runs the global timer or the heartbeat. What may run is decided here; how the Wasm runs is
 * `runtime.ts`.
 */
import type { Principal } from '../core/principal.js';
import { MANAGEMENT_CANISTER } from '../core/principal.js';
import { canisterEmpty, canisterNotFound, canisterStopped, canisterStopping, compositeInReplicated, didNotReply, errorCodeText, fromCanister, methodNotFound, rejectCodeOf, trapError, userError, type UserError } from './errors.js';
import { applyOk, chargeEffects, dropCallback, getCanister, logExecution, newContext, putCanister, putContext, rejectWith, respondTo, run, settleContext } from './ops.js';
import type { ExecResult, WasmState } from './runtime.js';
import type { EntryKind } from './sysapi.js';
import { callLedger } from './ledger-canister.js';
import { notController, statusRecord } from './management.js';
import { decodeArg, encodeRet, fromDfinity } from './candid.js';
import type { Callback, Canister, ExecState, Message, Origin } from './state.js';
import * as A from '../cycles/account.js';
import { commitPrepaid, consume, consumeSubnet, freezingLimit, isController, isWasm64, netCharge, prepay, prepayDeferred, refund, refundUnused, type Prepaid } from './cycles.js';
import { utf8Length } from '../core/bytes.js';

/** The bytes of a response, for its transmission fee: the reply, or the reject code and message. */
const responseBytes = (r: import('./runtime.js').Response): bigint => BigInt(r.kind === 'reply' ? r.data.length : 1 + utf8Length(r.message));

/** A call to a native canister: its answer, with the cycles attached refunded ([EXE-NATIVE-LEDGER.1]). */
const executeNative = (s: ExecState, c: Canister, m: Extract<Message, { kind: 'call' }>): [ExecState, StepReport] => {
  const r = callLedger(c.id.text, c.native!.ledger, m.caller, m.method, m.arg, s.time, true);
  if (r.kind === 'error') return [errorResponse(s, m.origin, m.cycles, r.error), { ...NO_REPORT, trapped: r.error }];
  const s1 = putCanister(s, { ...c, native: { kind: 'icp_ledger', ledger: r.state } });
  return [respondTo(s1, m.origin, { kind: 'reply', data: r.data }, m.cycles), NO_REPORT];
};

/** What an execution step reports besides the new state. */
export interface StepReport {
  readonly instructions: bigint;
  readonly slices: number;
  readonly debugPrints: readonly string[];
  readonly trapped?: UserError;
  /** the execution paused at the end of this slice ([EXE-DTS.1]) */
  readonly paused?: boolean;
  /** cycles requirements the execution exercised beyond what its state change shows (not traced) */
  readonly reqs?: readonly string[];
}

export const NO_REPORT: StepReport = { instructions: 0n, slices: 0, debugPrints: [] };

/** Why a call cannot reach a method of the canister, or the export and context it runs in ([EXE-CALL-ADMISSION.1]). */
export const admitCall = (
  s: ExecState,
  callee: string,
  method: string,
  replicated: boolean,
): { readonly err: UserError } | { readonly native: Canister } | { readonly canister: Canister; readonly exp: string; readonly kind: 'U' | 'RQ' | 'NRQ' | 'CQ' } => {
  const c = getCanister(s, callee);
  if (c === undefined) return { err: canisterNotFound(callee) };
  // [EXE-CALL-ADMISSION.1] a stopping or stopped canister accepts no new calls
  if (c.status === 'stopping') return { err: canisterStopping(callee) };
  if (c.status === 'stopped') return { err: canisterStopped(callee) };
  if (c.native !== undefined) return { native: c };
  if (c.wasm === undefined) return { err: canisterEmpty(callee) };
  const ex = c.wasm.module.info.exports;
  if (replicated) {
    if (ex.update.includes(method)) return { canister: c, exp: `canister_update ${method}`, kind: 'U' };
    if (ex.query.includes(method)) return { canister: c, exp: `canister_query ${method}`, kind: 'RQ' };
    if (ex.compositeQuery.includes(method)) return { err: compositeInReplicated(callee) };
    return { err: methodNotFound(callee, 'update', method) };
  }
  if (ex.query.includes(method)) return { canister: c, exp: `canister_query ${method}`, kind: 'NRQ' };
  if (ex.compositeQuery.includes(method)) return { canister: c, exp: `canister_composite_query ${method}`, kind: 'CQ' };
  return { err: methodNotFound(callee, 'query', method) };
};

const errorResponse = (s: ExecState, origin: Origin, cycles: bigint, e: UserError): ExecState => respondTo(s, origin, rejectWith(e), cycles, e);

/** Execute a call message to a Wasm canister ([EXE-EXEC-CALL.1]). */
export const executeCall = (s: ExecState, m: Extract<Message, { kind: 'call' }>): [ExecState, StepReport] => {
  const a = admitCall(s, m.callee.text, m.method, true);
  if ('err' in a) return [errorResponse(s, m.origin, m.cycles, a.err), { ...NO_REPORT, trapped: a.err }];
  if ('native' in a) return executeNative(s, a.native, m);
  const isQuery = a.kind === 'RQ';
  // [CYC-PREPAY.1] the execution is prepaid above the freezing limit, or the call is rejected with all its cycles
  const reveal = isController(a.canister, m.caller);
  const pre = prepayDeferred(s, a.canister, isQuery ? s.config.limits.query : s.config.limits.update, reveal);
  if ('error' in pre) return [errorResponse(s, m.origin, m.cycles, pre.error), { ...NO_REPORT, trapped: pre.error }];
  const c = pre.canister;
  const [s1, ctx] = newContext(s, c.id.text, m.origin, m.caller, m.cycles, m.deadline);
  const r = run(s1, c, c.wasm!, {
    kind: a.kind,
    entry: { export: a.exp },
    caller: m.caller,
    arg: m.arg,
    cyclesAvailable: m.cycles,
    deadline: m.deadline,
    limit: isQuery ? s.config.limits.query : s.config.limits.update,
    sliceLimit: isQuery ? s.config.limits.query : s.config.limits.updateSlice,
    reveal,
  }, !isQuery);
  return schedule(s1, { kind: 'finish', canister: c.id.text, ctx: ctx.id, result: r, bumpVersion: !isQuery, prepaid: pre.prepaid }, r);
};

// ---------------------------------------------------------------------------------------
// Deterministic time slicing ([EXE-DTS.1])

/** What remains to be done when an execution's last slice ends. */
export type Completion =
  | { readonly kind: 'finish'; readonly canister: string; readonly ctx: number; readonly result: ExecResult; readonly bumpVersion: boolean; readonly prepaid: Prepaid }
  | { readonly kind: 'callback'; readonly canister: string; readonly ctx: number; readonly result: ExecResult; readonly cleanup: Callback['cleanup']; readonly prepaid: Prepaid };

/** An execution paused between slices: the canister runs nothing else until it completes. */
export interface Paused {
  readonly canister: string;
  /** slices still to run */
  readonly slicesLeft: number;
  readonly slices: number;
  readonly completion: Completion;
}

/**
 * An execution that took one slice completes now; a longer one pauses after its first slice and
 * completes when its last slice has run ([EXE-DTS.1]). (The execution is computed whole at its
 * first slice: it depends on nothing that can change while it is paused.)
 */
const schedule = (s: ExecState, k: Completion, r: ExecResult): [ExecState, StepReport] => {
  if (r.slices <= 1) return complete(s, k);
  // [CYC-PREPAY.1] a paused execution's prepayment is in the state while it is paused
  const [s1, prepaid] = commitPrepaid(s, k.canister, k.prepaid);
  const p: Paused = { canister: k.canister, slicesLeft: r.slices - 1, slices: r.slices, completion: { ...k, prepaid } };
  return [{ ...s1, paused: s1.paused.set(k.canister, p) }, { instructions: 0n, slices: 1, debugPrints: [], paused: true }];
};

/** Run the next slice of a paused execution; the last one completes it. */
export const resumeSlice = (s: ExecState, canister: string): [ExecState, StepReport] | undefined => {
  const p = s.paused.get(canister);
  if (p === undefined) return undefined;
  if (p.slicesLeft > 1) return [{ ...s, paused: s.paused.set(canister, { ...p, slicesLeft: p.slicesLeft - 1 }) }, { instructions: 0n, slices: 1, debugPrints: [], paused: true }];
  return complete({ ...s, paused: s.paused.delete(canister) }, p.completion);
};

const complete = (s: ExecState, k: Completion): [ExecState, StepReport] => {
  const c = getCanister(s, k.canister)!;
  // [CYC-PREPAY.1] the instructions not used are refunded, after a trap too: a deferred
  // prepayment is charged less its refund, with the execution's effects or alone after a trap
  const net = netCharge(s, k.prepaid, k.result.instructions);
  if (k.kind === 'finish' && k.result.outcome.kind === 'ok' && k.prepaid.deferred === true) return finish(s, c, k.ctx, k.result, k.bumpVersion, net);
  const [s1, report] = k.kind === 'finish' || k.result.outcome.kind === 'ok' || k.cleanup === undefined ? finish(s, c, k.ctx, k.result, k.kind === 'finish' ? k.bumpVersion : true) : cleanup(s, c, k.ctx, k.result, k.cleanup);
  const c1 = getCanister(s1, k.canister);
  const s2 = net > 0n && c1 !== undefined ? consume(s1, c1, net, 'Instructions')[0] : s1;
  return [refundUnused(s2, k.canister, k.prepaid, report.instructions), report];
};

/**
 * Apply an execution's result in its context and settle the context. A trap changes nothing
 * but the context's record of it ([EXE-TRAP-ROLLBACK.1]); a query run as an update keeps no
 * state change ([EXE-QUERY.1]).
 */
const finish = (s: ExecState, c: Canister, ctxId: number, r: ExecResult, bumpVersion: boolean, instructionCharge = 0n): [ExecState, StepReport] => {
  const ctx = s.contexts.get(ctxId)!;
  const report: StepReport = { instructions: r.instructions, slices: r.slices, debugPrints: r.debugPrints, ...(r.reqs ? { reqs: r.reqs } : {}) };
  if (r.outcome.kind === 'trap') {
    const e = trapError(c.id.text, r.outcome.trap);
    const s1 = putContext(logExecution(s, c.id.text, r.debugPrints, r.outcome.trap), { ...ctx, lastTrap: e, instructions: ctx.instructions + r.instructions });
    return [settleContext(s1, ctxId, () => didNotReply(c.id.text)), { ...report, trapped: e }];
  }
  // (a query run as an update was executed with persist = false: its state is the input's)
  const s1 = logExecution(applyOk(s, c, ctx, r.outcome, r.instructions, bumpVersion, instructionCharge), c.id.text, r.debugPrints);
  return [settleContext(forgetTrap(s1, ctxId), ctxId, () => didNotReply(c.id.text)), report];
};

/**
 * [EXE-STARVED.1] an execution that did not trap: the context answers a starvation as not
 * replied, whatever an earlier execution in it did (the replica decides by the result of the
 * execution that left the context without outstanding calls).
 */
const forgetTrap = (s: ExecState, ctxId: number): ExecState => {
  const ctx = s.contexts.get(ctxId);
  if (ctx?.lastTrap === undefined) return s;
  const { lastTrap: _, ...rest } = ctx;
  return putContext(s, rest);
};

/** Execute a response: the reply or reject callback, then cleanup if it trapped ([EXE-EXEC-RESPONSE.1]). */
export const executeResponse = (s: ExecState, m: Extract<Message, { kind: 'response' }>): [ExecState, StepReport] => {
  const cb = s.callbacks.get(m.callback);
  // a response nobody waits for any more: the cycles it carries are dropped with it
  if (cb === undefined) return [consumeSubnet(s, m.refund, 'DroppedMessages'), NO_REPORT];
  const s0 = dropCallback(s, m.callback);
  const c0 = getCanister(s0, cb.canister);
  if (c0 === undefined) return [consumeSubnet(s0, m.refund, 'DroppedMessages'), NO_REPORT];
  // [CYC-REFUND.1] the cycles the callee did not accept return to the balance when the response
  // is executed, with what the response's size leaves of the reserved transmission ([CYC-RESPONSE-RESERVE.1])
  const credited: Canister = { ...c0, cycles: A.add(c0.cycles, m.refund) };
  const [s0b, c] = refund(putCanister(s0, credited), credited, A.responseTransmissionRefund(s.config.fees, responseBytes(m.response), cb.prepaidTransmission), 'RequestAndResponseTransmission');
  const prepaid: Prepaid = { amount: cb.prepaidExecution, limit: s.config.limits.update, wasm64: isWasm64(c.wasm) };
  const ctx0 = s0b.contexts.get(cb.ctx);
  // a callback that cannot run (its context is gone) keeps only the base fee of its prepaid execution
  if (ctx0 === undefined) return [refundUnused(s0b, c.id.text, prepaid, 0n), NO_REPORT];
  const ctx = { ...ctx0, outstanding: ctx0.outstanding - 1 };
  let st = putContext(s0b, ctx);
  // a callback that cannot run keeps only the base fee of its prepaid execution
  if (c.wasm === undefined) return [refundUnused(settleContext(forgetTrap(st, ctx.id), ctx.id, () => didNotReply(c.id.text)), c.id.text, prepaid, 0n), NO_REPORT];
  const isReply = m.response.kind === 'reply';
  const fn = isReply ? cb.reply : cb.reject;
  const r = run(st, c, c.wasm, {
    kind: isReply ? 'Ry' : 'Rt',
    entry: { callback: fn },
    caller: ctx.caller,
    arg: m.response.kind === 'reply' ? m.response.data : new Uint8Array(),
    cyclesAvailable: ctx.availableCycles,
    cyclesRefunded: m.refund,
    rejectCode: m.response.kind === 'reject' ? m.response.code : 0,
    rejectMessage: m.response.kind === 'reject' ? m.response.message : '',
    limit: s.config.limits.update,
    sliceLimit: s.config.limits.updateSlice,
    callContextInstructions: ctx.instructions,
    alreadyReplied: !ctx.needsToRespond,
    deadline: ctx.deadline,
  });
  return schedule(st, { kind: 'callback', canister: c.id.text, ctx: ctx.id, result: r, cleanup: cb.cleanup, prepaid }, r);
};

/** [EXE-CLEANUP.1] the callback trapped: run the cleanup callback on the state before it. */
const cleanup = (s: ExecState, c: Canister, ctxId: number, r: ExecResult, fn: NonNullable<Callback['cleanup']>): [ExecState, StepReport] => {
  if (r.outcome.kind !== 'trap' || c.wasm === undefined) return finish(s, c, ctxId, r, true);
  let st = s;
  const ctx = s.contexts.get(ctxId)!;
  const e = trapError(c.id.text, r.outcome.trap);
  const cl = run(st, c, c.wasm, {
    kind: 'C',
    entry: { callback: fn },
    caller: ctx.caller,
    arg: new Uint8Array(),
    limit: s.config.limits.update,
    sliceLimit: s.config.limits.updateSlice,
  });
  if (cl.outcome.kind === 'ok') {
    const ok = cl.outcome;
    const c2: Canister = { ...c, wasm: ok.state, ...(ok.globalTimer !== undefined ? { globalTimer: ok.globalTimer } : {}), cycles: c.cycles - ok.cyclesReserved, reserved: c.reserved + ok.cyclesReserved };
    st = chargeEffects(putCanister(st, c2), c2, ok);
  }
  st = logExecution(st, c.id.text, r.debugPrints, r.outcome.trap);
  st = logExecution(st, c.id.text, cl.debugPrints, cl.outcome.kind === 'trap' ? cl.outcome.trap : undefined);
  st = putContext(st, { ...ctx, lastTrap: e, instructions: ctx.instructions + r.instructions + cl.instructions });
  return [settleContext(st, ctx.id, () => didNotReply(c.id.text)), { instructions: r.instructions + cl.instructions, slices: r.slices, debugPrints: [...r.debugPrints, ...cl.debugPrints], trapped: e, reqs: [...(r.reqs ?? []), ...(cl.reqs ?? [])] }];
};


/** Run the global timer of a canister whose timer has passed ([EXE-TIMER.1]). */
export const executeSystemTask = (s: ExecState, canister: string, task: 'global_timer' | 'heartbeat'): [ExecState, StepReport] => {
  const c0 = getCanister(s, canister)!;
  // the timer is deactivated when the task is scheduled, whatever the task does
  const c1 = task === 'global_timer' ? { ...c0, globalTimer: 0n } : c0;
  // [CYC-PREPAY.1] (systemTaskEnabled has checked that the canister can prepay)
  const pre = prepay(putCanister(s, c1), c1, s.config.limits.update, false);
  if ('error' in pre) return [s, { ...NO_REPORT, trapped: pre.error }];
  const c = pre.canister;
  const [s1, ctx] = newContext(pre.state, c.id.text, { kind: 'system' }, MANAGEMENT_CANISTER, 0n);
  const r = run(s1, c, c.wasm!, {
    kind: 'T',
    entry: { export: `canister_${task}` },
    caller: MANAGEMENT_CANISTER,
    arg: new Uint8Array(),
    limit: s.config.limits.update,
    sliceLimit: s.config.limits.updateSlice,
  });
  return schedule(s1, { kind: 'finish', canister: c.id.text, ctx: ctx.id, result: r, bumpVersion: true, prepaid: pre.prepaid }, r);
};

/** Whether a system task can run now ([EXE-TIMER.1], [EXE-HEARTBEAT.1]). */
export const systemTaskEnabled = (s: ExecState, canister: string, task: 'global_timer' | 'heartbeat'): string | undefined => {
  const c = getCanister(s, canister);
  if (c === undefined) return 'no such canister';
  if (s.paused.has(canister)) return 'the canister has a paused execution';
  if (c.status !== 'running') return 'the canister is not running';
  if (c.wasm === undefined) return 'the canister is empty';
  if (task === 'global_timer') {
    if (!c.wasm.module.info.systemExports.includes('canister_global_timer')) return 'the canister exports no canister_global_timer';
    if (c.globalTimer === 0n || c.globalTimer > s.time) return 'the global timer has not passed';
  } else if (!c.wasm.module.info.systemExports.includes('canister_heartbeat')) return 'the canister exports no canister_heartbeat';
  // [CYC-PREPAY.1] a frozen canister runs no timer or heartbeat
  if (!A.canWithdraw(c.cycles, freezingLimit(s, c), A.executionCost(s.config.fees, s.config.limits.update, isWasm64(c.wasm)))) return 'the canister cannot prepay the execution (it is frozen)';
  return undefined;
};

export type QueryAnswer =
  | { readonly reply: Uint8Array; readonly report: StepReport }
  | { readonly error: UserError; readonly report: StepReport }
  | { readonly reject: { code: number; message: string }; readonly report: StepReport };

/** A non-replicated query: runs on the state and keeps nothing ([EXE-QUERY.1]). */
export const runQuery = (s: ExecState, sender: Principal, canister: string, method: string, arg: Uint8Array): QueryAnswer => {
  const g: Graph = { instructions: 0n, calls: 0, prints: [] };
  const r = queryCall(s, g, sender, canister, method, arg, [canister]);
  const report: StepReport = { instructions: g.instructions, slices: 1, debugPrints: g.prints };
  if ('error' in r) return { error: r.error, report };
  if (r.response.kind === 'reply') return { reply: r.response.data, report };
  return { reject: { code: r.response.code, message: r.response.message }, report };
};

/** A composite query's call graph so far ([EXE-COMPOSITE-QUERY.1]). */
interface Graph {
  instructions: bigint;
  calls: number;
  readonly prints: string[];
}

/** The replica's bounds on a composite query's call graph. */
export const MAX_QUERY_CALL_DEPTH = 6;
export const QUERY_CALL_OVERHEAD = 50_000_000n;

type Answer = { readonly response: import('./runtime.js').Response } | { readonly error: UserError };

/**
 * One query call in a (composite) query evaluation: the method runs on the canister's current
 * state; the calls it makes run depth-first, one at a time, each a query evaluation of its
 * own, and their callbacks run on the state the caller's previous execution left. Nothing of it
 * is kept.
 */
const queryCall = (s: ExecState, g: Graph, sender: Principal, canister: string, method: string, arg: Uint8Array, stack: readonly string[]): Answer => {
  if (canister === MANAGEMENT_CANISTER.text) return managementQuery(s, sender, method, arg);
  const a = admitCall(s, canister, method, false);
  if ('err' in a) return { error: a.err };
  if ('native' in a) {
    const r = callLedger(canister, a.native.native!.ledger, sender, method, arg, s.time, false);
    return r.kind === 'reply' ? { response: { kind: 'reply', data: r.data } } : { error: r.error };
  }
  const c = a.canister;
  const composite = a.kind === 'CQ';
  const left = (): bigint => s.config.limits.query - g.instructions;
  const tooMany = (): Answer => ({ error: userError('QueryCallGraphTotalInstructionLimitExceeded', fromCanister(c.id.text, `Query call graph contains too many instructions (limit ${s.config.limits.query})`)) });
  const exec = (wasm: WasmState, kind: EntryKind, entry: import('./runtime.js').ExecInput['entry'], extra: Partial<Parameters<typeof run>[3]>): ExecResult => {
    const lim = composite ? left() : s.config.limits.query;
    const r = run(s, { ...c, wasm }, wasm, { kind, entry, caller: sender, arg: new Uint8Array(), limit: lim, sliceLimit: lim, ...extra }, composite);
    g.instructions += r.instructions;
    g.prints.push(...r.debugPrints);
    return r;
  };
  let wasm = c.wasm!;
  let r = exec(wasm, a.kind, { export: a.exp }, { arg });
  let response: import('./runtime.js').Response | undefined;
  for (;;) {
    if (r.outcome.kind === 'trap') return { error: trapError(c.id.text, r.outcome.trap) };
    const out = r.outcome;
    if (composite) wasm = out.state;
    if (response === undefined && out.response !== undefined) response = out.response;
    const call = out.calls[0];
    if (call === undefined) break;
    if (!composite) break; // a plain query cannot call (the System API traps)
    if (left() <= 0n) return tooMany();
    // [EXE-COMPOSITE-QUERY.1] depth-first, one call at a time; loops and depth are bounded
    let answer: Answer;
    if (stack.length >= MAX_QUERY_CALL_DEPTH)
      answer = { error: userError('QueryCallGraphTooDeep', fromCanister(c.id.text, `Composite query call graph reached the maximum depth of ${MAX_QUERY_CALL_DEPTH}`)) };
    else if (stack.includes(call.callee.text) && call.callee.text !== canister)
      answer = { error: userError('QueryCallGraphLoopDetected', fromCanister(c.id.text, 'Loop detected.  MVP version of composite queries does not support loops in the call graph')) };
    else {
      g.calls += 1;
      g.instructions += QUERY_CALL_OVERHEAD;
      if (g.instructions >= s.config.limits.query) return tooMany();
      answer = queryCall(s, g, c.id, call.callee.text, call.method, call.arg, [...stack, call.callee.text]);
    }
    const resp = 'response' in answer ? answer.response : { kind: 'reject' as const, code: rejectCodeOf(answer.error.code), message: `${errorCodeText(answer.error.code)}: ${answer.error.message}` };
    // the callback runs as if the remaining calls were made after it
    if (left() <= 0n) return tooMany();
    const rest = out.calls.slice(1);
    const isReply = resp.kind === 'reply';
    r = exec(wasm, isReply ? 'CRy' : 'CRt', { callback: isReply ? call.reply : call.reject }, {
      arg: resp.kind === 'reply' ? resp.data : new Uint8Array(),
      rejectCode: resp.kind === 'reject' ? resp.code : 0,
      rejectMessage: resp.kind === 'reject' ? resp.message : '',
      ...(response !== undefined ? { alreadyReplied: true } : {}),
    });
    if (r.outcome.kind === 'ok' && rest.length > 0) r = { ...r, outcome: { ...r.outcome, calls: [...rest, ...r.outcome.calls] } };
  }
  if (response === undefined) return { error: didNotReply(c.id.text) };
  return { response };
};

/** [EXE-INSPECT.1] `canister_inspect_message`: whether an ingress message would be accepted. */
export const inspect = (s: ExecState, sender: Principal, canister: string, method: string, arg: Uint8Array): { readonly accepted: true; readonly report: StepReport } | { readonly error: UserError; readonly report: StepReport } => {
  const c = getCanister(s, canister);
  if (c === undefined || c.wasm === undefined || !c.wasm.module.info.systemExports.includes('canister_inspect_message')) return { accepted: true, report: NO_REPORT };
  const r = run(s, c, c.wasm, { kind: 'F', entry: { export: 'canister_inspect_message' }, caller: sender, arg, methodName: method, limit: s.config.limits.inspect, sliceLimit: s.config.limits.inspect }, false);
  const report: StepReport = { instructions: r.instructions, slices: r.slices, debugPrints: r.debugPrints };
  if (r.outcome.kind === 'trap') return { error: trapError(c.id.text, r.outcome.trap), report };
  if (!r.outcome.accepted) return { error: userError('CanisterRejectedMessage', fromCanister(c.id.text, 'Canister rejected the message')), report };
  return { accepted: true, report };
};

/**
 * Query calls to the management canister: `fetch_canister_logs` ([EXE-LOG.1]), for the
 * controllers, or for anyone when the log is public.
 */
const managementQuery = (s: ExecState, sender: Principal, method: string, arg: Uint8Array): Answer => {
  if (method === 'canister_status') {
    // `canister_status` is also a query of the management canister ([EXE-MGMT-CONTROLLER.1])
    const d = decodeArg('canister_status', arg);
    if ('err' in d) return { error: userError('InvalidManagementPayload', `Error decoding candid: ${d.err}`) };
    const id = fromDfinity((d.ok as { canister_id: Parameters<typeof fromDfinity>[0] }).canister_id);
    const c = getCanister(s, id.text);
    if (c === undefined) return { error: canisterNotFound(id.text) };
    if (!c.controllers.some((p) => p.text === sender.text)) return { error: notController(c, sender) };
    return { response: { kind: 'reply', data: encodeRet('canister_status', [statusRecord(s, c)]) } };
  }
  if (method !== 'fetch_canister_logs') return { error: userError('CanisterMethodNotFound', `Management canister has no query method '${method}'`) };
  const d = decodeArg('fetch_canister_logs', arg);
  if ('err' in d) return { error: userError('InvalidManagementPayload', `Error decoding candid: ${d.err}`) };
  const id = fromDfinity((d.ok as { canister_id: Parameters<typeof fromDfinity>[0] }).canister_id);
  const c = getCanister(s, id.text);
  if (c === undefined) return { error: canisterNotFound(id.text) };
  if (c.settings.logVisibility !== 'public' && !c.controllers.some((p) => p.text === sender.text))
    return { error: userError('CanisterRejectedMessage', `Caller ${sender.text} is not allowed to query ic00 method fetch_canister_logs`) };
  const records = c.log.records.map((r) => ({ idx: r.idx, timestamp_nanos: r.time, content: r.content }));
  return { response: { kind: 'reply', data: encodeRet('fetch_canister_logs', [{ canister_log_records: records }]) } };
};
