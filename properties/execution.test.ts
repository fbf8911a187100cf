/**
 * The execution machine with real canisters: Motoko (moc.js) and hand-written WAT (wabt),
 * the universal canister for arbitrary System API sequences.
 */
import { IDL } from '@dfinity/candid';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { ANONYMOUS, MANAGEMENT_CANISTER, type Principal } from '../src/core/principal.js';
import { decodeArg, METHODS, toDfinity } from '../src/execution/candid.js';
import { APPLICATION_SUBNET } from '../src/execution/config.js';
import { errorCodeText, ErrorCode, rejectCodeOf, type ErrorCodeName } from '../src/execution/errors.js';
import { advanceTime, executable, executeMessage, submitIngress } from '../src/execution/rules.js';
import type { ExecState } from '../src/execution/state.js';
import { unaccounted } from '../src/execution/cycles.js';
import { loadCanister } from '../src/toolchain/compile.js';
import { prog, type Prog } from '../src/toolchain/universal.js';
import {
  CANDID_EMPTY,
  candidNat,
  create,
  decodeNat,
  decodeReply,
  ingress,
  install,
  mgmt,
  q,
  SECOND,
  settle,
  statusOf,
  subnet,
  userPrincipal,
  withCanister,
} from './exec-harness.js';

let UNI: Uint8Array;
beforeAll(async () => {
  UNI = (await loadCanister('universal')).wasm;
});

/** A subnet with the universal canister installed (controller: anonymous). */
const uni = (): { state: ExecState; id: Principal } => {
  const c = create(subnet());
  const d = install(c.state, c.id, UNI);
  expect(statusOf(d.status)).toBe('reply:4449444c0000');
  return { state: d.state, id: c.id };
};
const upd = (s: ExecState, id: Principal, p: Prog, sender?: Principal) => ingress(s, id, 'update', p.build(), sender);
const qry = (s: ExecState, id: Principal, p: Prog) => q(s, id, 'query', p.build());
const hex = (s: string): string => Buffer.from(s).toString('hex');

describe('Motoko canisters', () => {
  it('[EXE-EXEC-CALL.1] [EXE-VERSION.1] the counter: updates persist, queries read them, the version counts successful updates', async () => {
    const { state, id } = await withCanister('counter');
    let s = state;
    for (let i = 0; i < 3; i++) {
      const d = ingress(s, id, 'inc', CANDID_EMPTY);
      expect(statusOf(d.status)).toBe('reply:4449444c0000');
      s = d.state;
    }
    const r = q(s, id, 'get', CANDID_EMPTY);
    expect(r.kind).toBe('reply');
    if (r.kind === 'reply') expect(decodeNat(r.data)).toBe(3n);
    // install made version 1; three updates make 4
    expect(s.canisters.get(id.text)!.version).toBe(4n);
  });

  it('[EXE-TRAP-ROLLBACK.1] [EXE-TRAP-ERROR.1] a canister that changes its state and then traps keeps nothing of it', async () => {
    const { state, id } = await withCanister('trapper');
    const a = ingress(state, id, 'set', candidNat(7));
    const b = ingress(a.state, id, 'setThenTrap', candidNat(5));
    expect(b.status.status).toBe('rejected');
    if (b.status.status === 'rejected') {
      expect(b.status.errorCode).toBe('IC0503');
      expect(b.status.message).toBe(
        `Error from Canister ${id.text}: Canister called \`ic0.trap\` with message: 'trapper: deliberate trap'.\nConsider gracefully handling failures from this canister or altering the canister to handle exceptions. See documentation: https://internetcomputer.org/docs/current/references/execution-errors#trapped-explicitly`,
      );
    }
    const r = q(b.state, id, 'get', CANDID_EMPTY);
    expect(r.kind === 'reply' && decodeNat(r.data)).toBe(7n);
    // the trap left the Wasm state untouched, and the version too
    expect(b.state.canisters.get(id.text)!.wasm).toBe(a.state.canisters.get(id.text)!.wasm);
    expect(b.state.canisters.get(id.text)!.version).toBe(a.state.canisters.get(id.text)!.version);
  });

  it('[EXE-EXEC-RESPONSE.1] [EXE-CALL-BUILD.1] [EXE-ORDER.1] two actors: the caller\'s state changes between its await points are visible to the callee', async () => {
    const ping = (await loadCanister('ping')).wasm;
    const pong = (await loadCanister('pong')).wasm;
    const a = create(subnet());
    const b = create(a.state);
    let s = install(b.state, a.id, ping).state;
    s = install(s, b.id, pong).state;
    const d = ingress(s, a.id, 'run', new Uint8Array(IDL.encode([IDL.Principal], [toDfinity(b.id)])));
    expect(d.status.status).toBe('replied');
    if (d.status.status === 'replied') {
      const [seen, n] = IDL.decode([IDL.Nat, IDL.Nat], d.status.reply) as unknown as [bigint, bigint];
      expect(seen).toBe(1n); // pong's callback to peek() ran while run() waited at its await
      expect(n).toBe(2n);
    }
    const calls = q(d.state, b.id, 'calls', CANDID_EMPTY);
    expect(calls.kind === 'reply' && decodeNat(calls.data)).toBe(1n);
    // every call context was answered and removed
    expect(d.state.contexts.size).toBe(0);
    expect(d.state.callbacks.size).toBe(0);
  });

  it('[EXE-UPGRADE.1] [EXE-UPGRADE-EOP.1] [EXE-STABLE.1] upgrades keep stable variables (enhanced orthogonal persistence, keep) and reset transient ones', async () => {
    const { state, id, wasm } = await withCanister('stable');
    const a = ingress(state, id, 'add', candidNat(5));
    // an EOP canister cannot be upgraded without wasm_memory_persistence
    const bad = install(a.state, id, wasm, undefined, 'upgrade');
    expect(bad.status.status === 'rejected' && bad.status.errorCode).toBe('IC0504');
    expect(bad.state.canisters.get(id.text)!.wasm).toBe(a.state.canisters.get(id.text)!.wasm);
    const up = install(a.state, id, wasm, undefined, 'upgrade-keep');
    expect(statusOf(up.status)).toBe('reply:4449444c0000');
    const r = q(up.state, id, 'read', CANDID_EMPTY);
    expect(r.kind).toBe('reply');
    if (r.kind === 'reply') expect(IDL.decode([IDL.Nat, IDL.Nat, IDL.Nat, IDL.Nat], r.data)).toEqual([5n, 0n, 1n, 1n]);
  });

  it('[EXE-TIMER.1] timers: a Motoko timer fires after time passes, in a system task', async () => {
    const { state, id } = await withCanister('timer');
    const d = ingress(state, id, 'once', candidNat(3));
    expect(d.status.status).toBe('replied');
    const timer = d.state.canisters.get(id.text)!.globalTimer;
    expect(timer).toBeGreaterThan(d.state.time);
    const before = q(d.state, id, 'ticks', CANDID_EMPTY);
    expect(before.kind === 'reply' && decodeNat(before.data)).toBe(0n);
    let s = d.state;
    for (let i = 0; i < 6; i++) s = settle({ ...s, time: s.time + SECOND }, 1);
    const after = q(s, id, 'ticks', CANDID_EMPTY);
    expect(after.kind === 'reply' && decodeNat(after.data)).toBe(1n);
  });
});

