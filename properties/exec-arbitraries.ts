/**
 * Random call graphs of universal canisters, as data, and their compilation to
 * universal-canister programs (`src/toolchain/universal.ts`).
 *
 * A `Block` is the code of one execution: a method body, a reply or reject callback, or a
 * cleanup callback. It appends its marker to the canister's heap global and/or its stable
 * global at some point between its calls, makes its calls, then ends (reply, reject, a Wasm
 * trap, `ic0.trap`, a reply followed by a trap, or nothing). A `Call` names its target (an update or query method of one
 * of the canisters, running the target's body; a canister that does not exist; a method that
 * does not exist; the management canister's `raw_rand`) and its callbacks' blocks.
 * Every block has a unique id, so its marker `[id]`, reply `r<id>` and reject `j<id>` are
 * unique too, and a program (which embeds its callees' bodies) identifies its block.
 */
import fc from 'fast-check';
import { canisterId, MANAGEMENT_CANISTER, type Principal } from '../src/core/principal.js';
import { prog, type Prog } from '../src/toolchain/universal.js';

/** 'replyTrap': reply, then a Wasm trap (the reply must be discarded) */
export type End = 'reply' | 'reject' | 'trap' | 'ic0trap' | 'replyTrap' | 'none';

export interface Block {
  readonly id: number;
  /** append the marker to the heap global */
  readonly heap: boolean;
  /** append the marker to the stable global */
  readonly stable: boolean;
  /** the marker is appended before call number `appendAt` (calls.length: after the last) */
  readonly appendAt: number;
  readonly calls: readonly Call[];
  readonly end: End;
}

export type Target =
  | { readonly kind: 'update'; readonly canister: number; readonly body: Block }
  /** a query method called in replicated mode: its body makes no calls */
  | { readonly kind: 'query'; readonly canister: number; readonly body: Block }
  | { readonly kind: 'missingCanister' }
  | { readonly kind: 'missingMethod'; readonly canister: number }
  | { readonly kind: 'rawRand' };

export interface Call {
  readonly target: Target;
  readonly onReply: Block;
  readonly onReject: Block;
  /** a cleanup block makes no calls and ends with 'none' or a trap */
  readonly onCleanup?: Block;
}

/** One ingress message: the root block runs as `update` on canister `canister`. */
export interface Root {
  readonly canister: number;
  readonly block: Block;
}

export const marker = (id: number): string => `[${id}]`;
export const replyText = (id: number): string => `r${id}`;
export const rejectText = (id: number): string => `j${id}`;
export const trapText = (id: number): string => `t${id}`;

/** A canister that is never created. */
export const MISSING_CANISTER: Principal = canisterId(0xfff0n);
export const CANDID_EMPTY = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0x00, 0x00]);

// ---------------------------------------------------------------------------------------
// Generation (ids are given afterwards by `number`)

type RawBlock = Omit<Block, 'id' | 'calls'> & { readonly calls: readonly RawCall[] };
type RawTarget =
  | { readonly kind: 'update'; readonly canister: number; readonly body: RawBlock }
  | { readonly kind: 'query'; readonly canister: number; readonly body: RawBlock }
  | { readonly kind: 'missingCanister' }
  | { readonly kind: 'missingMethod'; readonly canister: number }
  | { readonly kind: 'rawRand' };
type RawCall = { readonly target: RawTarget; readonly onReply: RawBlock; readonly onReject: RawBlock; readonly onCleanup?: RawBlock };

const ENDS: readonly End[] = ['reply', 'reject', 'trap', 'ic0trap', 'replyTrap', 'none'];

const endArb = (weights: Partial<Record<End, number>> = {}): fc.Arbitrary<End> =>
  fc.oneof(...ENDS.map((e) => ({ arbitrary: fc.constant(e), weight: weights[e] ?? 1 })));

const leafBlock = (ends: fc.Arbitrary<End>): fc.Arbitrary<RawBlock> =>
  fc.record({ heap: fc.boolean(), stable: fc.boolean(), appendAt: fc.constant(0), calls: fc.constant([] as RawCall[]), end: ends });

const cleanupArb: fc.Arbitrary<RawBlock> = fc.record({
  heap: fc.boolean(),
  stable: fc.boolean(),
  appendAt: fc.constant(0),
  calls: fc.constant([] as RawCall[]),
  end: fc.constantFrom<End>('none', 'none', 'trap'),
});

/**
 * Whether a call context may be answered by more than one execution (a callback replying to
 * a context already answered: the reply must trap, [EXE-STARVED.1]). This found a bug (such a
 * callback succeeded); the regression test "a callback that answers an already answered call
 * traps" in execution-callgraph.test.ts keeps the minimal case.
 */
export const LATE_ANSWERS = true;

