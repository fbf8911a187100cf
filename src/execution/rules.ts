/**
 * The execution machine's rules. Each is pure, `(state, args) → Either`,
 * and every choice is an argument: which message executes, when time advances, which
 * canister's timer or heartbeat runs. The interface spec's abstract behaviour allows any
 * order that keeps each (caller, callee) queue in order; so do these rules.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8, utf8Length } from '../core/bytes.js';
import { notEnabled, ok, reject, type Result } from '../core/machine.js';
import { MANAGEMENT_CANISTER, type Principal } from '../core/principal.js';
import { errorCodeText, type UserError } from './errors.js';
import { executeCall, executeResponse, executeSystemTask, inspect, resumeSlice, runQuery, systemTaskEnabled, type StepReport } from './canister.js';
import { canisterIdArg, codeChangeTarget, executeManagement, MAX_DELAYED_INGRESS_COST_PAYLOAD_SIZE, uninstallOutOfCycles } from './management.js';
import { parsePrincipal } from '../core/principal.js';
import { dequeue, enqueue, isHead, putCallback } from './ops.js';
import type { ExecState } from './state.js';
import * as A from '../cycles/account.js';
import { consume, consumed, freezingLimit, holdings, isController } from './cycles.js';
import { putCanister } from './ops.js';
import type { Canister } from './state.js';

export interface SubmitIngressArgs {
  readonly sender: Principal;
  readonly canister: Principal;
  readonly method: string;
  readonly arg: Uint8Array;
  /** the request id; derived from the content and a nonce when absent */
  readonly messageId?: string;
  readonly nonce?: Uint8Array;
  /** the request's `ingress_expiry` (ns); none: the message does not expire */
  readonly expiry?: bigint;
  /** the effective canister id of the request, when it came through the HTTP interface */
  readonly effectiveCanisterId?: Principal;
  /** the size of the signed request (its CBOR envelope), which the induction fee is charged for ([CYC-INGRESS.1]) */
  readonly size?: bigint;
}

/** The replica's bounds on ingress expiry: at most 5 minutes ahead, plus 60 s of client clock drift. */
export const MAX_INGRESS_TTL = 300_000_000_000n;
export const PERMITTED_DRIFT = 60_000_000_000n;

/** Why an ingress message is refused at the boundary. */
export type SubmitError =
  | { readonly code: 'InvalidIngressExpiry'; readonly message: string }
  | { readonly code: 'InvalidEffectiveCanisterId'; readonly message: string }
  | { readonly code: 'CanisterOutOfCycles'; readonly message: string };


/**
 * [CYC-INGRESS.1] the canister that pays an ingress message's induction: its destination, or
 * for the management canister the canister it names; none for provisional creation and top-ups,
 * and for small `update_settings` calls (charged when they are executed).
 */
export const ingressPayer = (canister: Principal, method: string, arg: Uint8Array): string | undefined => {
  if (canister.text !== MANAGEMENT_CANISTER.text) return canister.text;
  if (method === 'update_settings' && arg.length <= MAX_DELAYED_INGRESS_COST_PAYLOAD_SIZE) return undefined;
  // provisional top-ups must reach a canister with nothing left (PocketIC and drun rely on it)
  if (method === 'provisional_top_up_canister') return undefined;
  return canisterIdArg(method, arg);
};

/** The bytes an ingress message is charged for: its envelope, or without one its method name, argument and nonce. */
export const ingressBytes = (a: Pick<SubmitIngressArgs, 'method' | 'arg' | 'nonce' | 'size'>): bigint => a.size ?? BigInt(utf8Length(a.method) + a.arg.length + (a.nonce?.length ?? 0));

/** The canister a call names as its effective destination (the interface spec's rules). */
const effectiveTarget = (a: SubmitIngressArgs): Principal | 'any' | undefined => {
  if (a.canister.text !== MANAGEMENT_CANISTER.text) return a.canister;
  if (a.method === 'provisional_create_canister_with_cycles') return 'any';
  const t = codeChangeTarget(a.method, a.arg) ?? canisterIdArg(a.method, a.arg);
  return t === undefined ? undefined : (parsePrincipal(t) as Principal);
};

const contentId = (a: SubmitIngressArgs, nonce: Uint8Array): string =>
  toHex(sha256(new Uint8Array([...a.sender.bytes, 0, ...a.canister.bytes, 0, ...utf8(a.method), 0, ...a.arg, 0, ...nonce])));