describe('the universal canister', () => {
  it('[EXE-QUERY.1] a query keeps nothing: what it writes is gone; an update keeps it', () => {
    const { state, id } = uni();
    const w = qry(state, id, prog().setGlobalTo('from-query').getGlobal().replyBlob());
    expect(w.kind === 'reply' && Buffer.from(w.data).toString()).toBe('from-query');
    const r = qry(state, id, prog().getGlobal().replyBlob());
    expect(r.kind === 'reply' && r.data.length).toBe(0);
    const u = upd(state, id, prog().setGlobalTo('from-update').replyData(''));
    const r2 = qry(u.state, id, prog().getGlobal().replyBlob());
    expect(r2.kind === 'reply' && Buffer.from(r2.data).toString()).toBe('from-update');
  });

  it('[EXE-STARVED.1] a call context is answered exactly once: no reply is "did not reply", a second reply traps', () => {
    const { state, id } = uni();
    const none = upd(state, id, prog().nop());
    expect(none.status.status === 'rejected' && [none.status.errorCode, none.status.message]).toEqual(['IC0506', `Canister ${id.text} did not reply to the call`]);
    const twice = upd(state, id, prog().replyData('a').replyData('b'));
    expect(twice.status.status === 'rejected' && twice.status.errorCode).toBe('IC0504');
    expect(twice.status.status === 'rejected' && twice.status.message).toContain('ic0.msg_reply_data_append: the call is already replied.');
    const rej = upd(state, id, prog().rejectWith('no thanks'));
    expect(rej.status.status === 'rejected' && [rej.status.code, rej.status.errorCode, rej.status.message]).toEqual([4, '', 'no thanks']);
  });

  it('[EXE-SYSAPI-AVAILABILITY.1] a System API function outside its contexts traps with the replica\'s text', () => {
    const { state, id } = uni();
    const r = qry(state, id, prog().callSimple({ callee: id.bytes, method: 'update' }).drop().replyData(''));
    expect(r.kind === 'reject' && r.errorCode).toBe('IC0504');
    expect(r.kind === 'reject' && r.message).toContain('Canister violated contract: "ic0_call_new" cannot be executed in non replicated query mode.');
    const ok = qry(state, id, prog().inReplicatedExecution().i32ToBlob().replyBlob());
    expect(ok.kind === 'reply' && toHex(ok.data)).toBe('00000000');
  });

  it('[EXE-STABLE.1] stable memory: grow, write, read, and out-of-bounds access traps', () => {
    const { state, id } = uni();
    const a = upd(state, id, prog().pushI64(1).stable64Grow().i64ToBlob().replyBlob());
    expect(statusOf(a.status)).toBe('reply:0000000000000000');
    const b = upd(a.state, id, prog().pushI64(100).pushBytes('hello').stable64Write().pushI64(100).pushI64(5).stable64Read().replyBlob());
    expect(statusOf(b.status)).toBe(`reply:${hex('hello')}`);
    const c = upd(b.state, id, prog().pushI64(65534).pushI64(4).stable64Read().replyBlob());
    expect(c.status.status === 'rejected' && c.status.message).toContain('Canister trapped: stable memory out of bounds.');
    const d = upd(b.state, id, prog().stable64Size().i64ToBlob().replyBlob());
    expect(statusOf(d.status)).toBe('reply:0100000000000000');
  });

  it('[EXE-DTS.1] an infinite loop ends with the instruction limit error and never hangs', () => {
    const { state, id } = uni();
    const r = upd(state, id, prog().spin());
    expect(r.status.status === 'rejected' && r.status.errorCode).toBe('IC0522');
    expect(r.status.status === 'rejected' && r.status.message).toContain(`Canister exceeded the limit of ${state.config.limits.update} instructions for single message execution..`);
    const slices = r.events.find((e) => e.report.trapped !== undefined)?.report.slices ?? 0;
    expect(slices).toBe(Number(state.config.limits.update / state.config.limits.updateSlice));
    const qr = qry(state, id, prog().spin());
    expect(qr.kind === 'reject' && qr.errorCode).toBe('IC0522');
  });

  it('[EXE-PERF-COUNTER.1] the performance counter grows within a message and counts the call context', () => {
    const { state, id } = uni();
    // the second reading minus the first: push the second reading, then the first (i64_sub is a − b)
    const r = upd(state, id, prog().pushI32(0).performanceCounter().pushI32(0).performanceCounter().swap().i64Sub().i64ToBlob().replyBlob());
    expect(r.status.status).toBe('replied');
    if (r.status.status === 'replied') {
      const delta = Buffer.from(r.status.reply).readBigUInt64LE(0);
      // at least the 200-instruction charge of the second call; far below the limit
      expect(delta).toBeGreaterThanOrEqual(200n);
      expect(delta).toBeLessThan(100_000n);
    }
    const bad = upd(state, id, prog().pushI32(7).performanceCounter().drop().replyData(''));
    expect(bad.status.status === 'rejected' && bad.status.errorCode).toBe('IC0504');
  });

  it('[EXE-CLEANUP.1] [EXE-EXEC-RESPONSE.1] a trapping callback runs the cleanup callback, whose changes are kept', () => {
    const { state, id } = uni();
    const p = prog()
      .callSimple({ callee: id.bytes, method: 'update', arg: prog().replyData('pong').build(), onReply: prog().setGlobalTo('in-reply').unreachable(), onCleanup: prog().setGlobalTo('cleaned') })
      .drop()
      .setGlobalTo('before-await');
    const d = upd(state, id, p);
    // the reply callback trapped, so the caller's context is answered with that trap
    expect(d.status.status === 'rejected' && d.status.errorCode).toBe('IC0502');
    const g = qry(d.state, id, prog().getGlobal().replyBlob());
    expect(g.kind === 'reply' && Buffer.from(g.data).toString()).toBe('cleaned');
  });

  it('[EXE-CALL-ADMISSION.1] [EXE-ERRORS.1] calls to missing canisters and methods are refused with the replica\'s codes, and reach a calling canister as IC0xxx texts', () => {
    const { state, id } = uni();
    const missing = userPrincipal(9);
    const r = ingress(state, missing, 'm', new Uint8Array());
    expect(r.status.status === 'rejected' && [r.status.code, r.status.errorCode]).toEqual([3, 'IC0301']);
    const m = ingress(state, id, 'nope', new Uint8Array());
    expect(m.status.status === 'rejected' && [m.status.code, m.status.errorCode]).toEqual([5, 'IC0536']);
    // from a canister: the reject callback sees the code and "IC0536: Error from Canister …"
    const p = prog().callSimple({ callee: id.bytes, method: 'nope', onReject: prog().msgRejectCode().i32ToBlob().rejectMsg().concat().replyBlob() }).drop();
    const c = upd(state, id, p);
    expect(c.status.status).toBe('replied');
    if (c.status.status === 'replied') {
      expect(c.status.reply[0]).toBe(5);
      expect(Buffer.from(c.status.reply.subarray(4)).toString()).toMatch(/^IC0536: Error from Canister .*: Canister has no update method 'nope'\.\./);
    }
  });

  it('[EXE-MEM-LIMIT.1] growing the Wasm memory above wasm_memory_limit traps in an update', () => {
    const { state, id } = uni();
    const set = mgmt(state, 'update_settings', { canister_id: toDfinity(id), settings: settings({ wasm_memory_limit: [4n * 65536n] }), sender_canister_version: [] });
    expect(set.status.status).toBe('replied');
    const g = upd(set.state, id, prog().pushI32(100).memoryGrow().i32ToBlob().replyBlob());
    expect(g.status.status === 'rejected' && g.status.errorCode).toBe('IC0539');
    // nothing of the grow remains
    expect(g.state.canisters.get(id.text)!.wasm!.heap.wasmPages).toBe(set.state.canisters.get(id.text)!.wasm!.heap.wasmPages);
    const after = upd(g.state, id, prog().memorySize().i32ToBlob().replyBlob());
    expect(after.status.status).toBe('replied');
  });

  it('[EXE-RAW-RAND.1] raw_rand answers 32 bytes, different each time', () => {
    const { state, id } = uni();
    const call = prog().callSimple({ callee: MANAGEMENT_CANISTER.bytes, method: 'raw_rand', arg: CANDID_EMPTY }).drop();
    const a = upd(state, id, call);
    const b = upd(a.state, id, call);
    const decode = (st: typeof a.status) => (st.status === 'replied' ? (IDL.decode([IDL.Vec(IDL.Nat8)], st.reply)[0] as unknown as Uint8Array) : undefined);
    expect(decode(a.status)?.length).toBe(32);
    expect(toHex(decode(a.status)!)).not.toBe(toHex(decode(b.status)!));
  });

  it('[EXE-TIMER.1] [EXE-HEARTBEAT.1] the global timer runs once when due and is then unset', () => {
    const { state, id } = uni();
    const at = state.time + 5n * SECOND;
    const d = upd(state, id, prog().pushProg(prog().pushBytes('tick').appendGlobal()).setGlobalTimer().pushI64(at).globalTimerSet().drop().replyData(''));
    expect(d.status.status).toBe('replied');
    expect(d.state.canisters.get(id.text)!.globalTimer).toBe(at);
    let s = d.state;
    for (let i = 0; i < 8; i++) s = settle({ ...s, time: s.time + SECOND }, 1);
    const g = qry(s, id, prog().getGlobal().replyBlob());
    expect(g.kind === 'reply' && Buffer.from(g.data).toString()).toBe('tick');
    expect(s.canisters.get(id.text)!.globalTimer).toBe(0n);
  });
});

const settings = (o: Record<string, unknown>) => ({
  controllers: [],
  compute_allocation: [],
  memory_allocation: [],
  freezing_threshold: [],
  reserved_cycles_limit: [],
  log_visibility: [],
  wasm_memory_limit: [],
  wasm_memory_threshold: [],
  environment_variables: [],
  ...o,
});

