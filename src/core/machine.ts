/**
 * The shape of every subsystem: a machine with init, named rules, a view and invariants.
 * See spec/README.md "Machines".
 */
import type { Either } from 'fp-ts/lib/Either.js';
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { ItfValue } from '../trace/itf.js';

/** The rule was called where the spec gives it no meaning (e.g. time going backwards). */
export interface NotEnabled {
  readonly kind: 'NotEnabled';
  /** Requirement ID of the guard that disabled the rule. */
  readonly req: string;
  readonly reason: string;
}

/** The system answered with an error; the state is unchanged. */
export interface Rejected<Err> {
  readonly kind: 'Rejected';
  /** Requirement ID of the guard that rejected. */
  readonly req: string;
  readonly error: Err;
}

export type Failure<Err> = Rejected<Err> | NotEnabled;

export interface Success<S, Out> {
  readonly state: S;
  readonly output: Out;
}

export type Result<S, Out, Err> = Either<Failure<Err>, Success<S, Out>>;

/** A rule: a pure function of the state and explicit arguments (all nondeterminism included). */
export type Rule<S, Args, Out, Err> = (state: S, args: Args) => Result<S, Out, Err>;

export const ok = <S, Out>(state: S, output: Out): Result<S, Out, never> => E.right({ state, output });
export const reject = <Err>(req: string, error: Err): Result<never, never, Err> =>
  E.left({ kind: 'Rejected', req, error });
export const notEnabled = (req: string, reason: string): Result<never, never, never> =>
  E.left({ kind: 'NotEnabled', req, reason });

/**
 * How a rule meets the trace world: io-ts codecs from ITF JSON to its typed arguments,
 * and encoders of its output and error to ITF values. The rule itself never sees JSON.
 */
export interface ActionSpec<S, Args, Out, Err> {
  readonly rule: Rule<S, Args, Out, Err>;
  readonly args: t.Decoder<unknown, Args>;
  readonly encodeOutput: (out: Out) => ItfValue;
  readonly encodeError: (err: Err) => ItfValue;
  /** Requirement IDs this action is specified by (for coverage and divergence reports). */
  readonly reqs: readonly string[];
  /** Requirement IDs of the effects an accepted step exercised (e.g. a mint vs a transfer). */
  readonly effects?: (before: S, after: S, output: Out, args: Args) => readonly string[];
  /** Requirement IDs exercised by any rejection of this action (its error type, "a rejection changes nothing"). */
  readonly rejectionReqs?: readonly string[];
}

export interface Invariant<S> {
  readonly name: string;
  readonly req: string;
  /** undefined when the invariant holds, else a description of the violation. */
  readonly check: (state: S) => string | undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyActionSpec<S> = ActionSpec<S, any, any, any>;

/** Why a configuration has no initial state (a stable code and a message). */
export interface InitError {
  readonly code: string;
  readonly message: string;
}

export interface Machine<S, Cfg = unknown> {
  readonly name: string;
  /** The initial action of a trace (state 0): its tag and the codec of its arguments. */
  readonly initAction: string;
  readonly initArgs: t.Decoder<unknown, Cfg>;
  readonly init: (cfg: Cfg) => Either<InitError, S>;
  /** Default configuration, used for traces whose first state has no explicit init arguments. */
  readonly defaultConfig: Cfg;
  readonly actions: Readonly<Record<string, AnyActionSpec<S>>>;
  /** View variables: each projects the state to an ITF value; a trace compares the ones it lists. */
  readonly view: Readonly<Record<string, (state: S) => ItfValue>>;
  /** Requirement IDs of initialisation. */
  readonly initReqs?: readonly string[];
  /** Requirement IDs checked by comparing a view variable (e.g. block hashes). */
  readonly viewReqs?: Readonly<Record<string, readonly string[]>>;
  readonly invariants: readonly Invariant<S>[];
}

/** Check every invariant; return the violations. */
export const checkInvariants = <S>(m: Machine<S, unknown>, s: S): Array<{ name: string; req: string; message: string }> => {
  const out: Array<{ name: string; req: string; message: string }> = [];
  for (const inv of m.invariants) {
    const msg = inv.check(s);
    if (msg !== undefined) out.push({ name: inv.name, req: inv.req, message: msg });
  }
  return out;
};