/** [EXE-INGRESS-SUBMIT.1] an ingress message is recorded as received and queued on its own. */
export const submitIngress: (s: ExecState, a: SubmitIngressArgs) => Result<ExecState, { readonly messageId: string }, SubmitError> = (s, a) => {
  // [EXE-INGRESS-EXPIRY.1] the expiry must lie between now and now + 5 min (+ drift)
  if (a.expiry !== undefined && (a.expiry < s.time || a.expiry > s.time + MAX_INGRESS_TTL + PERMITTED_DRIFT))
    return reject('EXE-INGRESS-EXPIRY.1', {
      code: 'InvalidIngressExpiry',
      message: `Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: ${s.time}, Maximum allowed expiry: ${s.time + MAX_INGRESS_TTL + PERMITTED_DRIFT}, Provided expiry: ${a.expiry}`,
    });
  // [EXE-INGRESS-SUBMIT.1] the effective canister id must be the call's destination
  if (a.effectiveCanisterId !== undefined) {
    const t = effectiveTarget(a);
    if (t === undefined || (t !== 'any' && t.text !== a.effectiveCanisterId.text))
      return reject('EXE-INGRESS-SUBMIT.1', {
        code: 'InvalidEffectiveCanisterId',
        message: t === undefined ? `Call to ${a.method} of the management canister is rejected: it names no canister` : `Specified CanisterId ${t.text} does not match effective canister id in URL ${a.effectiveCanisterId.text}`,
      });
  }
  // without an explicit id: a digest of the content and nonce, or (no nonce) the subnet's next
  // message number, which no other message of this state has
  const messageId = a.messageId ?? (a.nonce !== undefined ? contentId(a, a.nonce) : `m${s.nextId.toString(16).padStart(8, '0')}`);
  if (s.ingress.has(messageId)) return notEnabled('EXE-INGRESS-SUBMIT.1', `message ${messageId} was already submitted`);
  // [CYC-INGRESS.1] the receiving canister pays the induction fee, above its freezing limit
  let paid: Partial<Pick<ExecState, 'canisters' | 'books'>> = {};
  const payer = ingressPayer(a.canister, a.method, a.arg);
  const pc = payer === undefined ? undefined : s.canisters.get(payer);
  if (pc !== undefined && pc.native === undefined && !A.chargesNothing(s.config.fees)) {
    const cost = A.ingressInductionCost(s.config.fees, ingressBytes(a));
    const thr = freezingLimit(s, pc);
    if (!A.canWithdraw(pc.cycles, thr, cost))
      return reject('CYC-INGRESS.1', { code: 'CanisterOutOfCycles', message: A.outOfCyclesText(pc.id.text, pc.cycles, cost, thr, isController(pc, a.sender)) });
    if (cost > 0n) paid = consumed(s, pc, cost, 'IngressInduction');
  }
  const s1: ExecState = { ...s, ...paid, ingress: s.ingress.set(messageId, { status: 'received', time: s.time, ...(a.expiry !== undefined ? { expiry: a.expiry } : {}) }) };
  const s2 = enqueue(s1, {
    kind: 'call',
    queue: `ingress:${messageId}`,
    origin: { kind: 'ingress', messageId },
    caller: a.sender,
    callee: a.canister,
    method: a.method,
    arg: a.arg,
    cycles: 0n,
    deadline: 0n,
  });
  return ok(s2, { messageId });
};

/** [EXE-EXECUTE.1] execute the message `message`, which must be at the head of its queue. */
export const executeMessage: (s: ExecState, a: { readonly message: number }) => Result<ExecState, StepReport, never> = (s, a) => {
  const m = s.messages.get(a.message);
  if (m === undefined) return notEnabled('EXE-EXECUTE.1', `no message ${a.message} is pending`);
  if (!isHead(s, a.message)) return notEnabled('EXE-ORDER.1', `message ${a.message} is not at the head of its queue ${m.queue}`);
  // [EXE-INGRESS-EXPIRY.1] an ingress message past its expiry never starts processing
  if (m.kind === 'call' && m.origin.kind === 'ingress') {
    const e = s.ingress.get(m.origin.messageId)?.expiry;
    if (e !== undefined && e < s.time) return notEnabled('EXE-INGRESS-EXPIRY.1', `ingress message ${m.origin.messageId} expired at ${e}`);
  }
  // [EXE-DTS.1] a canister with a paused execution runs nothing else (nor is its code changed) until it completes
  const target = m.kind === 'response' ? m.canister : m.callee.text === MANAGEMENT_CANISTER.text ? codeChangeTarget(m.method, m.arg) : m.callee.text;
  if (target !== undefined && s.paused.has(target)) return notEnabled('EXE-DTS.1', `canister ${target} has a paused execution`);
  const s0 = dequeue(s, a.message);
  const [s1, report] = m.kind === 'response' ? executeResponse(s0, m) : m.callee.text === MANAGEMENT_CANISTER.text ? executeManagement(s0, m) : executeCall(s0, m);
  // an ingress message whose execution did not answer it yet is now processing
  if (m.kind === 'call' && m.origin.kind === 'ingress' && s1.ingress.get(m.origin.messageId)?.status === 'received')
    return ok({ ...s1, ingress: s1.ingress.set(m.origin.messageId, { status: 'processing', time: s.time }) }, report);
  return ok(s1, report);
};