describe('the management canister', () => {
  it('[EXE-MGMT.1] a large argument is decoded once per message: the same value each time, and decoded afresh for another method or other bytes', () => {
    const wasm = new Uint8Array(10_000).map((_, k) => k & 0xff);
    const arg = new Uint8Array(IDL.encode([METHODS.install_code.arg!], [{ mode: { install: null }, canister_id: toDfinity(ANONYMOUS), wasm_module: wasm, arg: new Uint8Array(), sender_canister_version: [] }]));
    const a = decodeArg('install_code', arg);
    expect(decodeArg('install_code', arg)).toBe(a);
    expect((a as { ok: { wasm_module: Uint8Array } }).ok.wasm_module).toEqual(wasm);
    const copy = decodeArg('install_code', arg.slice());
    expect(copy).not.toBe(a);
    expect(copy).toEqual(a);
    // the same bytes read as another method's argument: that method's own decoding
    const status = decodeArg('canister_status', arg) as { ok: Record<string, unknown> };
    expect(Object.keys(status.ok)).toEqual(['canister_id']);
    expect(decodeArg('install_code', arg)).not.toBe(a);
  });

  it('[EXE-CREATE.1] canisters get consecutive ids from the subnet range, starting at rwlgt-iiaaa-aaaaa-aaaaa-cai', () => {
    let s = subnet();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = create(s);
      s = c.state;
      ids.push(c.id.text);
    }
    expect(ids).toEqual(['rwlgt-iiaaa-aaaaa-aaaaa-cai', 'rrkah-fqaaa-aaaaa-aaaaq-cai', 'ryjl3-tyaaa-aaaaa-aaaba-cai']);
    expect(s.canisters.get(ids[0]!)!.controllers.map((p) => p.text)).toEqual([ANONYMOUS.text]);
  });

  it('[EXE-INSTALL.1] install: non-empty canisters, invalid modules and trapping init are refused and change nothing', async () => {
    const { state, id, wasm } = await withCanister('counter');
    const again = install(state, id, wasm);
    expect(again.status.status === 'rejected' && again.status.errorCode).toBe('IC0514');
    const bad = install(state, id, new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), undefined, 'reinstall');
    expect(bad.status.status === 'rejected' && bad.status.errorCode).toBe('IC0505');
    expect(bad.state.canisters.get(id.text)!.wasm).toBe(state.canisters.get(id.text)!.wasm);
    const c = create(state);
    const trapInit = install(c.state, c.id, UNI, prog().unreachable().build());
    expect(trapInit.status.status === 'rejected' && trapInit.status.errorCode).toBe('IC0502');
    expect(trapInit.state.canisters.get(c.id.text)!.wasm).toBeUndefined();
  });

  it('[EXE-MGMT.1] unknown methods and undecodable arguments are refused', () => {
    const s = subnet();
    const u = ingress(s, MANAGEMENT_CANISTER, 'frobnicate', CANDID_EMPTY);
    expect(u.status.status === 'rejected' && [u.status.errorCode, u.status.message]).toEqual(['IC0536', "Management canister has no method 'frobnicate'"]);
    const b = ingress(s, MANAGEMENT_CANISTER, 'canister_status', new Uint8Array([1, 2, 3]));
    expect(b.status.status === 'rejected' && b.status.errorCode).toBe('IC0408');
  });

  it('[EXE-MGMT-CONTROLLER.1] [CYC-INGRESS.1] a non-controller changes no canister: every controller-only method refuses it', () => {
    const { state, id } = uni();
    const stranger = userPrincipal(1);
    const cid = toDfinity(id);
    const calls: Array<[Parameters<typeof mgmt>[1], unknown]> = [
      ['update_settings', { canister_id: cid, settings: settings({ freezing_threshold: [1n] }), sender_canister_version: [] }],
      ['install_code', { mode: { reinstall: null }, canister_id: cid, wasm_module: UNI, arg: new Uint8Array(), sender_canister_version: [] }],
      ['uninstall_code', { canister_id: cid, sender_canister_version: [] }],
      ['stop_canister', { canister_id: cid }],
      ['start_canister', { canister_id: cid }],
      ['delete_canister', { canister_id: cid }],
      ['canister_status', { canister_id: cid }],
      ['take_canister_snapshot', { canister_id: cid, replace_snapshot: [], uninstall_code: [], sender_canister_version: [] }],
      ['list_canister_snapshots', { canister_id: cid }],
      ['upload_chunk', { canister_id: cid, chunk: new Uint8Array([1]) }],
      ['clear_chunk_store', { canister_id: cid }],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...calls), ([method, arg]) => {
        const d = mgmt(state, method, arg, stranger);
        expect(d.status.status === 'rejected' && d.status.errorCode).toBe('IC0512');
        // (the universal canister's heartbeat runs every round and changes its version and memory;
        // what a controller could change is compared)
        const [a, b] = [d.state.canisters.get(id.text)!, state.canisters.get(id.text)!];
        // [CYC-INGRESS.1] the canister named pays the message's induction, whoever sent it, and its
        // heartbeats run; its balance moves by exactly what it consumed
        const total = (x: typeof a): bigint => Object.values(x.consumed).reduce((m: bigint, v) => m + (v ?? 0n), 0n);
        const fee = total(a) - total(b);
        expect([a.controllers, a.settings, a.status, a.wasm?.module, a.snapshots, a.chunks, a.cycles + fee]).toEqual([b.controllers, b.settings, b.status, b.wasm?.module, b.snapshots, b.chunks, b.cycles]);
      }),
      { numRuns: 30 },
    );
  });

  it('[EXE-STOP.1] [EXE-START.1] [EXE-DELETE.1] [EXE-CALL-ADMISSION.1] stop, start, delete', () => {
    const { state, id } = uni();
    const del = mgmt(state, 'delete_canister', { canister_id: toDfinity(id) });
    expect(del.status.status === 'rejected' && del.status.errorCode).toBe('IC0510');
    const stop = mgmt(state, 'stop_canister', { canister_id: toDfinity(id) });
    expect(statusOf(stop.status)).toBe('reply:4449444c0000');
    expect(stop.state.canisters.get(id.text)!.status).toBe('stopped');
    const call = upd(stop.state, id, prog().replyData(''));
    expect(call.status.status === 'rejected' && call.status.errorCode).toBe('IC0508');
    const start = mgmt(stop.state, 'start_canister', { canister_id: toDfinity(id) });
    expect(upd(start.state, id, prog().replyData('up')).status.status).toBe('replied');
    const d2 = mgmt(stop.state, 'delete_canister', { canister_id: toDfinity(id) });
    expect(d2.status.status).toBe('replied');
    expect(d2.state.canisters.get(id.text)).toBeUndefined();
    // the id is not given again
    expect(create(d2.state).id.text).not.toBe(id.text);
  });

  it('[EXE-VERSION.1] [EXE-HISTORY.1] canister_status and canister_info report the version and the history', () => {
    const { state, id } = uni();
    const sd = mgmt(state, 'canister_status', { canister_id: toDfinity(id) });
    const st = decodeReply('canister_status', sd.status) as { version: bigint; module_hash: Uint8Array[] };
    // the universal canister's heartbeat succeeds every round, and each success counts
    expect(st.version).toBe(sd.state.canisters.get(id.text)!.version);
    expect(st.version).toBeGreaterThan(state.canisters.get(id.text)!.version);
    expect(st.module_hash.length).toBe(1);
    // canister_info is for canisters: call it from the canister itself
    const info = upd(state, id, prog().callSimple({ callee: MANAGEMENT_CANISTER.bytes, method: 'canister_info', arg: new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) })], [{ canister_id: toDfinity(id), num_requested_changes: [5n] }])) }).drop());
    const r = decodeReplyBytes(info.status);
    const v = IDL.decode([IDL.Record({ total_num_changes: IDL.Nat64, recent_changes: IDL.Vec(IDL.Reserved), module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)), controllers: IDL.Vec(IDL.Principal) })], r)[0] as unknown as { total_num_changes: bigint };
    expect(v.total_num_changes).toBe(2n); // creation, code deployment
  });

  it('[EXE-CHUNKS.1] chunked installation installs the concatenation of the stored chunks', () => {
    const c = create(subnet());
    let s = c.state;
    const cid = toDfinity(c.id);
    const half = Math.floor(UNI.length / 2);
    const hashes: Uint8Array[] = [];
    for (const part of [UNI.subarray(0, half), UNI.subarray(half)]) {
      const d = mgmt(s, 'upload_chunk', { canister_id: cid, chunk: part });
      hashes.push((decodeReply('upload_chunk', d.status) as { hash: Uint8Array }).hash);
      s = d.state;
    }
    const listed = decodeReply('stored_chunks', mgmt(s, 'stored_chunks', { canister_id: cid }).status) as unknown[];
    expect(listed.length).toBe(2);
    const { sha256 } = require_sha();
    const inst = mgmt(s, 'install_chunked_code', {
      mode: { install: null },
      target_canister: cid,
      store_canister: [],
      chunk_hashes_list: hashes.map((hash) => ({ hash })),
      wasm_module_hash: sha256(UNI),
      arg: new Uint8Array(),
      sender_canister_version: [],
    });
    expect(statusOf(inst.status)).toBe('reply:4449444c0000');
    expect(upd(inst.state, c.id, prog().replyData('ok')).status.status).toBe('replied');
  });

  it('[EXE-UNINSTALL.1] uninstall_code empties the canister', () => {
    const { state, id } = uni();
    const d = mgmt(state, 'uninstall_code', { canister_id: toDfinity(id), sender_canister_version: [] });
    expect(d.status.status).toBe('replied');
    expect(d.state.canisters.get(id.text)!.wasm).toBeUndefined();
    expect(upd(d.state, id, prog().replyData('')).status.status === 'rejected').toBe(true);
  });

  it('[EXE-SNAPSHOT.1] [EXE-SNAPSHOT-FORK.1] snapshots restore a canister, and loading one onto another canister forks it', () => {
    const { state, id } = uni();
    let s = upd(state, id, prog().setGlobalTo('v1').replyData('')).state;
    const take = mgmt(s, 'take_canister_snapshot', { canister_id: toDfinity(id), replace_snapshot: [], uninstall_code: [], sender_canister_version: [] });
    const snap = decodeReply('take_canister_snapshot', take.status) as { id: Uint8Array };
    s = upd(take.state, id, prog().setGlobalTo('v2').replyData('')).state;
    const read = (st: ExecState, c: Principal) => {
      const r = qry(st, c, prog().getGlobal().replyBlob());
      return r.kind === 'reply' ? Buffer.from(r.data).toString() : `reject ${r.kind === 'reject' ? r.errorCode : ''}`;
    };
    expect(read(s, id)).toBe('v2');
    const stopped = mgmt(s, 'stop_canister', { canister_id: toDfinity(id) }).state;
    const load = mgmt(stopped, 'load_canister_snapshot', { canister_id: toDfinity(id), snapshot_id: snap.id, sender_canister_version: [] });
    expect(load.status.status).toBe('replied');
    expect(read(load.state, id)).toBe('reject IC0508'); // still stopped
    expect(read(mgmt(load.state, 'start_canister', { canister_id: toDfinity(id) }).state, id)).toBe('v1');
    // fork: an empty canister controlled by the same caller loads the snapshot
    const other = create(s);
    const fork = mgmt(other.state, 'load_canister_snapshot', { canister_id: toDfinity(other.id), snapshot_id: snap.id, sender_canister_version: [] });
    expect(fork.status.status).toBe('replied');
    expect(read(fork.state, other.id)).toBe('v1');
    expect(read(fork.state, id)).toBe('v2');
    const list = decodeReply('list_canister_snapshots', mgmt(s, 'list_canister_snapshots', { canister_id: toDfinity(id) }).status) as unknown[];
    expect(list.length).toBe(1);
  });
});