export interface TreeShape {
  /** canisters used: indices 0 … n-1 */
  readonly n: number;
  /** nesting depth of calls below the root */
  readonly depth: number;
  /** calls per method body, at most */
  readonly maxCalls: number;
}

/** A block at `depth` (0: makes no calls). Callbacks may make one call at a smaller depth. */
const blockArb = (shape: TreeShape, depth: number, callbacks: boolean, minCalls = 0): fc.Arbitrary<RawBlock> => {
  if (depth <= 0) return leafBlock(callbacks ? endArb({ none: 2, reply: 2 }) : endArb({ reply: 3 }));
  const calls = fc.array(callArb(shape, depth - 1), { minLength: minCalls, maxLength: callbacks ? 1 : shape.maxCalls });
  return fc
    .record({ heap: fc.boolean(), stable: fc.boolean(), appendAt: fc.nat(), calls, end: callbacks ? endArb({ none: 2, reply: 2 }) : endArb({ reply: 3, none: 3 }) })
    .map((b) => ({ ...b, appendAt: b.appendAt % (b.calls.length + 1) }));
};

const targetArb = (shape: TreeShape, depth: number): fc.Arbitrary<RawTarget> => {
  const canister = fc.nat({ max: shape.n - 1 });
  return fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('update' as const), canister, body: blockArb(shape, depth, false) }), weight: 8 },
    { arbitrary: fc.record({ kind: fc.constant('query' as const), canister, body: leafBlock(endArb({ reply: 3 })) }), weight: 1 },
    { arbitrary: fc.constant({ kind: 'missingCanister' as const }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('missingMethod' as const), canister }), weight: 1 },
    { arbitrary: fc.constant({ kind: 'rawRand' as const }), weight: 1 },
  );
};

const callArb = (shape: TreeShape, depth: number): fc.Arbitrary<RawCall> =>
  fc
    .record({
      target: targetArb(shape, depth),
      onReply: blockArb(shape, depth, true),
      onReject: blockArb(shape, depth, true),
      cleanup: fc.option(cleanupArb, { nil: undefined }),
    })
    .map(({ cleanup, ...c }) => (cleanup === undefined ? c : { ...c, onCleanup: cleanup }));

const answersEnd = (e: End): boolean => e === 'reply' || e === 'reject' || e === 'replyTrap';

/**
 * Make every call context answerable by at most one execution: the body, or the callbacks
 * of one chain of calls (a call's reply and reject callbacks exclude each other). Other
 * answering ends become 'none'. Used while icspec lets a callback answer an already answered
 * context without trapping (see the `it.fails` test in execution-callgraph.test.ts).
 */
const oneAnswer = (b: RawBlock, mayAnswer: boolean): RawBlock => {
  const end = !mayAnswer && answersEnd(b.end) ? 'none' : b.end;
  // the context is still open after this block: one call's callbacks may answer it
  let pass = mayAnswer && !answersEnd(end);
  const calls = b.calls.map((c) => {
    const here = pass;
    pass = false;
    const t = c.target;
    const target: RawTarget = t.kind === 'update' || t.kind === 'query' ? { ...t, body: oneAnswer(t.body, true) } : t;
    return { ...c, target, onReply: oneAnswer(c.onReply, here), onReject: oneAnswer(c.onReject, here) };
  });
  return { ...b, end, calls };
};

/** Give every block a unique id, depth first. */
const numberRoots = (raw0: readonly { canister: number; block: RawBlock }[], lateAnswers = LATE_ANSWERS): Root[] => {
  const raw = lateAnswers ? raw0 : raw0.map((r) => ({ ...r, block: oneAnswer(r.block, true) }));
  let next = 1;
  const blk = (b: RawBlock): Block => {
    const id = next++;
    return { id, heap: b.heap, stable: b.stable, appendAt: b.appendAt, end: b.end, calls: b.calls.map(call) };
  };
  const call = (c: RawCall): Call => {
    const t = c.target;
    const target: Target = t.kind === 'update' || t.kind === 'query' ? { ...t, body: blk(t.body) } : t;
    return { target, onReply: blk(c.onReply), onReject: blk(c.onReject), ...(c.onCleanup ? { onCleanup: blk(c.onCleanup) } : {}) };
  };
  return raw.map((r) => ({ canister: r.canister, block: blk(r.block) }));
};

/** 1 to `maxRoots` ingress messages, each a random call tree over canisters 0 … n-1. */
export const rootsArb = (shape: TreeShape, maxRoots = 2): fc.Arbitrary<Root[]> =>
  fc
    .array(fc.record({ canister: fc.nat({ max: shape.n - 1 }), block: blockArb(shape, shape.depth, false, 1) }), { minLength: 1, maxLength: maxRoots })
    .map(numberRoots);

