/**
 * A default scheduler for runners (drun, benchmarks, properties that need "some" order).
 * NOT normative: the rules allow every order; this one follows the replica's round shape
 *: at the start of a round, time advances and each running canister
 * gets its global timer or heartbeat, rotating with its input messages; then messages
 * execute, management canister first, then canisters in id order, each draining its inputs
 * with the replica's rotation between local, ingress and remote senders, until nothing is
 * left or the round's instruction budget is spent. Messages produced in a round on this
 * subnet are executed in the same round (the replica's inner iterations).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Principal } from '../core/principal.js';
import type { StepReport } from './canister.js';
import { advanceTime, certify, chargeResources, executeMessage, expireCallback, expiredCallbacks, resumeExecution, runSystemTask } from './rules.js';
import type { ExecState, Message } from './state.js';

/** The replica's per-round instruction budget per thread, times its 4 scheduler threads. */
export const ROUND_BUDGET = 4n * 7_000_000_000n;

/** One rule application of a round: the rule, its arguments and what it reported. */
export type RoundEvent =
  | { readonly rule: 'AdvanceTime'; readonly now: bigint; readonly report: StepReport }
  | { readonly rule: 'ChargeResources'; readonly now: bigint; readonly report: StepReport }
  | { readonly rule: 'Certify'; readonly report: StepReport }
  | { readonly rule: 'ExpireCallback'; readonly callback: number; readonly report: StepReport }
  | { readonly rule: 'GlobalTimer' | 'Heartbeat' | 'ResumeExecution'; readonly canister: Principal; readonly report: StepReport }
  | { readonly rule: 'Execute'; readonly message: number; readonly kind: Message['kind']; readonly report: StepReport };

const NOTHING: StepReport = { instructions: 0n, slices: 0, debugPrints: [] };

/** Which input class a call message belongs to, for the rotation. */
const inputClass = (m: Message): 'local' | 'ingress' | 'remote' => (m.kind === 'call' && m.origin.kind === 'ingress' ? 'ingress' : 'local');

const target = (m: Message): string => (m.kind === 'call' ? m.callee.text : m.canister);

/** Run one round at time `now`; returns the new state and what executed, in order. */
export const runRound = (s0: ExecState, now: bigint, onEvent?: (e: RoundEvent) => void): ExecState => {
  let s = s0;
  const t = advanceTime(s, { now });
  if (E.isRight(t) && now !== s.time) {
    s = t.right.state;
    onEvent?.({ rule: 'AdvanceTime', now, report: NOTHING });
  }
  let used = 0n;
  // best-effort calls whose deadline has passed are answered ([EXE-BEST-EFFORT.1])
  for (const cb of expiredCallbacks(s)) {
    const r = expireCallback(s, { callback: cb });
    if (E.isRight(r)) {
      s = r.right.state;
      onEvent?.({ rule: 'ExpireCallback', callback: cb, report: NOTHING });
    }
  }
  // paused executions first: one slice each per round ([EXE-DTS.1])
  for (const [id] of s.paused.entries().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const c = s.canisters.get(id);
    if (c === undefined) continue;
    const r = resumeExecution(s, { canister: c.id });
    if (E.isRight(r)) {
      s = r.right.state;
      onEvent?.({ rule: 'ResumeExecution', canister: c.id, report: r.right.output });
    }
  }
  // system tasks, once per round per canister
  for (const id of s.canisterOrder) {
    const c = s.canisters.get(id);
    if (c === undefined || c.wasm === undefined || c.status !== 'running') continue;
    for (const task of ['global_timer', 'heartbeat'] as const) {
      const r = runSystemTask(s, { canister: c.id, task });
      if (E.isRight(r)) {
        s = r.right.state;
        used += r.right.output.instructions;
        onEvent?.({ rule: task === 'global_timer' ? 'GlobalTimer' : 'Heartbeat', canister: c.id, report: r.right.output });
      }
    }
  }
  // messages
  const lastClass = new Map<string, 'local' | 'ingress' | 'remote'>();
  for (;;) {
    if (used >= ROUND_BUDGET) break;
    const heads = headsByCanister(s);
    if (heads.size === 0) break;
    const order = [...heads.keys()].sort(mgmtFirst);
    for (const canister of order) {
      const ms = heads.get(canister)!;
      // rotate between input classes: the class after the one served last, else the oldest
      const last = lastClass.get(canister);
      const pick = pickRotating(ms, last);
      lastClass.set(canister, inputClass(pick));
      const r = executeMessage(s, { message: pick.id });
      if (E.isLeft(r)) continue;
      s = r.right.state;
      used += r.right.output.instructions;
      onEvent?.({ rule: 'Execute', message: pick.id, kind: pick.kind, report: r.right.output });
      if (used >= ROUND_BUDGET) break;
    }
  }
  // [CYC-PERIODIC.1] at the end of the round, canisters due are charged for their resources
  const ch = chargeResources(s, { now: s.time });
  if (E.isRight(ch)) {
    s = ch.right.state;
    onEvent?.({ rule: 'ChargeResources', now: s.time, report: NOTHING });
  }
  // the round's state is certified: queries read it from now on
  const c = certify(s, {});
  if (E.isRight(c)) s = c.right.state;
  onEvent?.({ rule: 'Certify', report: NOTHING });
  return s;
};

const mgmtFirst = (a: string, b: string): number => (a === 'aaaaa-aa' ? -1 : b === 'aaaaa-aa' ? 1 : a < b ? -1 : a > b ? 1 : 0);

const ROTATION = ['local', 'ingress', 'remote'] as const;

const pickRotating = (ms: readonly Message[], last: 'local' | 'ingress' | 'remote' | undefined): Message => {
  if (last !== undefined) {
    const start = ROTATION.indexOf(last);
    for (let k = 1; k <= 3; k++) {
      const cls = ROTATION[(start + k) % 3];
      const m = ms.find((x) => inputClass(x) === cls);
      if (m !== undefined) return m;
    }
  }
  return ms[0]!;
};

/** The executable messages (queue heads), grouped by the canister that executes them, oldest first. */
const headsByCanister = (s: ExecState): Map<string, Message[]> => {
  const out = new Map<string, Message[]>();
  for (const [, q] of s.queues.entries()) {
    const id = q[0];
    if (id === undefined) continue;
    const m = s.messages.get(id)!;
    const k = target(m);
    const list = out.get(k);
    if (list === undefined) out.set(k, [m]);
    else list.push(m);
  }
  for (const l of out.values()) l.sort((a, b) => a.id - b.id);
  return out;
};

/** Whether anything is left to execute. */
export const idle = (s: ExecState): boolean => s.messages.size === 0;