const decodeReplyBytes = (st: { status: string; reply?: Uint8Array }): Uint8Array => {
  if (st.status !== 'replied' || st.reply === undefined) throw new Error(`expected a reply: ${JSON.stringify(st)}`);
  return st.reply;
};

import { sha256 as nobleSha } from '@noble/hashes/sha2.js';
const require_sha = () => ({ sha256: nobleSha });

describe('the rules', () => {
  it('[EXE-EXECUTE.1] [EXE-ORDER.1] only queue heads execute: calls between two canisters stay in order; ingress messages may run in any order', () => {
    const { state, id } = uni();
    // two ingress messages: either may go first
    const a = submitIngress(state, { sender: ANONYMOUS, canister: id, method: 'update', arg: prog().appendGlobal().replyData('').build(), nonce: new Uint8Array([1]) });
    expect(E.isRight(a)).toBe(true);
    const s1 = E.isRight(a) ? a.right.state : state;
    const b = submitIngress(s1, { sender: ANONYMOUS, canister: id, method: 'update', arg: prog().replyData('').build(), nonce: new Uint8Array([2]) });
    const s2 = E.isRight(b) ? b.right.state : s1;
    const heads = executable(s2);
    expect(heads.length).toBe(2);
    expect(E.isRight(executeMessage(s2, { message: heads[1]! }))).toBe(true);
    // a message that is not the head of its queue is not enabled
    const r = executeMessage(s2, { message: 999_999 });
    expect(E.isLeft(r) && r.left.kind).toBe('NotEnabled');
    // a canister making 5 calls to another: the callee sees them in order
    const other = create(s2);
    const s3 = install(other.state, other.id, UNI).state;
    let p = prog();
    for (let i = 0; i < 5; i++) p = p.callSimple({ callee: other.id.bytes, method: 'update', arg: prog().pushBytes(String(i)).appendGlobal().replyData('').build(), onReply: prog() }).drop();
    const d = upd(s3, id, p.replyData(''));
    const after = settle(d.state);
    const g = qry(after, other.id, prog().getGlobal().replyBlob());
    expect(g.kind === 'reply' && Buffer.from(g.data).toString()).toBe('01234');
  });

  it('[EXE-TIME.1] time never goes backwards', () => {
    const s = subnet();
    expect(E.isLeft(advanceTime(s, { now: s.time - 1n }))).toBe(true);
    expect(E.isRight(advanceTime(s, { now: s.time + 1n }))).toBe(true);
  });

  it('[EXE-INGRESS-SUBMIT.1] an ingress message id is accepted once', () => {
    const s = subnet();
    const a = submitIngress(s, { sender: ANONYMOUS, canister: MANAGEMENT_CANISTER, method: 'raw_rand', arg: CANDID_EMPTY, messageId: 'ab' });
    expect(E.isRight(a)).toBe(true);
    if (E.isRight(a)) {
      expect(a.right.state.ingress.get('ab')!.status).toBe('received');
      expect(E.isLeft(submitIngress(a.right.state, { sender: ANONYMOUS, canister: MANAGEMENT_CANISTER, method: 'raw_rand', arg: CANDID_EMPTY, messageId: 'ab' }))).toBe(true);
    }
  });

  it('[EXE-ERRORS.1] every error code\'s hundreds digit is its reject code, and codes print as IC and four digits', () => {
    for (const name of Object.keys(ErrorCode) as ErrorCodeName[]) {
      expect(rejectCodeOf(name)).toBe(Math.floor(ErrorCode[name] / 100));
      expect(errorCodeText(name)).toMatch(/^IC0\d{3}$/);
    }
  });

  it('[EXE-STATE.1] [EXE-MEM-PAGES.1] old states still read as before a step, and the same inputs give the same state', () => {
    const { state, id } = uni();
    const progs = [prog().setGlobalTo('x'.repeat(5000)).replyData(''), prog().pushI32(2).memoryGrow().drop().replyData(''), prog().pushI64(1).stable64Grow().drop().pushI64(7).pushBytes('s').stable64Write().replyData('')];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: progs.length - 1 }), { minLength: 1, maxLength: 5 }), (picks) => {
        let s = state;
        const history: Array<{ s: ExecState; heap: string }> = [];
        for (const k of picks) {
          history.push({ s, heap: toHex(s.canisters.get(id.text)!.wasm!.heap.toBytes()) });
          s = upd(s, id, progs[k]!).state;
        }
        // every earlier state still has exactly the memory it had
        for (const h of history) expect(toHex(h.s.canisters.get(id.text)!.wasm!.heap.toBytes())).toBe(h.heap);
        // replaying the same inputs from the start gives the same memory
        let t = state;
        for (const k of picks) t = upd(t, id, progs[k]!).state;
        expect(toHex(t.canisters.get(id.text)!.wasm!.heap.toBytes())).toBe(toHex(s.canisters.get(id.text)!.wasm!.heap.toBytes()));
        // and an old state executes as it would have the first time
        const first = history[0]!.s;
        const again = upd(first, id, prog().getGlobal().replyBlob());
        expect(statusOf(again.status)).toBe('reply:');
      }),
      { numRuns: 15 },
    );
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrun } from '../src/drun/run.js';

