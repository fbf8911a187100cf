/**
 * Random call graphs of 2–4 universal canisters under random schedules.
 *
 * A call tree is generated as data (`exec-arbitraries.ts`), compiled to universal-canister
 * programs and submitted as ingress messages. Instead of the default scheduler, every step
 * executes a message chosen at random among `executable(state)`: every order the rules allow
 * is reachable. A walker attributes each step to the block of the tree it runs (a call
 * message carries its body; a response runs the callbacks of the call that registered its
 * callback, and the callbacks registered by an execution are its calls in order), and checks
 * the step against a model: which contexts are answered and with what, what each canister's
 * heap and stable logs become, which calls are delivered when.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { ANONYMOUS, type Principal } from '../src/core/principal.js';
import type { StepReport } from '../src/execution/canister.js';
import { errorCodeText } from '../src/execution/errors.js';
import { certify, executable, executeMessage, query, submitIngress } from '../src/execution/rules.js';
import type { ExecState, IngressStatus, Message } from '../src/execution/state.js';
import { loadCanister } from '../src/toolchain/compile.js';
import { prog, type Prog } from '../src/toolchain/universal.js';
import {
  callDest,
  compileBlock,
  fanOutArb,
  marker,
  rejectText,
  replyText,
  rootsArb,
  scheduleArb,
  type Block,
  type Call,
  type End,
  type Root,
  type TreeShape,
} from './exec-arbitraries.js';
import { create, ingress, install, q, statusOf, subnet } from './exec-harness.js';

// ---------------------------------------------------------------------------------------
// Setup: four universal canisters in one subnet

let BASE: ExecState;
let IDS: Principal[];

beforeAll(async () => {
  const wasm = (await loadCanister('universal')).wasm;
  let s = subnet();
  const ids: Principal[] = [];
  for (let i = 0; i < 4; i++) {
    const c = create(s);
    const d = install(c.state, c.id, wasm);
    if (statusOf(d.status) !== 'reply:4449444c0000') throw new Error(`install failed: ${statusOf(d.status)}`);
    s = d.state;
    ids.push(c.id);
  }
  BASE = s;
  IDS = ids;
});

// ---------------------------------------------------------------------------------------
// Driving: submit the roots, then execute random enabled messages until none is left

interface StepRec {
  readonly index: number;
  readonly msg: Message;
  readonly report: StepReport;
  readonly before: ExecState;
  readonly after: ExecState;
}

interface Run {
  readonly start: ExecState;
  readonly steps: StepRec[];
  readonly final: ExecState;
  /** the ingress message id of each root */
  readonly ingressIds: string[];
}

const MAX_STEPS = 600;

const submitRoots = (s0: ExecState, roots: readonly Root[], ids: readonly Principal[]): { state: ExecState; ingressIds: string[] } => {
  let s = s0;
  const ingressIds: string[] = [];
  roots.forEach((r, i) => {
    const x = submitIngress(s, { sender: ANONYMOUS, canister: ids[r.canister]!, method: 'update', arg: compileBlock(r.block, ids).build(), nonce: Uint8Array.of(i) });
    if (E.isLeft(x)) throw new Error(`submit failed: ${JSON.stringify(x.left)}`);
    s = x.right.state;
    ingressIds.push(x.right.output.messageId);
  });
  return { state: s, ingressIds };
};

/** Execute messages chosen by `choices` (from `offset` on) until none is pending. */
const runSchedule = (s0: ExecState, choices: readonly number[], offset = 0, onStep?: (r: StepRec) => void): { steps: StepRec[]; final: ExecState } => {
  let s = s0;
  const steps: StepRec[] = [];
  for (let k = offset; ; k++) {
    const heads = executable(s);
    if (heads.length === 0) break;
    if (k - offset >= MAX_STEPS) throw new Error(`no quiescence after ${MAX_STEPS} steps`);
    const id = heads[(choices[k] ?? 0) % heads.length]!;
    const msg = s.messages.get(id)!;
    const r = executeMessage(s, { message: id });
    if (E.isLeft(r)) throw new Error(`executable message ${id} was not enabled: ${JSON.stringify(r.left)}`);
    const rec: StepRec = { index: k, msg, report: r.right.output, before: s, after: r.right.state };
    steps.push(rec);
    onStep?.(rec);
    s = r.right.state;
  }
  return { steps, final: s };
};