/** [EXE-DTS.1] run the next slice of the canister's paused execution; its last slice completes it. */
export const resumeExecution: (s: ExecState, a: { readonly canister: Principal }) => Result<ExecState, StepReport, never> = (s, a) => {
  const r = resumeSlice(s, a.canister.text);
  return r === undefined ? notEnabled('EXE-DTS.1', `canister ${a.canister.text} has no paused execution`) : ok(r[0], r[1]);
};

/**
 * [EXE-INGRESS-EXPIRY.1] after their expiry, ingress messages that never started are dropped
 * (with their history entry), and answered ones become `done` (their answer is forgotten).
 */
export const pruneIngress: (s: ExecState, a: Record<string, never>) => Result<ExecState, { readonly pruned: number }, never> = (s) => {
  let st = s;
  let pruned = 0;
  for (const [id, e] of s.ingress.entries()) {
    if (e.expiry === undefined || e.expiry >= s.time || e.status === 'done' || e.status === 'processing') continue;
    pruned++;
    if (e.status === 'received') {
      const q = st.queues.get(`ingress:${id}`);
      if (q !== undefined) for (const m of q) st = dequeue(st, m);
      st = { ...st, ingress: st.ingress.delete(id) };
    } else st = { ...st, ingress: st.ingress.set(id, { status: 'done', time: s.time, expiry: e.expiry }) };
  }
  return ok(st, { pruned });
};

/** The reject a best-effort call gets when its deadline passes ([EXE-BEST-EFFORT.1]). */
export const DEADLINE_EXPIRED = { code: 6, message: 'IC0601: Call deadline has expired.' } as const;

/**
 * [EXE-BEST-EFFORT.1] a best-effort call whose deadline has passed is answered SYS_UNKNOWN: a
 * request still queued is withdrawn (its cycles refunded), a queued response is dropped, and a
 * response produced later will be too.
 */
export const expireCallback: (s: ExecState, a: { readonly callback: number }) => Result<ExecState, null, never> = (s, a) => {
  const cb = s.callbacks.get(a.callback);
  if (cb === undefined) return notEnabled('EXE-BEST-EFFORT.1', `no call is waiting for callback ${a.callback}`);
  if (cb.deadline === 0n) return notEnabled('EXE-BEST-EFFORT.1', `callback ${a.callback} is of a guaranteed-response call`);
  if (cb.expired === true) return notEnabled('EXE-BEST-EFFORT.1', `callback ${a.callback} has expired already`);
  if (s.time < cb.deadline) return notEnabled('EXE-BEST-EFFORT.1', `the deadline ${cb.deadline} of callback ${a.callback} has not passed (time ${s.time})`);
  let st = s;
  let refund = 0n;
  const req = s.messages.get(cb.message);
  if (req !== undefined && req.kind === 'call') {
    refund = req.cycles;
    st = dequeue(st, cb.message);
  }
  // a queued response is dropped, but the cycles it refunds go back with the reject ([CYC-REFUND.1])
  for (const [id, m] of st.messages.entries())
    if (m.kind === 'response' && m.callback === a.callback) {
      refund += m.refund;
      st = dequeue(st, id);
    }
  st = enqueue(st, { kind: 'response', queue: `response:${st.nextId}`, canister: cb.canister, callback: cb.id, response: { kind: 'reject', ...DEADLINE_EXPIRED }, refund });
  return ok(putCallback(st, { ...cb, expired: true }), null);
};

/** The callbacks whose best-effort deadline has passed, by id. */
export const expiredCallbacks = (s: ExecState): number[] =>
  s.callbacks
    .entries()
    .filter(([, cb]) => cb.deadline !== 0n && cb.expired !== true && cb.deadline <= s.time)
    .map(([id]) => id)
    .sort((x, y) => x - y);

/** [EXE-TIME.1] time advances, never backwards. */
export const advanceTime: (s: ExecState, a: { readonly now: bigint }) => Result<ExecState, null, never> = (s, a) =>
  a.now < s.time ? notEnabled('EXE-TIME.1', `time ${a.now} is before the current time ${s.time}`) : ok({ ...s, time: a.now }, null);

/** [EXE-TIMER.1] [EXE-HEARTBEAT.1] run a due global timer or a heartbeat. */
export const runSystemTask: (s: ExecState, a: { readonly canister: Principal; readonly task: 'global_timer' | 'heartbeat' }) => Result<ExecState, StepReport, never> = (s, a) => {
  const why = systemTaskEnabled(s, a.canister.text, a.task);
  if (why !== undefined) return notEnabled(a.task === 'global_timer' ? 'EXE-TIMER.1' : 'EXE-HEARTBEAT.1', why);
  const [s1, report] = executeSystemTask(s, a.canister.text, a.task);
  return ok(s1, report);
};