describe('drun', () => {
  it('[EXE-DRUN-RUN.1] [EXE-DRUN-SYNTAX.1] the Motoko counter: install, three updates and a query print what DFINITY\'s drun prints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icspec-drun-'));
    writeFileSync(join(dir, 'counter.wasm'), (await loadCanister('counter')).wasm);
    const script = [
      '# the counter',
      'create',
      'install rwlgt-iiaaa-aaaaa-aaaaa-cai counter.wasm 0x',
      'ingress rwlgt-iiaaa-aaaaa-aaaaa-cai inc "DIDL\\x00\\x00"',
      'ingress rwlgt-iiaaa-aaaaa-aaaaa-cai inc 0x4449444C0000',
      'ingress rwlgt-iiaaa-aaaaa-aaaaa-cai bump "DIDL\\x00\\x00"',
      'query rwlgt-iiaaa-aaaaa-aaaaa-cai get "DIDL\\x00\\x00"',
      'ingress rwlgt-iiaaa-aaaaa-aaaaa-cai nope "DIDL\\x00\\x00"',
    ].join('\n');
    const out: string[] = [];
    const err: string[] = [];
    const r = runDrun(script, { baseDir: dir, out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(err).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(out.join('\n')).toBe(
      [
        'ingress Completed: Reply: 0x4449444c016c01b3c4b1f204680100010a00000000000000000101',
        'ingress Completed: Reply: 0x4449444c0000',
        'ingress Completed: Reply: 0x4449444c0000',
        'ingress Completed: Reply: 0x4449444c0000',
        'ingress Completed: Reply: 0x4449444c00017d03',
        'Ok: Reply: 0x4449444c00017d03',
        "ingress Err: IC0536: Error from Canister rwlgt-iiaaa-aaaaa-aaaaa-cai: Canister has no update method 'nope'..",
        'Check that the method being called is exported by the target canister. See documentation: https://internetcomputer.org/docs/current/references/execution-errors#method-not-found',
      ].join('\n'),
    );
    // the canister was created as the runners do: 10^15 cycles, controlled by anonymous and itself
    const c = r.state.canisters.get('rwlgt-iiaaa-aaaaa-aaaaa-cai')!;
    expect(c.controllers.map((p) => p.text)).toEqual([ANONYMOUS.text, 'rwlgt-iiaaa-aaaaa-aaaaa-cai']);
    expect(c.cycles).toBe(1_000_000_000_000_000n);
  });

  it('[EXE-DRUN-RUN.1] debug prints come before the result of the message that printed them; canister rejects are "Completed: Reject"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icspec-drun-'));
    writeFileSync(join(dir, 'u.wasm'), (await loadCanister('universal')).wasm);
    const p = (x: Prog) => `0x${toHex(x.build())}`;
    const script = [
      'create',
      'install rwlgt-iiaaa-aaaaa-aaaaa-cai u.wasm 0x',
      `ingress rwlgt-iiaaa-aaaaa-aaaaa-cai update ${p(prog().pushBytes('hello').debugPrint().replyData('ok'))}`,
      `ingress rwlgt-iiaaa-aaaaa-aaaaa-cai update ${p(prog().rejectWith('no'))}`,
      `query rwlgt-iiaaa-aaaaa-aaaaa-cai query ${p(prog().pushBytes('q').debugPrint().rejectWith('nope'))}`,
    ].join('\n');
    const out: string[] = [];
    runDrun(script, { baseDir: dir, out: (l) => out.push(l), err: () => undefined });
    expect(out.slice(2)).toEqual(['debug.print: hello', `ingress Completed: Reply: 0x${hex('ok')}`, 'ingress Completed: Reject: no', 'debug.print: q', 'Ok: Reject: nope']);
  });
});

import { accountIdHex } from '../src/ledger/account.js';
import { init as ledgerInit } from '../src/ledger/rules.js';
import { ICP_LEDGER_ID } from '../src/execution/ledger-canister.js';
import { withLedgerCanister } from '../src/execution/management.js';

describe('the ICP ledger canister', () => {
  it('[EXE-NATIVE-LEDGER.1] a Motoko canister calls icrc1_transfer on the ledger and gets the ledger\'s exact answers', async () => {
    const client = (await loadCanister('ledger_client')).wasm;
    const c = create(subnet());
    const minter = userPrincipal(200);
    const L = ledgerInit({
      minting_account: { owner: minter },
      transfer_fee: 10_000n,
      transaction_window: 24n * 3600n * 1_000_000_000n,
      permitted_drift: 60n * 1_000_000_000n,
      initial_values: [[accountIdHex(c.id), 100_000_000n]],
      time: c.state.time,
    });
    expect(E.isRight(L)).toBe(true);
    if (E.isLeft(L)) return;
    let s = withLedgerCanister(c.state, ICP_LEDGER_ID, L.right);
    s = install(s, c.id, client).state;
    const Account = IDL.Record({ owner: IDL.Principal, subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)) });
    const Arg = IDL.Record({ from_subaccount: IDL.Opt(IDL.Vec(IDL.Nat8)), to: Account, amount: IDL.Nat, fee: IDL.Opt(IDL.Nat), memo: IDL.Opt(IDL.Vec(IDL.Nat8)), created_at_time: IDL.Opt(IDL.Nat64) });
    const Res = IDL.Variant({ Ok: IDL.Nat, Err: IDL.Variant({ BadFee: IDL.Record({ expected_fee: IDL.Nat }), InsufficientFunds: IDL.Record({ balance: IDL.Nat }) }) });
    const user = userPrincipal(7);
    const transfer = (amount: bigint, fee: bigint[] = []) =>
      new Uint8Array(IDL.encode([Arg], [{ from_subaccount: [], to: { owner: toDfinity(user), subaccount: [] }, amount, fee, memo: [], created_at_time: [] }]));
    const ok = ingress(s, c.id, 'transfer', transfer(1_000_000n));
    expect(ok.status.status).toBe('replied');
    if (ok.status.status === 'replied') expect(IDL.decode([Res], ok.status.reply)[0]).toEqual({ Ok: 1n });
    const badFee = ingress(ok.state, c.id, 'transfer', transfer(5n, [1n]));
    if (badFee.status.status === 'replied') expect(IDL.decode([Res], badFee.status.reply)[0]).toEqual({ Err: { BadFee: { expected_fee: 10_000n } } });
    else expect.fail('expected a reply');
    const poor = ingress(badFee.state, c.id, 'transfer', transfer(1_000_000_000n));
    if (poor.status.status === 'replied') expect(IDL.decode([Res], poor.status.reply)[0]).toEqual({ Err: { InsufficientFunds: { balance: 100_000_000n - 1_000_000n - 10_000n } } });
    else expect.fail('expected a reply');
    // the user's balance, by a query to the ledger and through the client
    const bal = q(poor.state, ICP_LEDGER_ID, 'icrc1_balance_of', new Uint8Array(IDL.encode([Account], [{ owner: toDfinity(user), subaccount: [] }])));
    expect(bal.kind === 'reply' && decodeNat(bal.data)).toBe(1_000_000n);
    const via = ingress(poor.state, c.id, 'balance', new Uint8Array(IDL.encode([Account], [{ owner: toDfinity(user), subaccount: [] }])));
    expect(via.status.status === 'replied' && decodeNat(via.status.reply)).toBe(1_000_000n);
    // an anonymous caller traps in the ledger, as the ICP ledger does
    const anon = q(poor.state, ICP_LEDGER_ID, 'icrc1_fee', CANDID_EMPTY);
    expect(anon.kind === 'reply' && decodeNat(anon.data)).toBe(10_000n);
    const direct = ingress(poor.state, ICP_LEDGER_ID, 'icrc1_transfer', new Uint8Array(IDL.encode([Arg], [{ from_subaccount: [], to: { owner: toDfinity(user), subaccount: [] }, amount: 1n, fee: [], memo: [], created_at_time: [] }])));
    expect(direct.status.status === 'rejected' && direct.status.errorCode).toBe('IC0503');
  });
});

import { compileWat } from '../src/toolchain/compile.js';

describe('metering through the machine', () => {
  it('[EXE-PERF-COUNTER.1] [EXE-METER-SYSAPI.1] performance_counter(0) reads the hand-counted instructions of a small module', async () => {
    // The function body is one straight-line block, charged in full at entry (reentrant point, cost 1):
    //   i32.const 0 (1), i32.const 0 (1), call pc (5), i64.store (1), i32.const 0 (1), i32.const 8 (1),
    //   call append (5), call reply (5), end (0)                                       = 1 + 20 = 21
    // then ic0.performance_counter charges its overhead (200) before reading:            21 + 200 = 221
    const wasm = await compileWat(
      `(module
        (import "ic0" "performance_counter" (func $pc (param i32) (result i64)))
        (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
        (import "ic0" "msg_reply" (func $reply))
        (memory 1)
        (func (export "canister_update count")
          (i64.store (i32.const 0) (call $pc (i32.const 0)))
          (call $append (i32.const 0) (i32.const 8))
          (call $reply)))`,
      'count.wat',
    );
    const c = create(subnet());
    const s = install(c.state, c.id, wasm).state;
    const d = ingress(s, c.id, 'count', new Uint8Array());
    expect(d.status.status).toBe('replied');
    if (d.status.status === 'replied') expect(Buffer.from(d.status.reply).readBigUInt64LE(0)).toBe(221n);
    // the whole message: 221, then msg_reply_data_append (500 + 50 × 8 bytes) and msg_reply (500)
    const exec = d.events.find((e) => e.rule === 'Execute' && e.kind === 'call' && e.report.instructions > 0n);
    expect(exec?.report.instructions).toBe(221n + 500n + 400n + 500n);
  });
});

