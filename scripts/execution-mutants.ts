/**
 * Mutants of the `execution_abstract` machine: deliberately wrong machines that the model's
 * traces must catch (issue 10's teeth). Not part of the reference: the trace generator shrinks
 * a regression against them, and properties/execution-quint.test.ts checks they are caught.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { AnyActionSpec, Machine } from '../src/core/machine.js';
import { abstractMachine, type AbstractInit, type AbstractState } from '../src/execution/abstract.js';
import { putCanister } from '../src/execution/ops.js';

const stop = abstractMachine.actions['StopCanister']!;

/**
 * `stop_canister` completes at once, even while the canister has open call contexts (the
 * canister is stopped instead of stopping). Its own invariant check is left out, so that only the
 * trace's view can catch it.
 */
export const stopsWithOpenContexts: Machine<AbstractState, AbstractInit> = {
  ...abstractMachine,
  actions: {
    ...abstractMachine.actions,
    StopCanister: {
      ...stop,
      rule: (s: AbstractState, a: { canister: bigint }) => {
        const r = stop.rule(s, a);
        if (E.isLeft(r)) return r;
        const st = r.right.state as AbstractState;
        const id = st.canisters[Number(a.canister)]!;
        const c = st.exec.canisters.get(id.text);
        if (c?.status !== 'stopping') return r;
        return E.right({ ...r.right, state: { ...st, exec: putCanister(st.exec, { ...c, status: 'stopped' }) } });
      },
    } as AnyActionSpec<AbstractState>,
  },
  invariants: abstractMachine.invariants.filter((i) => i.name !== 'stopped-canisters-have-no-contexts'),
};

export const MUTANTS: Readonly<Record<string, Machine<AbstractState, AbstractInit>>> = { 'stops-with-open-contexts': stopsWithOpenContexts };