const drive = (roots: readonly Root[], choices: readonly number[], onStep?: (r: StepRec) => void, s0: ExecState = BASE): Run => {
  const { state, ingressIds } = submitRoots(s0, roots, IDS);
  const { steps, final } = runSchedule(state, choices, 0, onStep);
  return { start: state, steps, final, ingressIds };
};

// ---------------------------------------------------------------------------------------
// Reading canisters

const queryProg = (s: ExecState, id: Principal, p: Prog): string => {
  const r = q(s, id, 'query', p.build());
  if (r.kind !== 'reply') throw new Error(`read query rejected: ${r.message}`);
  return Buffer.from(r.data).toString('latin1');
};
const heapLog = (s: ExecState, id: Principal): string => queryProg(s, id, prog().getGlobal().replyBlob());
const stableLog = (s: ExecState, id: Principal): string => queryProg(s, id, prog().getStableGlobal().replyBlob());
const hash = (b: Uint8Array): string => toHex(sha256(b));

const jsonSafe = (x: unknown): string => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? toHex(v) : v));

/** Everything of the state a determinism check compares. */
const fingerprint = (s: ExecState): string =>
  jsonSafe({
    canisters: s.canisterOrder.map((id) => {
      const c = s.canisters.get(id)!;
      const w = c.wasm!;
      return { id, heap: hash(w.heap.toBytes()), heapPages: w.heap.wasmPages, stable: hash(w.stable.toBytes()), stablePages: w.stable.wasmPages, globals: w.globals, version: c.version, cycles: c.cycles, timer: c.globalTimer, certified: c.certifiedData };
    }),
    ingress: s.ingress.entries().sort(([a], [b]) => (a < b ? -1 : 1)),
    messages: s.messages.entries().sort(([a], [b]) => a - b),
    contexts: s.contexts.entries().sort(([a], [b]) => a - b),
    callbacks: s.callbacks.entries().sort(([a], [b]) => a - b),
    nextId: s.nextId,
    randCounter: s.randCounter,
  });

// ---------------------------------------------------------------------------------------
// The model

type Answer = { readonly kind: 'reply'; readonly data?: string } | { readonly kind: 'reject'; readonly code: number; readonly err: string; readonly msg?: string };

const isTrapEnd = (e: End): boolean => e === 'trap' || e === 'ic0trap' || e === 'replyTrap';
const answers = (e: End): boolean => e === 'reply' || e === 'reject' || e === 'replyTrap';

/** The error code of a block's trap, or undefined if it does not trap (`answered`: its context was already answered). */
const trapCode = (b: Block, answered: boolean): string | undefined => {
  if (answered && answers(b.end)) return 'IC0504'; // msg_reply_data_append / msg_reject on an answered call
  if (b.end === 'trap' || b.end === 'replyTrap') return 'IC0502';
  if (b.end === 'ic0trap') return 'IC0503';
  return undefined;
};

/** A model call context. */
interface MCtx {
  readonly origin: { readonly kind: 'ingress'; readonly messageId: string } | { readonly kind: 'canister'; readonly callback: number };
  readonly canister: number;
  answered: boolean;
  outstanding: number;
  /** the real context's id while it is open */
  real?: number;
}