describe('composite queries', () => {
  it('[EXE-COMPOSITE-QUERY.1] a composite query calls query methods depth-first and keeps nothing; in replicated mode it is refused', () => {
    const a = uni();
    const b = create(a.state);
    let s = install(b.state, b.id, UNI).state;
    s = upd(s, b.id, prog().setGlobalTo('b-state').replyData('')).state;
    // A's composite query asks B's query for its global, writes its own global on the way, and relays B's answer
    const ask = prog().getGlobal().replyBlob();
    const p = prog()
      .setGlobalTo('scribble')
      .callSimple({ callee: b.id.bytes, method: 'query', arg: ask.build(), onReply: prog().getGlobal().msgArgData().concat().replyBlob() })
      .drop();
    const r = q(s, a.id, 'composite_query', p.build());
    // the callback saw A's own write (state persists within the evaluation) and B's reply
    expect(r.kind === 'reply' && Buffer.from(r.data).toString()).toBe('scribbleb-state');
    // nothing was kept
    const g = qry(s, a.id, prog().getGlobal().replyBlob());
    expect(g.kind === 'reply' && g.data.length).toBe(0);
    // a composite query called as an update is refused
    const u = ingress(s, a.id, 'composite_query', p.build());
    expect(u.status.status === 'rejected' && u.status.errorCode).toBe('IC0527');
    // a call to an update method from a composite query is refused (the callee has no query method of that name)
    const bad = q(s, a.id, 'composite_query', prog().callSimple({ callee: b.id.bytes, method: 'update', onReject: prog().msgRejectCode().i32ToBlob().replyBlob() }).drop().build());
    expect(bad.kind === 'reply' && toHex(bad.data)).toBe('05000000');
  });

  it('[EXE-COMPOSITE-QUERY.1] the call graph is bounded in depth and in instructions', () => {
    // the replica's query limit (5 B) leaves room for 8 calls of 50 M overhead each
    const c = create(subnet(APPLICATION_SUBNET));
    const { state, id } = { state: install(c.state, c.id, UNI).state, id: c.id };
    // a composite query that calls itself through the composite_query method of the same canister, forever
    let p = prog().replyData('bottom');
    for (let i = 0; i < 8; i++) p = prog().callSimple({ callee: id.bytes, method: 'composite_query', arg: p.build() }).drop();
    const r = q(state, id, 'composite_query', p.build());
    // the innermost calls are refused as too deep; the reject is relayed up
    expect(r.kind).toBe('reject');
    expect(r.kind === 'reject' && r.message).toContain('IC0525');
    // with the small limit (100 M), the second call's overhead exhausts the graph's instructions
    const small = uni();
    const r2 = q(small.state, small.id, 'composite_query', p.build().slice(0));
    expect(r2.kind === 'reject' && r2.errorCode).toBe('IC0526');
  });

  it('[EXE-EXEC-RESPONSE.1] callbacks run in the caller\'s call context: msg_caller is the context\'s caller', () => {
    const { state, id } = uni();
    const user = userPrincipal(3);
    const p = prog().callSimple({ callee: id.bytes, method: 'update', arg: prog().replyData('').build(), onReply: prog().caller().replyBlob() }).drop();
    const d = upd(state, id, p, user);
    expect(statusOf(d.status)).toBe(`reply:${toHex(user.bytes)}`);
  });
});

import { inspectIngress } from '../src/execution/rules.js';

describe('inspect_message', () => {
  it('[EXE-INSPECT.1] canister_inspect_message accepts or refuses ingress messages, and keeps nothing', () => {
    const { state, id } = uni();
    const check = (s: ExecState, method: string) => {
      const r = inspectIngress(s, { sender: ANONYMOUS, canister: id, method, arg: new Uint8Array() });
      if (E.isRight(r)) {
        expect(r.right.state).toBe(s);
        return 'accepted';
      }
      return r.left.kind === 'Rejected' ? errorCodeText(r.left.error.code) : 'not enabled';
    };
    // until a program is set, the universal canister's inspect_message accepts every message
    expect(check(state, 'update')).toBe('accepted');
    // accept only calls of `update`
    const onlyUpdate = prog().methodName().pushBytes('update').blobEq().pushProg(prog().acceptMessage()).pushProg(prog()).ifElse();
    const s1 = upd(state, id, prog().pushProg(onlyUpdate).setInspectMessage().replyData('')).state;
    expect(check(s1, 'update')).toBe('accepted');
    expect(check(s1, 'other')).toBe('IC0406');
    const s2 = upd(s1, id, prog().pushProg(prog().unreachable()).setInspectMessage().replyData('')).state;
    expect(check(s2, 'update')).toBe('IC0502');
    // a canister without canister_inspect_message accepts everything
    expect(E.isRight(inspectIngress(state, { sender: ANONYMOUS, canister: userPrincipal(5), method: 'x', arg: new Uint8Array() }))).toBe(true);
  });
});

describe('canister logs', () => {
  const fetchLogs = (s: ExecState, id: Principal, sender: Principal = ANONYMOUS) =>
    q(s, MANAGEMENT_CANISTER, 'fetch_canister_logs', new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: toDfinity(id) }])), sender);
  const decodeLogs = (data: Uint8Array): string[] =>
    (IDL.decode([IDL.Record({ canister_log_records: IDL.Vec(IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: IDL.Vec(IDL.Nat8) })) })], data)[0] as unknown as { canister_log_records: { idx: bigint; content: Uint8Array }[] }).canister_log_records.map((r) => `${r.idx}:${Buffer.from(r.content).toString()}`);

  it('[EXE-LOG.1] prints and traps are logged (traps do not roll the log back), and only controllers read a private log', () => {
    const { state, id } = uni();
    let s = upd(state, id, prog().pushBytes('a').debugPrint().pushBytes('b').debugPrint().replyData('')).state;
    s = upd(s, id, prog().pushBytes('c').debugPrint().unreachable()).state;
    s = upd(s, id, prog().pushBytes('oops').trap()).state;
    const r = fetchLogs(s, id);
    expect(r.kind).toBe('reply');
    if (r.kind === 'reply') expect(decodeLogs(r.data)).toEqual(['0:a', '1:b', '2:c', '3:[TRAP]: unreachable', '4:[TRAP]: oops']);
    // queries do not log
    qry(s, id, prog().pushBytes('q').debugPrint().replyData(''));
    const stranger = userPrincipal(4);
    const no = fetchLogs(s, id, stranger);
    expect(no.kind === 'reject' && no.errorCode).toBe('IC0406');
    const pub = mgmt(s, 'update_settings', { canister_id: toDfinity(id), settings: settings({ log_visibility: [{ public: null }] }), sender_canister_version: [] }).state;
    expect(fetchLogs(pub, id, stranger).kind).toBe('reply');
  });

  it('[EXE-LOG.1] the log keeps 4 KiB: the oldest records go, and a long record is cut', () => {
    const { state, id } = uni();
    let s = state;
    for (let i = 0; i < 3; i++) s = upd(s, id, prog().pushBytes(String(i).repeat(1500)).debugPrint().replyData('')).state;
    const r = fetchLogs(s, id);
    if (r.kind !== 'reply') throw new Error('no logs');
    // three records of 1540 bytes do not fit in 4096: the first is gone
    expect(decodeLogs(r.data).map((x) => x.slice(0, 3))).toEqual(['1:1', '2:2']);
    s = upd(s, id, prog().pushBytes('x'.repeat(5000)).debugPrint().replyData('')).state;
    const r2 = fetchLogs(s, id);
    if (r2.kind !== 'reply') throw new Error('no logs');
    const recs = decodeLogs(r2.data);
    expect(recs).toHaveLength(1);
    expect(recs[0]!.length).toBe('3:'.length + 4096 - 40);
  });
});

import { resumeExecution } from '../src/execution/rules.js';

describe('deterministic time slicing', () => {
  it('[EXE-DTS.1] a long execution pauses between slices: its canister runs nothing else until the last slice, other canisters do', () => {
    const { state, id } = uni();
    const other = create(state);
    let s = install(other.state, other.id, UNI).state;
    // about 120 M instructions (the small subnet's slice is 50 M): a loop of cheap iterations
    const long = prog().pushProg(prog().pushI32(1).drop()).pushI32(400_000).loop().replyData('done');
    const sub = submitIngress(s, { sender: ANONYMOUS, canister: id, method: 'update', arg: long.build() });
    if (E.isLeft(sub)) throw new Error('submit');
    s = sub.right.state;
    const msg = executable(s)[0]!;
    const first = executeMessage(s, { message: msg });
    if (E.isLeft(first)) throw new Error('execute');
    expect(first.right.output.paused).toBe(true);
    s = first.right.state;
    expect(s.paused.get(id.text)!.slicesLeft).toBeGreaterThanOrEqual(1);
    const total = s.paused.get(id.text)!.slices;
    // the canister runs nothing else meanwhile
    const sub2 = submitIngress(s, { sender: ANONYMOUS, canister: id, method: 'update', arg: prog().replyData('x').build(), nonce: new Uint8Array([9]) });
    if (E.isLeft(sub2)) throw new Error('submit');
    const blocked = executeMessage(sub2.right.state, { message: executable(sub2.right.state).find((x) => x !== msg)! });
    expect(E.isLeft(blocked) && blocked.left.kind === 'NotEnabled' && blocked.left.req).toBe('EXE-DTS.1');
    // another canister does
    const o = upd(s, other.id, prog().replyData('other'));
    expect(o.status.status).toBe('replied');
    // the remaining slices, one step each; the last completes the message
    let slices = 1;
    for (;;) {
      const r = resumeExecution(s, { canister: id });
      if (E.isLeft(r)) throw new Error('resume');
      s = r.right.state;
      slices++;
      if (r.right.output.paused !== true) break;
    }
    expect(slices).toBe(total);
    const st = [...s.ingress.entries()].map(([, v]) => v);
    expect(st.some((v) => v.status === 'replied' && Buffer.from(v.reply).toString() === 'done')).toBe(true);
    expect(E.isLeft(resumeExecution(s, { canister: id }))).toBe(true);
  });
});

