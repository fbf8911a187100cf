/**
 * Executing messages on Wasm canisters: a call starts a call context and runs a method entry
 * point; a response runs a callback (and, if it traps, the cleanup callback); a system task
 * runs the global timer or the heartbeat. What may run is decided here; how the Wasm runs is
 * `runtime.ts`.
 */
import type { Principal } from '../core/principal.js';
import { MANAGEMENT_CANISTER } from '../core/principal.js';
import { canisterEmpty, canisterNotFound, canisterStopped, canisterStopping, compositeInReplicated, didNotReply, methodNotFound, trapError, type UserError } from './errors.js';
import { applyOk, getCanister, newContext, putCanister, putContext, rejectWith, respondTo, run, settleContext } from './ops.js';
import type { ExecResult } from './runtime.js';
import { callLedger } from './ledger-canister.js';
import type { Canister, ExecState, Message, Origin } from './state.js';

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
  const c = a.canister;
  const [s1, ctx] = newContext(s, c.id.text, m.origin, m.cycles);
  const isQuery = a.kind === 'RQ';
  const r = run(s1, c, c.wasm!, {
    kind: a.kind,
    entry: { export: a.exp },
    caller: m.caller,
    arg: m.arg,
    cyclesAvailable: m.cycles,
    limit: isQuery ? s.config.limits.query : s.config.limits.update,
    sliceLimit: isQuery ? s.config.limits.query : s.config.limits.updateSlice,
  }, !isQuery);
  return finish(s1, c, ctx.id, r, !isQuery, isQuery);
};

/**
 * Apply an execution's result in its context and settle the context. A trap changes nothing
 * but the context's record of it ([EXE-TRAP-ROLLBACK.1]); a query run as an update keeps no
 * state change ([EXE-QUERY.1]).
 */
const finish = (s: ExecState, c: Canister, ctxId: number, r: ExecResult, bumpVersion: boolean, discardState: boolean): [ExecState, StepReport] => {
  const ctx = s.contexts.get(ctxId)!;
  const report: StepReport = { instructions: r.instructions, slices: r.slices, debugPrints: r.debugPrints };
  if (r.outcome.kind === 'trap') {
    const e = trapError(c.id.text, r.outcome.trap);
    const s1 = putContext(s, { ...ctx, lastTrap: e, instructions: ctx.instructions + r.instructions });
    return [settleContext(s1, ctxId, () => didNotReply(c.id.text)), { ...report, trapped: e }];
  }
  void discardState; // a query run as an update was executed with persist = false: its state is the input's
  const s1 = applyOk(s, c, ctx, r.outcome, r.instructions, bumpVersion);
  return [settleContext(s1, ctxId, () => didNotReply(c.id.text)), report];
};

/** Execute a response: the reply or reject callback, then cleanup if it trapped ([EXE-EXEC-RESPONSE.1]). */
export const executeResponse = (s: ExecState, m: Extract<Message, { kind: 'response' }>): [ExecState, StepReport] => {
  const cb = s.callbacks.get(m.callback);
  if (cb === undefined) return [s, NO_REPORT];
  const s0: ExecState = { ...s, callbacks: s.callbacks.delete(m.callback) };
  const ctx0 = s0.contexts.get(cb.ctx);
  const c0 = getCanister(s0, cb.canister);
  if (ctx0 === undefined || c0 === undefined) return [s0, NO_REPORT];
  // the refund returns to the balance when the response is executed
  const c = { ...c0, cycles: c0.cycles + m.refund };
  const ctx = { ...ctx0, outstanding: ctx0.outstanding - 1 };
  let st = putContext(putCanister(s0, c), ctx);
  if (c.wasm === undefined) return [settleContext(st, ctx.id, () => didNotReply(c.id.text)), NO_REPORT];
  const isReply = m.response.kind === 'reply';
  const fn = isReply ? cb.reply : cb.reject;
  const r = run(st, c, c.wasm, {
    kind: isReply ? 'Ry' : 'Rt',
    entry: { callback: fn },
    caller: principalOf(s, cb.callee),
    arg: m.response.kind === 'reply' ? m.response.data : new Uint8Array(),
    cyclesAvailable: ctx.availableCycles,
    cyclesRefunded: m.refund,
    rejectCode: m.response.kind === 'reject' ? m.response.code : 0,
    rejectMessage: m.response.kind === 'reject' ? m.response.message : '',
    limit: s.config.limits.update,
    sliceLimit: s.config.limits.updateSlice,
    callContextInstructions: ctx.instructions,
    alreadyReplied: !ctx.needsToRespond,
  });
  if (r.outcome.kind === 'ok' || cb.cleanup === undefined) return finish(st, c, ctx.id, r, true, false);
  // [EXE-CLEANUP.1] the callback trapped: run the cleanup callback on the state before it
  const e = trapError(c.id.text, r.outcome.trap);
  const cl = run(st, c, c.wasm, {
    kind: 'C',
    entry: { callback: cb.cleanup },
    caller: principalOf(s, cb.callee),
    arg: new Uint8Array(),
    limit: s.config.limits.update,
    sliceLimit: s.config.limits.updateSlice,
  });
  if (cl.outcome.kind === 'ok') {
    const ok = cl.outcome;
    st = putCanister(st, { ...c, wasm: ok.state, ...(ok.globalTimer !== undefined ? { globalTimer: ok.globalTimer } : {}), cycles: c.cycles - ok.cyclesBurned });
  }
  st = putContext(st, { ...ctx, lastTrap: e, instructions: ctx.instructions + r.instructions + cl.instructions });
  return [settleContext(st, ctx.id, () => didNotReply(c.id.text)), { instructions: r.instructions + cl.instructions, slices: r.slices, debugPrints: [...r.debugPrints, ...cl.debugPrints], trapped: e }];
};