type Exec =
  | { readonly kind: 'body'; readonly block: Block; readonly canister: number; readonly method: 'update' | 'query'; readonly ctx: MCtx }
  | { readonly kind: 'callback'; readonly block: Block; readonly call: Call; readonly canister: number; readonly ctx: MCtx; readonly answered: boolean }
  /** a call answered by the system or the management canister: missing canister or method, raw_rand */
  | { readonly kind: 'system'; readonly call: Call; readonly ctx: MCtx };

interface Walked {
  readonly step: StepRec;
  readonly exec: Exec;
  /** the trap code of the execution, if the model says it traps */
  readonly trap?: string;
  /** the cleanup block whose changes are kept */
  readonly cleanupKept?: Block;
  /** the answer the model gives to a context in this step */
  readonly answer?: { readonly ctx: MCtx; readonly answer: Answer };
  /** calls made by the step (kept), in order, with their callback ids */
  readonly calls: ReadonlyArray<{ readonly call: Call; readonly callback: number }>;
}

interface CheckOpts {
  /** [EXE-STARVED.1] [EXE-EXEC-CALL.1]: answers, contexts, responses */
  readonly answers?: boolean;
  /** [EXE-TRAP-ROLLBACK.1]: logs and Wasm states */
  readonly rollback?: boolean;
  /** [EXE-QUERY.1]: replicated-mode query methods keep nothing */
  readonly queries?: boolean;
}

const answerOfEnd = (b: Block, trap: string | undefined): Answer | undefined => {
  if (trap !== undefined) return undefined;
  if (b.end === 'reply') return { kind: 'reply', data: replyText(b.id) };
  if (b.end === 'reject') return { kind: 'reject', code: 4, err: '', msg: rejectText(b.id) };
  return undefined;
};

const matchesResponse = (resp: Extract<Message, { kind: 'response' }>['response'], a: Answer): boolean => {
  if (a.kind === 'reply') return resp.kind === 'reply' && (a.data === undefined || Buffer.from(resp.data).toString('latin1') === a.data);
  if (resp.kind !== 'reject' || resp.code !== a.code) return false;
  return a.err === '' ? a.msg === undefined || resp.message === a.msg : resp.message.startsWith(`${a.err}: `);
};

const matchesStatus = (st: IngressStatus, a: Answer): boolean => {
  if (a.kind === 'reply') return st.status === 'replied' && (a.data === undefined || Buffer.from(st.reply).toString('latin1') === a.data);
  if (st.status !== 'rejected' || st.code !== a.code || st.errorCode !== a.err) return false;
  return a.msg === undefined || st.message === a.msg;
};

const terminal = (st: IngressStatus | undefined): boolean => st !== undefined && (st.status === 'replied' || st.status === 'rejected');

const rejectCodeOfErr = (err: string): number => Math.floor(Number(err.slice(2)) / 100);

/**
 * Walk a run: attribute each step, apply the model, and check what `opts` asks for.
 * Structural facts (a call message is the one its call spec says; an execution registers
 * the callbacks of its calls, and only if it does not trap) are always checked.
 */
