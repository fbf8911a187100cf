/**
 * replay(machine, trace): apply each action of a trace to the reference and compare the
 * outcome and the listed view variables canonically; report the first divergence
 * ([TRC-REPLAY.1], [TRC-DIVERGENCE.1]). Also `record`, which writes a trace from actions.
 */
import * as E from 'fp-ts/lib/Either.js';
import { checkInvariants, type AnyActionSpec, type InitError, type Machine } from '../core/machine.js';
import { decodeWith } from './codecs.js';
import { diff, render, toJson, UNIT, variant, type ItfValue } from './itf.js';
import { ACTION_VAR, OUTCOME_VAR, type LoadedTrace } from './load.js';

export interface Divergence {
  readonly step: number;
  readonly action: string;
  readonly kind: 'init' | 'outcome' | 'view' | 'invariant';
  /** readable path, e.g. `balances["1c7a…"]` */
  readonly path: string;
  /** JSON pointer into the trace file */
  readonly pointer: string;
  readonly expected: string;
  readonly actual: string;
  /** requirement IDs involved: the action's, and the guard's that fired */
  readonly reqs: readonly string[];
}

export interface ReplayReport {
  readonly file: string;
  readonly machine: string;
  readonly steps: number;
  /** steps applied before stopping (all of them when the trace conforms) */
  readonly applied: number;
  readonly divergence: Divergence | undefined;
  readonly ignored: readonly string[];
  /**
   * Requirement IDs the replay exercised: the rules applied, the guards that fired, the
   * effects of accepted steps, the invariants checked and the view variables compared.
   */
  readonly exercised: readonly string[];
}

export interface ReplayOptions {
  /** check the machine's invariants after every step (default true) */
  readonly invariants?: boolean;
  readonly onStep?: (i: number) => void;
}

/** The outcome of one rule application as an ITF value ([TRC-OUTCOME.1]). */
export const outcomeOf = <S>(spec: AnyActionSpec<S>, r: ReturnType<AnyActionSpec<S>['rule']>): { value: ItfValue; req: string | undefined } => {
  if (E.isRight(r)) return { value: variant('Ok', spec.encodeOutput(r.right.output)), req: undefined };
  const f = r.left;
  return f.kind === 'Rejected' ? { value: variant('Err', spec.encodeError(f.error)), req: f.req } : { value: variant('NotEnabled', UNIT), req: f.req };
};

export const replay = <S, C>(m: Machine<S, C>, trace: LoadedTrace, opts: ReplayOptions = {}): ReplayReport => {
  const checkInv = opts.invariants ?? true;
  const steps = trace.steps;
  const exercised = new Set<string>(['TRC-INIT.1', ...(m.initReqs ?? [])]);
  const note = (ids: readonly string[] | undefined) => ids?.forEach((x) => exercised.add(x));
  for (const v of trace.compared) note(m.viewReqs?.[v]);
  if (checkInv) for (const inv of m.invariants) exercised.add(inv.req);
  const report = (applied: number, d?: Divergence): ReplayReport => ({
    file: trace.file,
    machine: m.name,
    steps: steps.length,
    applied,
    divergence: d,
    ignored: trace.ignored,
    exercised: [...exercised].sort(),
  });
  const s0 = steps[0]!;
  let initR: E.Either<InitError, S> | undefined = m.init(s0.args as C);
  const initReqs = ['TRC-INIT.1'];
  const initOutcome = E.isRight(initR) ? variant('Ok', UNIT) : variant('Err', { code: initR.left.code, message: initR.left.message });
  if (s0.outcome !== undefined) {
    const d = diff(s0.outcome, initOutcome, 'outcome', `/states/0/${trace.segment[OUTCOME_VAR]}`);
    if (d) return report(0, { step: 0, action: m.initAction, kind: 'init', path: d.path, pointer: d.pointer, expected: show(d.expected), actual: show(d.actual), reqs: initReqs });
  }
  if (E.isLeft(initR))
    return report(0, { step: 0, action: m.initAction, kind: 'init', path: 'init', pointer: `/states/0/${trace.segment[ACTION_VAR] ?? ACTION_VAR}`, expected: 'a valid initial state', actual: `${initR.left.code}: ${initR.left.message}`, reqs: initReqs });
  let state = initR.right;
  // Hold no reference to the initial state beyond this point: a persistent state keeps every
  // version reachable from an older one, so holding it would retain the replay's whole history.
  initR = undefined;
  const compareView = (i: number, action: string, reqs: readonly string[]): Divergence | undefined => {
    const st = steps[i]!;
    for (const name of trace.compared) {
      const actual = m.view[name]!(state);
      const d = diff(st.view[name]!, actual, name, `/states/${st.index}/${trace.segment[name]}`);
      if (d) return { step: st.index, action, kind: 'view', path: d.path, pointer: d.pointer, expected: show(d.expected), actual: show(d.actual), reqs };
    }
    if (checkInv) {
      const v = checkInvariants(m as Machine<S, unknown>, state)[0];
      if (v) return { step: st.index, action, kind: 'invariant', path: v.name, pointer: `/states/${st.index}`, expected: 'invariant holds', actual: v.message, reqs: [...reqs, v.req] };
    }
    return undefined;
  };
  const d0 = compareView(0, m.initAction, initReqs);
  if (d0) return report(0, d0);
  for (let i = 1; i < steps.length; i++) {
    const st = steps[i]!;
    const spec = m.actions[st.tag]!;
    const r = spec.rule(state, st.args);
    const out = outcomeOf(spec, r);
    const reqs = out.req === undefined ? spec.reqs : [...spec.reqs, out.req];
    if (st.outcome !== undefined) {
      const d = diff(st.outcome, out.value, 'outcome', `/states/${st.index}/${trace.segment[OUTCOME_VAR]}`);
      if (d) return report(i, { step: st.index, action: st.tag, kind: 'outcome', path: d.path, pointer: d.pointer, expected: show(d.expected), actual: show(d.actual), reqs });
    }
    note(reqs);
    if (E.isLeft(r) && r.left.kind === 'Rejected') note(spec.rejectionReqs);
    if (E.isRight(r)) {
      note(spec.effects?.(state, r.right.state, r.right.output, st.args));
      state = r.right.state;
    }
    const dv = compareView(i, st.tag, reqs);
    if (dv) return report(i, dv);
    opts.onStep?.(i);
  }
  return report(steps.length - 1);
};