const principalOf = (s: ExecState, id: string): Principal => getCanister(s, id)?.id ?? (id === MANAGEMENT_CANISTER.text ? MANAGEMENT_CANISTER : MANAGEMENT_CANISTER);

/** Run the global timer of a canister whose timer has passed ([EXE-TIMER.1]). */
export const executeSystemTask = (s: ExecState, canister: string, task: 'global_timer' | 'heartbeat'): [ExecState, StepReport] => {
  const c0 = getCanister(s, canister)!;
  // the timer is deactivated when the task is scheduled, whatever the task does
  const c = task === 'global_timer' ? { ...c0, globalTimer: 0n } : c0;
  const s0 = putCanister(s, c);
  const [s1, ctx] = newContext(s0, c.id.text, { kind: 'system' }, 0n);
  const r = run(s1, c, c.wasm!, {
    kind: 'T',
    entry: { export: `canister_${task}` },
    caller: MANAGEMENT_CANISTER,
    arg: new Uint8Array(),
    limit: s.config.limits.update,
    sliceLimit: s.config.limits.updateSlice,
  });
  return finish(s1, c, ctx.id, r, true, false);
};

/** Whether a system task can run now ([EXE-TIMER.1], [EXE-HEARTBEAT.1]). */
export const systemTaskEnabled = (s: ExecState, canister: string, task: 'global_timer' | 'heartbeat'): string | undefined => {
  const c = getCanister(s, canister);
  if (c === undefined) return 'no such canister';
  if (c.status !== 'running') return 'the canister is not running';
  if (c.wasm === undefined) return 'the canister is empty';
  if (task === 'global_timer') {
    if (!c.wasm.module.info.systemExports.includes('canister_global_timer')) return 'the canister exports no canister_global_timer';
    if (c.globalTimer === 0n || c.globalTimer > s.time) return 'the global timer has not passed';
  } else if (!c.wasm.module.info.systemExports.includes('canister_heartbeat')) return 'the canister exports no canister_heartbeat';
  return undefined;
};

/** A non-replicated query: runs on the state and keeps nothing ([EXE-QUERY.1]). */
export const runQuery = (
  s: ExecState,
  sender: Principal,
  canister: string,
  method: string,
  arg: Uint8Array,
): { readonly reply: Uint8Array; readonly report: StepReport } | { readonly error: UserError; readonly report: StepReport } | { readonly reject: { code: number; message: string }; readonly report: StepReport } => {
  const a = admitCall(s, canister, method, false);
  if ('err' in a) return { error: a.err, report: NO_REPORT };
  if ('native' in a) {
    const r = callLedger(canister, a.native.native!.ledger, sender, method, arg, s.time, false);
    return r.kind === 'reply' ? { reply: r.data, report: NO_REPORT } : { error: r.error, report: NO_REPORT };
  }
  const c = a.canister;
  const r = run(s, c, c.wasm!, {
    kind: a.kind,
    entry: { export: a.exp },
    caller: sender,
    arg,
    limit: s.config.limits.query,
    sliceLimit: s.config.limits.query,
  }, false);
  const report: StepReport = { instructions: r.instructions, slices: r.slices, debugPrints: r.debugPrints };
  if (r.outcome.kind === 'trap') return { error: trapError(c.id.text, r.outcome.trap), report };
  const resp = r.outcome.response;
  if (resp === undefined) return { error: didNotReply(c.id.text), report };
  if (resp.kind === 'reply') return { reply: resp.data, report };
  return { reject: { code: resp.code, message: resp.message }, report };
};