const walk = (run: Run, roots: readonly Root[], ids: readonly Principal[], opts: CheckOpts = {}): Walked[] => {
  const index = new Map(ids.map((p, i) => [p.text, i]));
  const cbCall = new Map<number, { call: Call; ctx: MCtx }>();
  const out: Walked[] = [];
  const heap = ids.map((id) => heapLog(run.start, id));
  const stable = ids.map((id) => stableLog(run.start, id));
  const ingressCtx = new Map<string, MCtx>();
  // responses created, per callback, and executed
  const responsesMade = new Map<number, number>();
  const responsesRun = new Map<number, number>();
  const callsRun = new Map<number, number>();

  for (const step of run.steps) {
    const { msg: m, before, after, report } = step;
    let exec: Exec;
    if (m.kind === 'call') {
      if (m.origin.kind === 'ingress') {
        const r = roots[run.ingressIds.indexOf(m.origin.messageId)];
        expect(r).toBeDefined();
        const ctx: MCtx = { origin: { kind: 'ingress', messageId: m.origin.messageId }, canister: r!.canister, answered: false, outstanding: 0 };
        ingressCtx.set(m.origin.messageId, ctx);
        exec = { kind: 'body', block: r!.block, canister: r!.canister, method: 'update', ctx };
      } else {
        expect(m.origin.kind).toBe('canister');
        const cb = m.origin.kind === 'canister' ? m.origin.callback : -1;
        const entry = cbCall.get(cb);
        expect(entry, `call message ${m.id} for an unknown callback ${cb}`).toBeDefined();
        callsRun.set(cb, step.index);
        const { call } = entry!;
        const d = callDest(call, ids);
        expect([m.callee.text, m.method, toHex(m.arg)]).toEqual([d.callee.text, d.method, toHex(d.arg)]);
        const ctx: MCtx = { origin: { kind: 'canister', callback: cb }, canister: -1, answered: false, outstanding: 0 };
        const t = call.target;
        exec = t.kind === 'update' || t.kind === 'query' ? { kind: 'body', block: t.body, canister: t.canister, method: t.kind, ctx: { ...ctx, canister: t.canister } } : { kind: 'system', call, ctx };
      }
    } else {
      const entry = cbCall.get(m.callback);
      expect(entry, `response ${m.id} for an unknown callback ${m.callback}`).toBeDefined();
      responsesRun.set(m.callback, (responsesRun.get(m.callback) ?? 0) + 1);
      const real = before.callbacks.get(m.callback);
      expect(real, `the callback ${m.callback} of response ${m.id} is gone`).toBeDefined();
      const { call, ctx } = entry!;
      expect(real!.ctx).toBe(ctx.real);
      expect(index.get(m.canister)).toBe(ctx.canister);
      const block = m.response.kind === 'reply' ? call.onReply : call.onReject;
      exec = { kind: 'callback', block, call, canister: ctx.canister, ctx, answered: ctx.answered };
    }

    // what the model says the step does
    const trap = exec.kind === 'body' ? trapCode(exec.block, false) : exec.kind === 'callback' ? trapCode(exec.block, exec.answered) : undefined;
    const cleanupKept = exec.kind === 'callback' && trap !== undefined && exec.call.onCleanup !== undefined && !isTrapEnd(exec.call.onCleanup.end) ? exec.call.onCleanup : undefined;
    const ctx = exec.ctx;
    if (exec.kind === 'callback') ctx.outstanding -= 1;
    let answer: Answer | undefined;
    if (exec.kind === 'system') {
      const t = exec.call.target;
      answer =
        t.kind === 'missingCanister'
          ? { kind: 'reject', code: 3, err: 'IC0301' }
          : t.kind === 'missingMethod'
            ? { kind: 'reject', code: 5, err: 'IC0536' }
            : { kind: 'reply' };
    } else if (trap === undefined && !ctx.answered) {
      answer = answerOfEnd(exec.block, trap);
    }
    const newCallbacks = after.callbacks
      .entries()
      .map(([k]) => k)
      .filter((k) => !before.callbacks.has(k))
      .sort((a, b) => a - b);
    const calls: Array<{ call: Call; callback: number }> = [];
    if (exec.kind !== 'system' && trap === undefined) {
      expect(newCallbacks.length, `step ${step.index}: the calls of block ${exec.block.id}`).toBe(exec.block.calls.length);
      exec.block.calls.forEach((c, i) => calls.push({ call: c, callback: newCallbacks[i]! }));
      ctx.outstanding += calls.length;
    } else {
      expect(newCallbacks, `step ${step.index}: a trapping or system step registers no callbacks`).toEqual([]);
    }
    for (const c of calls) cbCall.set(c.callback, { call: c.call, ctx });
    if (answer === undefined && !ctx.answered && ctx.outstanding === 0) {
      // starved: the system answers with the trap of the execution at hand, or "did not reply"
      // (the replica decides by that execution's result; an earlier trap in the context does not count)
      const err = trap ?? 'IC0506';
      answer = { kind: 'reject', code: rejectCodeOfErr(err), err };
    }
    if (answer !== undefined) ctx.answered = true;
    // the real context of a body
    if (exec.kind === 'body') {
      const fresh = after.contexts
        .entries()
        .map(([k]) => k)
        .filter((k) => !before.contexts.has(k));
      expect(fresh.length).toBeLessThanOrEqual(1);
      ctx.real = fresh[0];
      if (ctx.real === undefined) expect(ctx.answered && ctx.outstanding === 0, `step ${step.index}: the context of block ${exec.block.id} closed early`).toBe(true);
    }
    const w: Walked = { step, exec, ...(trap !== undefined ? { trap } : {}), ...(cleanupKept ? { cleanupKept } : {}), ...(answer ? { answer: { ctx, answer } } : {}), calls };
    out.push(w);

    // responses created in this step
    const newResponses = after.messages
      .entries()
      .map(([, x]) => x)
      .filter((x): x is Extract<Message, { kind: 'response' }> => x.kind === 'response' && !before.messages.has(x.id));
    for (const r of newResponses) responsesMade.set(r.callback, (responsesMade.get(r.callback) ?? 0) + 1);

    if (opts.answers) {
      const where = `step ${step.index} (${exec.kind} ${exec.kind === 'system' ? exec.call.target.kind : exec.block.id})`;
      // a trap is reported exactly when the model says so
      if (exec.kind !== 'system') expect(report.trapped === undefined ? undefined : errorCodeText(report.trapped.code), where).toBe(trap);
      // the answer: to a calling canister, as one response message for its callback; to ingress, as the status
      const o = ctx.origin;
      if (o.kind === 'canister') {
        const mine = newResponses.filter((r) => r.callback === o.callback);
        expect(mine.length, `${where}: responses for callback ${o.callback}`).toBe(answer ? 1 : 0);
        if (answer) expect(matchesResponse(mine[0]!.response, answer), `${where}: response ${jsonSafe(mine[0]!.response)} vs model ${jsonSafe(answer)}`).toBe(true);
      } else {
        expect(newResponses.length).toBe(0);
        const [st0, st1] = [before.ingress.get(o.messageId), after.ingress.get(o.messageId)];
        if (answer) {
          expect(terminal(st0), where).toBe(false);
          expect(matchesStatus(st1!, answer), `${where}: ingress ${jsonSafe(st1)} vs model ${jsonSafe(answer)}`).toBe(true);
        } else if (terminal(st0)) expect(st1, `${where}: an answered ingress message changed`).toBe(st0);
        else expect(terminal(st1), `${where}: ingress answered, the model says not yet`).toBe(false);
      }
      // an answered context with no outstanding calls is removed; an open one stays
      if (ctx.real !== undefined) expect(after.contexts.has(ctx.real), `${where}: context ${ctx.real} open`).toBe(!(ctx.answered && ctx.outstanding === 0));
      // a terminal ingress status never changes
      for (const id of run.ingressIds) if (terminal(before.ingress.get(id))) expect(after.ingress.get(id)).toBe(before.ingress.get(id));
    }

    if (opts.rollback || opts.queries) {
      const c = exec.kind === 'system' ? -1 : exec.canister;
      // no other canister changes
      ids.forEach((id, i) => {
        if (i !== c) expect(after.canisters.get(id.text)!.wasm, `step ${step.index}: canister ${i} changed`).toBe(before.canisters.get(id.text)!.wasm);
      });
      if (exec.kind !== 'system') {
        const id = ids[c]!;
        const [b, a] = [before.canisters.get(id.text)!, after.canisters.get(id.text)!];
        const where = `step ${step.index}: ${exec.kind} ${exec.block.id} on canister ${c}`;
        const keep = exec.kind === 'body' && exec.method === 'query' ? undefined : trap === undefined ? exec.block : cleanupKept;
        if (keep?.heap) heap[c] += marker(keep.id);
        if (keep?.stable) stable[c] += marker(keep.id);
        if (opts.rollback) {
          if (trap !== undefined && cleanupKept === undefined) {
            // [EXE-TRAP-ROLLBACK.1] the Wasm state is the one from before, and so is the version
            expect(a.wasm, `${where} trapped (${trap}) but changed the Wasm state`).toBe(b.wasm);
            expect(a.version, where).toBe(b.version);
          }
          if (trap === undefined && !(exec.kind === 'body' && exec.method === 'query')) expect(a.version, where).toBe(b.version + 1n);
          expect(heapLog(after, id), `${where}: heap log`).toBe(heap[c]);
          expect(stableLog(after, id), `${where}: stable log`).toBe(stable[c]);
        }
        if (opts.queries && exec.kind === 'body' && exec.method === 'query') {
          // [EXE-QUERY.1] a query method in replicated mode keeps no Wasm state change, nor a new version
          expect([hash(a.wasm!.heap.toBytes()), hash(a.wasm!.stable.toBytes()), a.wasm!.globals], where).toEqual([hash(b.wasm!.heap.toBytes()), hash(b.wasm!.stable.toBytes()), b.wasm!.globals]);
          expect(a.version, where).toBe(b.version);
          expect(heapLog(after, id), where).toBe(heap[c]);
          expect(stableLog(after, id), where).toBe(stable[c]);
        }
      }
    }
  }

  if (opts.answers) {
    // every call message executed got exactly one response, made and executed after it
    for (const [cb, at] of callsRun) {
      expect(responsesMade.get(cb), `responses made for callback ${cb}`).toBe(1);
      expect(responsesRun.get(cb), `responses run for callback ${cb}`).toBe(1);
      const respStep = out.find((w) => w.step.msg.kind === 'response' && w.step.msg.callback === cb)!;
      expect(respStep.step.index).toBeGreaterThan(at);
    }
    // every callback ever registered was called and answered
    for (const w of out) for (const c of w.calls) expect(callsRun.has(c.callback), `callback ${c.callback} never called`).toBe(true);
    for (const [cb] of responsesRun) expect(callsRun.has(cb)).toBe(true);
    // every ingress message is answered
    for (const id of run.ingressIds) expect(terminal(run.final.ingress.get(id)), `ingress ${id}: ${jsonSafe(run.final.ingress.get(id))}`).toBe(true);
    for (const ctx of ingressCtx.values()) expect(ctx.answered).toBe(true);
    // nothing is left
    expect([run.final.contexts.size, run.final.callbacks.size, run.final.messages.size, run.final.queues.size]).toEqual([0, 0, 0, 0]);
  }
  return out;
};