import { certify, query as rawQuery } from '../src/execution/rules.js';

describe('certified state', () => {
  it('[EXE-CERTIFIED-STATE.1] queries read the state of the last certification, not executions after it', () => {
    const { state, id } = uni();
    const s0 = E.isRight(certify(state, {})) ? (certify(state, {}) as E.Right<{ state: ExecState }>).right.state : state;
    // an update executed step by step, without a certification after it
    const sub = submitIngress(s0, { sender: ANONYMOUS, canister: id, method: 'update', arg: prog().setGlobalTo('new').replyData('').build() });
    if (E.isLeft(sub)) throw new Error('submit');
    const ex = executeMessage(sub.right.state, { message: executable(sub.right.state)[0]! });
    if (E.isLeft(ex)) throw new Error('execute');
    const read = (s: ExecState) => {
      const r = rawQuery(s, { sender: ANONYMOUS, canister: id, method: 'query', arg: prog().getGlobal().replyBlob().build() });
      if (E.isLeft(r) || r.right.output.kind !== 'reply') throw new Error('query');
      expect(r.right.state).toBe(s);
      return Buffer.from(r.right.output.data).toString();
    };
    expect(read(ex.right.state)).toBe('');
    const c = certify(ex.right.state, {});
    if (E.isLeft(c)) throw new Error('certify');
    expect(read(c.right.state)).toBe('new');
  });
});

import { advanceTime as advance, expireCallback } from '../src/execution/rules.js';

describe('best-effort calls', () => {
  it('[EXE-BEST-EFFORT.1] a best-effort call whose deadline passes is answered SYS_UNKNOWN; its request is withdrawn and a late response dropped', () => {
    const a = uni();
    const b = create(a.state);
    let s = install(b.state, b.id, UNI).state;
    const onReject = prog().msgRejectCode().i32ToBlob().rejectMsg().concat().replyBlob();
    const call = prog().callSimple({ callee: b.id.bytes, method: 'update', arg: prog().replyData('late').build(), onReply: prog().msgArgData().replyBlob(), onReject, timeoutSeconds: 2 }).drop();
    const sub = submitIngress(s, { sender: ANONYMOUS, canister: a.id, method: 'update', arg: call.build() });
    if (E.isLeft(sub)) throw new Error('submit');
    s = sub.right.state;
    const run1 = executeMessage(s, { message: executable(s)[0]! });
    if (E.isLeft(run1)) throw new Error('execute');
    s = run1.right.state;
    const cb = s.callbacks.entries()[0]![1];
    expect(cb.deadline).toBe(s.time + 2n * SECOND);
    // not yet
    expect(E.isLeft(expireCallback(s, { callback: cb.id }))).toBe(true);
    const later = advance(s, { now: s.time + 3n * SECOND });
    if (E.isLeft(later)) throw new Error('time');
    const ex = expireCallback(later.right.state, { callback: cb.id });
    if (E.isLeft(ex)) throw new Error('expire');
    s = ex.right.state;
    // the request to B was withdrawn: only the SYS_UNKNOWN response is pending
    expect([...s.messages.entries()].map(([, m]) => m.kind)).toEqual(['response']);
    s = settle(s);
    const st = s.ingress.get(sub.right.output.messageId)!;
    expect(st.status === 'replied' && Buffer.from(st.reply).toString('latin1')).toBe('\x06\x00\x00\x00IC0601: Call deadline has expired.');
    expect(s.callbacks.size).toBe(0);
    // a guaranteed-response call never expires
    const g = upd(s, a.id, prog().callSimple({ callee: b.id.bytes, method: 'update', arg: prog().replyData('ok').build() }).drop());
    expect(statusOf(g.status)).toBe(`reply:${hex('ok')}`);
  });
});

describe('best-effort calls and cycles', () => {
  it('[EXE-BEST-EFFORT.1] [CYC-REFUND.1] [CYC-CONSERVATION.1] a canister answering its own expired best-effort call gets the refund back, and no cycle is lost', () => {
    const a = uni();
    const b = create(a.state);
    let s = install(b.state, b.id, UNI).state;
    // A calls itself best-effort with 10^6 cycles; as the callee it calls B and answers when B has answered
    const inner = prog().callSimple({ callee: b.id.bytes, method: 'update', arg: prog().replyData('b').build(), onReply: prog().replyData('done') }).drop();
    const call = prog().callSimple({ callee: a.id.bytes, method: 'update', arg: inner.build(), onReply: prog().msgArgData().replyBlob(), onReject: prog().rejectMsg().replyBlob(), cycles: 1_000_000n, timeoutSeconds: 1 }).drop();
    const step = (pick: (m: NonNullable<ReturnType<ExecState['messages']['get']>>) => boolean): void => {
      const id = executable(s).find((i) => pick(s.messages.get(i)!));
      if (id === undefined) throw new Error('no such message');
      const r = executeMessage(s, { message: id });
      if (E.isLeft(r)) throw new Error('execute');
      s = r.right.state;
    };
    const sub = submitIngress(s, { sender: ANONYMOUS, canister: a.id, method: 'update', arg: call.build() });
    if (E.isLeft(sub)) throw new Error('submit');
    s = sub.right.state;
    step((m) => m.kind === 'call' && m.origin.kind === 'ingress');
    step((m) => m.kind === 'call' && m.callee.text === a.id.text);
    // the self-call's deadline passes while A waits for B
    const self = s.callbacks.entries().find(([, cb]) => cb.deadline !== 0n)![1];
    const later = advanceTime(s, { now: s.time + 2n * SECOND });
    if (E.isLeft(later)) throw new Error('time');
    const ex = expireCallback(later.right.state, { callback: self.id });
    if (E.isLeft(ex)) throw new Error('expire');
    s = ex.right.state;
    // B answers, and A answers its own expired call before the SYS_UNKNOWN reject runs
    step((m) => m.kind === 'call' && m.callee.text === b.id.text);
    step((m) => m.kind === 'response' && m.callback !== self.id);
    expect(unaccounted(s)).toBe(0n);
    s = settle(s);
    expect(unaccounted(s)).toBe(0n);
    expect(s.messages.size).toBe(0);
  });

  it('[EXE-BEST-EFFORT.1] [CYC-REFUND.1] [CYC-CONSERVATION.1] a response still queued when its call expires is dropped, and its refund comes back with the reject', () => {
    const a = uni();
    const b = create(a.state);
    let s = install(b.state, b.id, UNI).state;
    const call = prog().callSimple({ callee: b.id.bytes, method: 'update', arg: prog().replyData('late').build(), onReply: prog().msgArgData().replyBlob(), onReject: prog().msgCyclesRefunded128().replyBlob(), cycles: 1_000_000n, timeoutSeconds: 1 }).drop();
    const sub = submitIngress(s, { sender: ANONYMOUS, canister: a.id, method: 'update', arg: call.build() });
    if (E.isLeft(sub)) throw new Error('submit');
    s = sub.right.state;
    for (let i = 0; i < 2; i++) {
      const r = executeMessage(s, { message: executable(s)[0]! });
      if (E.isLeft(r)) throw new Error('execute');
      s = r.right.state;
    }
    // B has replied (accepting nothing): its response, refunding 10^6, waits in the queue
    expect([...s.messages.entries()].map(([, m]) => m.kind === 'response' && m.refund)).toEqual([1_000_000n]);
    const cb = s.callbacks.entries()[0]![1];
    const later = advanceTime(s, { now: s.time + 2n * SECOND });
    if (E.isLeft(later)) throw new Error('time');
    const ex = expireCallback(later.right.state, { callback: cb.id });
    if (E.isLeft(ex)) throw new Error('expire');
    s = ex.right.state;
    expect(unaccounted(s)).toBe(0n);
    s = settle(s);
    const st = s.ingress.get(sub.right.output.messageId)!;
    // the reject callback saw the 10^6 refunded
    expect(st.status === 'replied' && toHex(st.reply)).toBe(toHex(new Uint8Array([0x40, 0x42, 0x0f, ...new Array(13).fill(0)])));
    expect(unaccounted(s)).toBe(0n);
  });
});