const show = (v: ItfValue | undefined): string => (v === undefined ? '(absent)' : render(v, 200));

// ---------------------------------------------------------------- recording

export interface RecordedAction {
  readonly tag: string;
  /** the action's arguments as an ITF value (as they appear in a trace) */
  readonly args: ItfValue;
}

export interface RecordOptions {
  readonly meta?: Record<string, unknown>;
  /** view variables to write (default: all of the machine's) */
  readonly view?: readonly string[];
}

/**
 * Apply actions to the reference and write the resulting ITF trace (JSON), with the
 * action, the outcome and the view in every state. Throws on undecodable arguments or an
 * invalid init: this is a tool for writing traces, not a rule.
 */
export const record = <S, C>(m: Machine<S, C>, init: ItfValue, actions: readonly RecordedAction[], opts: RecordOptions = {}): { trace: unknown; state: S } => {
  const viewVars = opts.view ?? Object.keys(m.view);
  const dInit = decodeWith(m.initArgs, init);
  if (!dInit.ok) throw new Error(`init arguments: ${dInit.pointer}: ${dInit.message}`);
  const r0 = m.init(dInit.value);
  if (E.isLeft(r0)) throw new Error(`init: ${r0.left.code}: ${r0.left.message}`);
  let state = r0.right;
  const stateJson = (i: number, action: ItfValue, outcome: ItfValue): Record<string, unknown> => {
    const o: Record<string, unknown> = { '#meta': { index: i }, [ACTION_VAR]: toJson(action), [OUTCOME_VAR]: toJson(outcome) };
    for (const v of viewVars) o[v] = toJson(m.view[v]!(state));
    return o;
  };
  const states = [stateJson(0, variant(m.initAction, init), variant('Ok', UNIT))];
  actions.forEach((a, k) => {
    const spec = m.actions[a.tag];
    if (!spec) throw new Error(`unknown action ${a.tag}`);
    const d = decodeWith(spec.args, a.args);
    if (!d.ok) throw new Error(`action ${k} (${a.tag}): ${d.pointer}: ${d.message}`);
    const r = spec.rule(state, d.value);
    if (E.isRight(r)) state = r.right.state;
    states.push(stateJson(k + 1, variant(a.tag, a.args), outcomeOf(spec, r).value));
  });
  return {
    trace: {
      '#meta': { format: 'ITF', 'format-description': 'https://apalache-mc.org/docs/adr/015adr-trace.html', machine: m.name, ...opts.meta },
      vars: [ACTION_VAR, OUTCOME_VAR, ...viewVars],
      states,
    },
    state,
  };
};