export type QueryOutput =
  | { readonly kind: 'reply'; readonly data: Uint8Array; readonly report: StepReport }
  | { readonly kind: 'reject'; readonly code: number; readonly message: string; readonly errorCode: string; readonly report: StepReport };

const errOut = (e: UserError, report: StepReport): QueryOutput => ({ kind: 'reject', code: Math.floor(Number(errorCodeText(e.code).slice(2)) / 100), message: e.message, errorCode: errorCodeText(e.code), report });

/** [EXE-CERTIFIED-STATE.1] the state as of now becomes what queries read (the end of a round). */
export const certify: (s: ExecState, a: Record<string, never>) => Result<ExecState, null, never> = (s) => ok({ ...s, certified: { canisters: s.canisters, time: s.time } }, null);

/** The state a query or an inspection reads: the canisters and time of the last certification. */
const certifiedView = (s: ExecState): ExecState => (s.certified.canisters === s.canisters && s.certified.time === s.time ? s : { ...s, canisters: s.certified.canisters, time: s.certified.time });

/** [EXE-QUERY.1] a query: the answer, and the state exactly as before. */
export const query: (s: ExecState, a: { readonly sender: Principal; readonly canister: Principal; readonly method: string; readonly arg: Uint8Array }) => Result<ExecState, QueryOutput, never> = (s, a) => {
  // [EXE-CERTIFIED-STATE.1] queries run on the last certified state
  const r = runQuery(certifiedView(s), a.sender, a.canister.text, a.method, a.arg);
  if ('reply' in r) return ok(s, { kind: 'reply', data: r.reply, report: r.report });
  if ('error' in r) return ok(s, errOut(r.error, r.report));
  return ok(s, { kind: 'reject', code: r.reject.code, message: r.reject.message, errorCode: '', report: r.report });
};

/**
 * [EXE-INSPECT.1] the boundary's check of an ingress message: accepted, or refused with the
 * canister's error. The state is unchanged either way.
 */
export const inspectIngress: (s: ExecState, a: { readonly sender: Principal; readonly canister: Principal; readonly method: string; readonly arg: Uint8Array }) => Result<ExecState, StepReport, UserError> = (s, a) => {
  const r = inspect(certifiedView(s), a.sender, a.canister.text, a.method, a.arg);
  return 'error' in r ? reject('EXE-INSPECT.1', r.error) : ok(s, r.report);
};

/** The messages that may execute now: the head of every queue. */
export const executable = (s: ExecState): number[] => {
  const out: number[] = [];
  for (const [, q] of s.queues.entries()) if (q.length > 0) out.push(q[0]!);
  return out.sort((a, b) => a - b);
};

/**
 * [CYC-PERIODIC.1] charge, as of time `now`, every canister last charged at least
 * `duration_between_allocation_charges` before it (except one with a paused execution) for its
 * memory, message memory and compute allocation since then; the reserved balance pays first.
 * A canister that cannot pay is uninstalled ([CYC-OUT-OF-CYCLES.1]).
 */
export const chargeResources: (s: ExecState, a: { readonly now: bigint }) => Result<ExecState, { readonly charged: readonly string[]; readonly uninstalled: readonly string[] }, never> = (s, a) => {
  if (a.now > s.time) return notEnabled('CYC-PERIODIC.1', `time ${a.now} is after the current time ${s.time}`);
  const every = s.config.fees.table.durationBetweenAllocationCharges * 1_000_000_000n;
  let st = s;
  const charged: string[] = [];
  const uninstalled: string[] = [];
  for (const id of s.canisterOrder) {
    const c0 = st.canisters.get(id);
    if (c0 === undefined || c0.native !== undefined || st.paused.has(id) || a.now < c0.lastCharge + every) continue;
    charged.push(id);
    const secs = (a.now - c0.lastCharge) / 1_000_000_000n;
    let c: Canister = { ...c0, lastCharge: a.now };
    st = putCanister(st, c);
    const rate = A.idleRate(s.config.fees, holdings(st, c));
    let failed = false;
    for (const [perDay, use] of [[rate.memory, 'Memory'], [rate.messageMemory, 'Memory'], [rate.compute, 'ComputeAllocation']] as const) {
      const amount = A.mul(perDay, secs) / A.DAY;
      // the reserved balance counts for these charges, and no freezing limit applies
      if (amount > c.cycles + c.reserved) {
        failed = true;
        break;
      }
      [st, c] = consume(st, c, amount, use);
    }
    if (failed) {
      st = uninstallOutOfCycles(st, c);
      uninstalled.push(id);
    }
  }
  if (charged.length === 0) return notEnabled('CYC-PERIODIC.1', `no canister is due to be charged at ${a.now}`);
  return ok(st, { charged, uninstalled });
};