describe('bad input through drun', () => {
  it('[EXE-DRUN-BAD-LINE.1] [EXE-INSTALL.1] [EXE-DTS.1] malformed modules, unknown imports, bad exports, a trapping init and an infinite loop each get one clear error, and the other lines still run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icspec-bad-'));
    const wat = async (name: string, text: string) => writeFileSync(join(dir, name), await compileWat(text, name));
    writeFileSync(join(dir, 'garbage.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff, 0xff]));
    await wat('import.wasm', '(module (import "ic0" "no_such_function" (func)) (memory 1))');
    await wat('export.wasm', '(module (memory 1) (func (export "canister_update  two spaces")) (func (export "canister_bogus")))');
    await wat('init.wasm', '(module (memory 1) (func (export "canister_init") unreachable))');
    await wat('spin.wasm', '(module (memory 1) (func (export "canister_update spin") (loop $l (br $l))))');
    writeFileSync(join(dir, 'counter.wasm'), (await loadCanister('counter')).wasm);
    const C = 'rwlgt-iiaaa-aaaaa-aaaaa-cai';
    const script = [
      'create',
      `install ${C} garbage.wasm 0x`,
      `install ${C} import.wasm 0x`,
      `install ${C} export.wasm 0x`,
      `install ${C} init.wasm 0x`,
      `install ${C} missing.wasm 0x`,
      `install ${C} spin.wasm 0x`,
      `ingress ${C} spin 0x`,
      `upgrade ${C} counter.wasm 0x`,
      `ingress ${C} inc "DIDL\\x00\\x00"`,
      `query ${C} get "DIDL\\x00\\x00"`,
    ].join('\n');
    const out: string[] = [];
    const err: string[] = [];
    // the small subnet: the infinite loop ends after 200 M instructions
    const r = runDrun(script, { baseDir: dir, out: (l) => out.push(l), err: (l) => err.push(l) }, subnet());
    expect(r.exitCode).toBe(2);
    expect(err).toEqual([`error: Line 6: Could not open wasm file: missing.wasm - Error: No such file or directory`]);
    const firsts = out.filter((l) => l.startsWith('ingress') || l.startsWith('Ok') || l.startsWith('Err'));
    expect(firsts[0]).toMatch(/^ingress Completed: Reply: 0x4449444c/);
    expect(firsts[1]).toMatch(/^ingress Err: IC0505: Error from Canister rwlgt-iiaaa-aaaaa-aaaaa-cai: Canister's Wasm module is not valid: /);
    expect(firsts[2]).toMatch(/^ingress Err: IC0505: .*no_such_function/);
    expect(firsts[3]).toMatch(/^ingress Err: IC0505: .*export/i);
    expect(firsts[4]).toMatch(/^ingress Err: IC0502: Error from Canister rwlgt-iiaaa-aaaaa-aaaaa-cai: Canister trapped: unreachable\.\nConsider gracefully handling failures/);
    expect(firsts[5]).toBe('ingress Completed: Reply: 0x4449444c0000');
    expect(firsts[6]).toMatch(/^ingress Err: IC0522: Error from Canister rwlgt-iiaaa-aaaaa-aaaaa-cai: Canister exceeded the limit of 200000000 instructions for single message execution\.\.\nTry optimizing/);
    // the loop canister was upgraded to the counter, which then counts
    expect(firsts.slice(7)).toEqual(['ingress Completed: Reply: 0x4449444c0000', 'ingress Completed: Reply: 0x4449444c0000', 'Ok: Reply: 0x4449444c00017d01']);
  });
});

import { pruneIngress } from '../src/execution/rules.js';

describe('ingress expiry and effective canister ids', () => {
  it('[EXE-INGRESS-EXPIRY.1] expiry bounds at submission; an expired message never executes and is pruned; answered ones become done', () => {
    const { state, id } = uni();
    const arg = prog().replyData('hi').build();
    const past = submitIngress(state, { sender: ANONYMOUS, canister: id, method: 'update', arg, expiry: state.time - 1n });
    expect(E.isLeft(past) && past.left.kind === 'Rejected' && past.left.error.code).toBe('InvalidIngressExpiry');
    const far = submitIngress(state, { sender: ANONYMOUS, canister: id, method: 'update', arg, expiry: state.time + 400n * SECOND });
    expect(E.isLeft(far) && far.left.kind === 'Rejected' && far.left.error.message).toMatch(/^Invalid request expiry: /);
    // two messages expiring in 60 s: one is answered, the other waits too long
    const a = submitIngress(state, { sender: ANONYMOUS, canister: id, method: 'update', arg, expiry: state.time + 60n * SECOND, nonce: new Uint8Array([1]) });
    if (E.isLeft(a)) throw new Error('a');
    const b = submitIngress(a.right.state, { sender: ANONYMOUS, canister: id, method: 'update', arg, expiry: state.time + 60n * SECOND, nonce: new Uint8Array([2]) });
    if (E.isLeft(b)) throw new Error('b');
    let s = b.right.state;
    const ids = [a.right.output.messageId, b.right.output.messageId];
    const first = [...s.messages.entries()].find(([, m]) => m.kind === 'call' && m.origin.kind === 'ingress' && m.origin.messageId === ids[0])![0];
    const r1 = executeMessage(s, { message: first });
    if (E.isLeft(r1)) throw new Error('exec');
    s = r1.right.state;
    const t = advance(s, { now: s.time + 61n * SECOND });
    if (E.isLeft(t)) throw new Error('time');
    s = t.right.state;
    const second = executable(s).find((m) => m !== first)!;
    const late = executeMessage(s, { message: second });
    expect(E.isLeft(late) && late.left.kind === 'NotEnabled' && late.left.req).toBe('EXE-INGRESS-EXPIRY.1');
    const p = pruneIngress(s, {});
    if (E.isLeft(p)) throw new Error('prune');
    expect(p.right.output.pruned).toBe(2);
    expect(p.right.state.ingress.get(ids[0]!)!.status).toBe('done');
    expect(p.right.state.ingress.has(ids[1]!)).toBe(false);
    expect(p.right.state.messages.has(second)).toBe(false);
  });

  it('[EXE-INGRESS-SUBMIT.1] the effective canister id must be the destination (for the management canister: the canister the call names)', () => {
    const { state, id } = uni();
    const other = userPrincipal(8);
    const bad = submitIngress(state, { sender: ANONYMOUS, canister: id, method: 'update', arg: new Uint8Array(), effectiveCanisterId: other });
    expect(E.isLeft(bad) && bad.left.kind === 'Rejected' && bad.left.error.code).toBe('InvalidEffectiveCanisterId');
    expect(E.isRight(submitIngress(state, { sender: ANONYMOUS, canister: id, method: 'update', arg: new Uint8Array(), effectiveCanisterId: id }))).toBe(true);
    const statusArg = new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: toDfinity(id) }]));
    expect(E.isRight(submitIngress(state, { sender: ANONYMOUS, canister: MANAGEMENT_CANISTER, method: 'canister_status', arg: statusArg, effectiveCanisterId: id }))).toBe(true);
    const mis = submitIngress(state, { sender: ANONYMOUS, canister: MANAGEMENT_CANISTER, method: 'canister_status', arg: statusArg, effectiveCanisterId: other });
    expect(E.isLeft(mis)).toBe(true);
    // raw_rand names no canister: refused whatever the effective canister id
    expect(E.isLeft(submitIngress(state, { sender: ANONYMOUS, canister: MANAGEMENT_CANISTER, method: 'raw_rand', arg: CANDID_EMPTY, effectiveCanisterId: id }))).toBe(true);
    // provisional creation: any effective canister id
    expect(E.isRight(submitIngress(state, { sender: ANONYMOUS, canister: MANAGEMENT_CANISTER, method: 'provisional_create_canister_with_cycles', arg: CANDID_EMPTY, effectiveCanisterId: other }))).toBe(true);
  });
});

describe('management queries', () => {
  it('[EXE-MGMT-CONTROLLER.1] canister_status as a query: for controllers only', () => {
    const { state, id } = uni();
    const arg = new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: toDfinity(id) }]));
    const r = q(state, MANAGEMENT_CANISTER, 'canister_status', arg);
    expect(r.kind).toBe('reply');
    const no = q(state, MANAGEMENT_CANISTER, 'canister_status', arg, userPrincipal(2));
    expect(no.kind === 'reject' && no.errorCode).toBe('IC0512');
  });
});

describe('management methods for canisters only', () => {
  it('[EXE-MGMT.1] create_canister, raw_rand and canister_info are refused as ingress messages', () => {
    const { state, id } = uni();
    for (const [m, arg] of [
      ['raw_rand', CANDID_EMPTY],
      ['create_canister', new Uint8Array(IDL.encode([IDL.Record({ settings: IDL.Opt(IDL.Null), sender_canister_version: IDL.Opt(IDL.Nat64) })], [{ settings: [], sender_canister_version: [] }]))],
      ['canister_info', new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) })], [{ canister_id: toDfinity(id), num_requested_changes: [] }]))],
    ] as const) {
      const d = ingress(state, MANAGEMENT_CANISTER, m, arg);
      expect(d.status.status === 'rejected' && [d.status.errorCode, d.status.message]).toEqual(['IC0406', `Only canisters can call ic00 method ${m}`]);
    }
  });
});
