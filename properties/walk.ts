/**
 * Model-based random walks: apply random actions to a machine, check a step predicate and
 * the invariants after every step, and save a shrunk counterexample as a regression trace.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { checkInvariants, type Machine, type Result } from '../src/core/machine.js';
import { packageRoot } from '../src/core/root.js';
import { decodeWith } from '../src/trace/codecs.js';
import { canon, type ItfValue } from '../src/trace/itf.js';
import { record, type RecordedAction } from '../src/trace/replay.js';

export interface StepInfo<S> {
  readonly index: number;
  readonly action: RecordedAction;
  readonly before: S;
  readonly result: Result<S, unknown, unknown>;
  /** the state after the step (= before when the step failed) */
  readonly after: S;
}

/** The whole view as one canonical string (for "unchanged" checks). */
export const viewCanon = <S>(m: Machine<S, unknown>, s: S): string =>
  Object.keys(m.view)
    .map((k) => `${k}=${canon(m.view[k]!(s))}`)
    .join(';');

type Decoded<T> = { ok: true; value: T } | { ok: false; message: string };

/** The initial state from ITF init arguments; `undefined` value when the machine refuses the config. */
const start = <S, C>(m: Machine<S, C>, init: ItfValue): Decoded<S | undefined> => {
  const d = decodeWith(m.initArgs, init);
  if (!d.ok) return { ok: false, message: `init does not decode: ${d.pointer}: ${d.message}` };
  const r0 = m.init(d.value);
  return { ok: true, value: E.isLeft(r0) ? undefined : r0.right };
};

/** Decode an action's ITF arguments and apply its rule. */
const apply = <S, C>(m: Machine<S, C>, s: S, a: RecordedAction): Decoded<Result<S, unknown, unknown>> => {
  const spec = m.actions[a.tag]!;
  const args = decodeWith(spec.args, a.args);
  if (!args.ok) return { ok: false, message: `arguments do not decode: ${args.pointer}: ${args.message}` };
  return { ok: true, value: spec.rule(s, args.value) as Result<S, unknown, unknown> };
};

/** Run a walk; return the first problem (step predicate, invariant or persistence), or undefined. */
export const runWalk = <S, C>(m: Machine<S, C>, init: ItfValue, actions: readonly RecordedAction[], check?: (st: StepInfo<S>) => string | undefined): string | undefined => {
  const st0 = start(m, init);
  if (!st0.ok) return st0.message;
  if (st0.value === undefined) return undefined; // an invalid init is not a walk
  let s: S = st0.value;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    const before = viewCanon(m as Machine<S, unknown>, s);
    const applied = apply(m, s, a);
    if (!applied.ok) return `step ${i}: ${applied.message}`;
    const result = applied.value;
    const after = E.isRight(result) ? result.right.state : s;
    // persistence: the old state reads exactly as before, whatever the rule did
    if (viewCanon(m as Machine<S, unknown>, s) !== before) return `step ${i} (${a.tag}): the rule changed its input state`;
    const inv = checkInvariants(m as Machine<S, unknown>, after)[0];
    if (inv) return `step ${i} (${a.tag}): invariant ${inv.name} [${inv.req}] violated: ${inv.message}`;
    const msg = check?.({ index: i, action: a, before: s, result, after });
    if (msg) return `step ${i} (${a.tag}): ${msg}`;
    s = after;
  }
  return undefined;
};

const failMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * fast-check over walks. On failure, the shrunk counterexample is written as an ITF trace
 * (to `traces/<machine>/regressions/` unless `dir` is given) and the test fails with its path.
 */
export const checkWalks = <S, C>(opts: {
  name: string;
  machine: Machine<S, C>;
  requirements: readonly string[];
  arb: fc.Arbitrary<{ init: ItfValue; actions: RecordedAction[] }>;
  check?: (st: StepInfo<S>) => string | undefined;
  numRuns?: number;
  dir?: string;
}): { failed: false } | { failed: true; file: string; message: string; seed: number } => {
  const res = fc.check(
    fc.property(opts.arb, ({ init, actions }) => {
      const p = runWalk(opts.machine, init, actions, opts.check);
      if (p) throw new Error(p);
    }),
    opts.numRuns === undefined ? {} : { numRuns: opts.numRuns },
  );
  if (!res.failed) return { failed: false };
  const [{ init, actions }] = res.counterexample!;
  const dir = opts.dir ?? join(packageRoot(), 'traces', opts.machine.name, 'regressions');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${opts.name}-seed${res.seed}.itf.json`);
  const { trace } = record(opts.machine, init, actions, {
    meta: { description: `shrunk counterexample of ${opts.name}: ${failMessage(res.errorInstance)}`, requirements: opts.requirements, seed: res.seed, source: 'properties/walk.ts' },
  });
  writeFileSync(file, JSON.stringify(trace, null, 1) + '\n');
  return { failed: true, file, message: failMessage(res.errorInstance), seed: res.seed };
};

/** Apply actions from an init (ITF arguments); the states after each accepted step. undefined when init is invalid. */
export const applyAll = <S, C>(m: Machine<S, C>, init: ItfValue, actions: readonly RecordedAction[]): S[] | undefined => {
  const st0 = start(m, init);
  if (!st0.ok) throw new Error(st0.message);
  if (st0.value === undefined) return undefined;
  const states: S[] = [st0.value];
  let s: S = st0.value;
  for (const a of actions) {
    const applied = apply(m, s, a);
    if (!applied.ok) throw new Error(applied.message);
    if (E.isRight(applied.value)) states.push((s = applied.value.right.state));
  }
  return states;
};