// ---------------------------------------------------------------------------------------
// The properties

/** 2 to 4 canisters, calls nested up to 3 deep, up to 3 calls per method. */
const shapeArb: fc.Arbitrary<TreeShape> = fc.record({ n: fc.integer({ min: 2, max: 4 }), depth: fc.integer({ min: 1, max: 3 }), maxCalls: fc.integer({ min: 1, max: 3 }) });
const treesArb: fc.Arbitrary<Root[]> = shapeArb.chain((sh) => rootsArb(sh));

describe('random call graphs under random schedules', () => {
  it('[EXE-STARVED.1] [EXE-EXEC-CALL.1] [EXE-EXEC-RESPONSE.1] every call context is answered exactly once, as the model says, and nothing is left', () => {
    fc.assert(
      fc.property(treesArb, scheduleArb, (roots, choices) => {
        walk(drive(roots, choices), roots, IDS, { answers: true });
      }),
      { numRuns: 60 },
    );
  });

  it('[EXE-TRAP-ROLLBACK.1] [EXE-CLEANUP.1] a trap keeps nothing: each canister\'s heap and stable logs are the appends of the executions that did not trap, and of cleanups that ran', () => {
    fc.assert(
      fc.property(treesArb, scheduleArb, (roots, choices) => {
        walk(drive(roots, choices), roots, IDS, { rollback: true });
      }),
      { numRuns: 60 },
    );
  });

  it('[EXE-ORDER.1] calls from one canister to another are executed, and logged by the callee, in the order they were made', () => {
    fc.assert(
      fc.property(fc.oneof(treesArb, shapeArb.chain((sh) => fanOutArb(sh))), scheduleArb, (roots, choices) => {
        const run = drive(roots, choices);
        const walked = walk(run, roots, IDS);
        // each call's place in the order its caller made calls to the same callee
        const made = new Map<number, { pair: string; seq: number }>();
        const counters = new Map<string, number>();
        for (const w of walked) {
          const from = w.exec.kind === 'system' ? -1 : w.exec.canister;
          for (const c of w.calls) {
            const to = c.call.target.kind === 'update' || c.call.target.kind === 'query' || c.call.target.kind === 'missingMethod' ? c.call.target.canister : -1;
            if (to < 0) continue;
            const pair = `${from}>${to}`;
            const seq = counters.get(pair) ?? 0;
            counters.set(pair, seq + 1);
            made.set(c.callback, { pair, seq });
          }
        }
        // the order they were executed in, per pair
        const executed = new Map<string, number[]>();
        for (const st of run.steps) {
          if (st.msg.kind !== 'call' || st.msg.origin.kind !== 'canister') continue;
          const m = made.get(st.msg.origin.callback);
          if (m === undefined) continue;
          executed.set(m.pair, [...(executed.get(m.pair) ?? []), m.seq]);
        }
        for (const [pair, seqs] of executed) expect(seqs, `calls ${pair}`).toEqual([...seqs].sort((a, b) => a - b));
        // the callee's heap log shows the markers of its update bodies in call order
        for (const [pair] of executed) {
          const to = Number(pair.split('>')[1]);
          const bodies = walked.filter((w) => w.exec.kind === 'body' && w.exec.canister === to && w.exec.ctx.origin.kind === 'canister' && made.get(w.exec.ctx.origin.callback)?.pair === pair && w.trap === undefined && w.exec.method === 'update' && w.exec.block.heap);
          const log = heapLog(run.final, IDS[to]!);
          let at = -1;
          for (const b of bodies) {
            const i = log.indexOf(marker((b.exec as { block: Block }).block.id), at + 1);
            expect(i, `${pair}: marker of block ${(b.exec as { block: Block }).block.id} in ${log}`).toBeGreaterThan(at);
            at = i;
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('[EXE-QUERY.1] queries keep nothing: a query that writes the heap and stable memory leaves the state as it was, and so does a query method called by a canister', () => {
    const writes = [
      prog().setGlobalTo('q').replyData('a'),
      prog().pushBytes('q').setStableGlobal().rejectWith('b'),
      prog().pushI32(3).memoryGrow().drop().pushI32(1).stableGrow().drop().replyData('c'),
      prog().setGlobalTo('q').unreachable(),
      prog().pushI32(1).stableGrow().drop().pushI32(1 << 20).pushBytes('x').stableWrite().replyData('d'),
      prog().setGlobalTo('q'),
    ];
    fc.assert(
      fc.property(treesArb, scheduleArb, fc.nat(), fc.integer({ min: 0, max: writes.length - 1 }), fc.nat({ max: 3 }), (roots, choices, at, w, target) => {
        const run = drive(roots, choices);
        walk(run, roots, IDS, { queries: true });
        const states = [run.start, ...run.steps.map((x) => x.after)];
        // queries read the last certified state: certify the chosen one
        const sc = certify(states[at % states.length]!, {});
        if (E.isLeft(sc)) throw new Error('certify');
        const s = sc.right.state;
        const id = IDS[target]!;
        const before = { heap: heapLog(s, id), stable: stableLog(s, id), size: queryProg(s, id, prog().memorySize().i32ToBlob().replyBlob()), stableSize: queryProg(s, id, prog().stableSize().i32ToBlob().replyBlob()) };
        const c = s.canisters.get(id.text)!;
        const bytes = [hash(c.wasm!.heap.toBytes()), hash(c.wasm!.stable.toBytes())];
        const r = query(s, { sender: ANONYMOUS, canister: id, method: 'query', arg: writes[w]!.build() });
        expect(E.isRight(r) && r.right.state).toBe(s);
        expect([hash(c.wasm!.heap.toBytes()), hash(c.wasm!.stable.toBytes())]).toEqual(bytes);
        expect({ heap: heapLog(s, id), stable: stableLog(s, id), size: queryProg(s, id, prog().memorySize().i32ToBlob().replyBlob()), stableSize: queryProg(s, id, prog().stableSize().i32ToBlob().replyBlob()) }).toEqual(before);
      }),
      { numRuns: 40 },
    );
  });

  it('[EXE-STATE.1] [EXE-MEM-PAGES.1] the same tree and schedule from the same state give the same state; a state captured mid-run reads as before, and continues the same way', () => {
    fc.assert(
      fc.property(treesArb, scheduleArb, fc.nat(), (roots, choices, cut) => {
        const a0 = drive(roots, choices);
        if (a0.steps.length === 0) return;
        const k = cut % a0.steps.length;
        // run again, fingerprinting the state after step k while the run goes on
        let printed = '';
        let mid: ExecState | undefined;
        const a = drive(roots, choices, (r) => {
          if (r.index === k) {
            mid = r.after;
            printed = fingerprint(r.after);
          }
        });
        expect(a.steps.map((x) => x.msg.id)).toEqual(a0.steps.map((x) => x.msg.id));
        expect(fingerprint(a.final)).toBe(fingerprint(a0.final));
        // the run went on from `mid`; `mid` still reads as it did then
        expect(fingerprint(mid!)).toBe(printed);
        // continuing from it with the rest of the schedule reaches the same final state
        const rest = runSchedule(mid!, choices, k + 1);
        expect(fingerprint(rest.final)).toBe(fingerprint(a0.final));
      }),
      { numRuns: 30 },
    );
  });
});

describe('regressions', () => {
  /**
   * Regression (found by the random call graphs above): a callback answering a context that an
   * earlier execution answered used to succeed, keeping its memory changes and calls and
   * dropping its answer. Per [EXE-STARVED.1] it traps with IC0504 and keeps nothing
   * ([EXE-TRAP-ROLLBACK.1]); the random properties generate such trees (`LATE_ANSWERS`).
   */
  it('[EXE-STARVED.1] [EXE-TRAP-ROLLBACK.1] a callback that answers an already answered call traps, and keeps nothing', () => {
    const a = IDS[0]!;
    // the method replies "first", then the reply callback of its call appends "late" and replies again
    const late = prog().pushBytes('late').appendGlobal().replyData('second');
    const p = prog().callSimple({ callee: a.bytes, method: 'update', arg: prog().replyData('x').build(), onReply: late, onReject: prog() }).drop().replyData('first');
    const d = ingress(BASE, a, 'update', p.build());
    expect(statusOf(d.status)).toBe(`reply:${Buffer.from('first').toString('hex')}`);
    const traps = d.events.flatMap((e) => (e.report.trapped ? [`${errorCodeText(e.report.trapped.code)} ${e.report.trapped.message}`] : []));
    expect(traps).toHaveLength(1);
    expect(traps[0]).toContain('IC0504');
    expect(traps[0]).toContain('the call is already replied');
    expect(heapLog(d.state, a)).toBe('');
  });
});