/**
 * A root on canister `from` that calls canister `to`'s update method k times (2–5), with
 * random other calls between them, whose bodies are random trees: the fan-out for
 * [EXE-ORDER.1].
 */
export const fanOutArb = (shape: TreeShape): fc.Arbitrary<Root[]> =>
  fc
    .record({
      from: fc.nat({ max: shape.n - 1 }),
      to: fc.nat({ max: shape.n - 1 }),
      same: fc.array(fc.record({ body: blockArb(shape, 1, false), onReply: blockArb(shape, 0, true), onReject: blockArb(shape, 0, true) }), { minLength: 2, maxLength: 5 }),
      others: fc.array(fc.option(callArb(shape, 1), { nil: undefined, freq: 2 }), { minLength: 5, maxLength: 5 }),
      end: endArb({ reply: 3, none: 2 }),
      extra: fc.array(fc.record({ canister: fc.nat({ max: shape.n - 1 }), block: blockArb(shape, 1, false) }), { maxLength: 1 }),
    })
    .map(({ from, to, same, others, end, extra }) => {
      const calls: RawCall[] = [];
      same.forEach((c, i) => {
        const o = others[i];
        if (o !== undefined) calls.push(o);
        // the same-callee bodies always append to the heap, so the callee's log shows them
        calls.push({ target: { kind: 'update', canister: to, body: { ...c.body, heap: true } }, onReply: c.onReply, onReject: c.onReject });
      });
      const root: RawBlock = { heap: true, stable: false, appendAt: 0, calls, end };
      return numberRoots([{ canister: from, block: root }, ...extra]);
    });

// ---------------------------------------------------------------------------------------
// Compilation

const appendMarker = (p: Prog, b: Block): Prog => {
  let q = p;
  if (b.heap) q = q.pushBytes(marker(b.id)).appendGlobal();
  if (b.stable) q = q.getStableGlobal().pushBytes(marker(b.id)).concat().setStableGlobal();
  return q;
};

/** The program of a block; `ids` are the canisters' principals by index. */
export const compileBlock = (b: Block, ids: readonly Principal[]): Prog => {
  let p = prog();
  b.calls.forEach((c, i) => {
    if (b.appendAt === i) p = appendMarker(p, b);
    p = p.then(compileCall(c, ids)).drop();
  });
  if (b.appendAt >= b.calls.length) p = appendMarker(p, b);
  switch (b.end) {
    case 'reply':
      return p.replyData(replyText(b.id));
    case 'reject':
      return p.rejectWith(rejectText(b.id));
    case 'trap':
      return p.unreachable();
    case 'ic0trap':
      return p.pushBytes(trapText(b.id)).trap();
    case 'replyTrap':
      return p.replyData(replyText(b.id)).unreachable();
    case 'none':
      return p;
  }
};

export const callDest = (c: Call, ids: readonly Principal[]): { callee: Principal; method: string; arg: Uint8Array } => {
  const t = c.target;
  switch (t.kind) {
    case 'update':
      return { callee: ids[t.canister]!, method: 'update', arg: compileBlock(t.body, ids).build() };
    case 'query':
      return { callee: ids[t.canister]!, method: 'query', arg: compileBlock(t.body, ids).build() };
    case 'missingCanister':
      return { callee: MISSING_CANISTER, method: 'update', arg: new Uint8Array() };
    case 'missingMethod':
      return { callee: ids[t.canister]!, method: 'nope', arg: new Uint8Array() };
    case 'rawRand':
      return { callee: MANAGEMENT_CANISTER, method: 'raw_rand', arg: CANDID_EMPTY };
  }
};

export const compileCall = (c: Call, ids: readonly Principal[]): Prog => {
  const d = callDest(c, ids);
  return prog().callSimple({
    callee: d.callee.bytes,
    method: d.method,
    arg: d.arg,
    onReply: compileBlock(c.onReply, ids),
    onReject: compileBlock(c.onReject, ids),
    ...(c.onCleanup ? { onCleanup: compileBlock(c.onCleanup, ids) } : {}),
  });
};

/** Every block of the roots, depth first. */
export const allBlocks = (roots: readonly Root[]): Block[] => {
  const out: Block[] = [];
  const blk = (b: Block): void => {
    out.push(b);
    for (const c of b.calls) {
      if (c.target.kind === 'update' || c.target.kind === 'query') blk(c.target.body);
      blk(c.onReply);
      blk(c.onReject);
      if (c.onCleanup) blk(c.onCleanup);
    }
  };
  for (const r of roots) blk(r.block);
  return out;
};

/** A random schedule: the k-th step runs the (choice[k] mod #enabled)-th enabled message (0 when the choices run out). */
export const scheduleArb: fc.Arbitrary<number[]> = fc.array(fc.nat({ max: 1 << 20 }), { maxLength: 150 });
