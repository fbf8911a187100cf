/**
 * Properties of the cycles economy (spec/cycles.md) on the execution machine, with the real
 * universal canister: what each message pays, computed by hand from the cost table and compared
 * to the cycle; freezing; running out; refunds; the conservation law after every round.
 */
import { IDL } from '@dfinity/candid';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { utf8Length } from '../src/core/bytes.js';
import { ANONYMOUS, MANAGEMENT_CANISTER, type Principal } from '../src/core/principal.js';
import * as A from '../src/cycles/account.js';
import { costTable, tableOf } from '../src/cycles/table.js';
import { METHODS, toDfinity } from '../src/execution/candid.js';
import { subnetConfig } from '../src/execution/config.js';
import { freezingLimit, memoryAllocationText, memoryUsage, unaccounted } from '../src/execution/cycles.js';
import { executionMachine } from '../src/execution/machine.js';
import { chargeResources, submitIngress } from '../src/execution/rules.js';
import { runRound, type RoundEvent } from '../src/execution/scheduler.js';
import type { ExecConfig, ExecState } from '../src/execution/state.js';
import { compileWat, loadCanister } from '../src/toolchain/compile.js';
import { prog, type Prog } from '../src/toolchain/universal.js';
import { create, decodeReply, ingress, install, mgmt, SECOND, SMALL, subnet, userPrincipal } from './exec-harness.js';

let UNI: Uint8Array;
beforeAll(async () => {
  UNI = (await loadCanister('universal')).wasm;
});

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31);
console.log(`cycles properties: fast-check seed ${seed} (set FC_SEED to replay)`);

const sized = (n: bigint, kind: 'application' | 'system' = 'application'): ExecConfig => ({ ...subnetConfig(kind, n), limits: SMALL.limits });

const uniOn = (config: ExecConfig, cycles = 1_000_000_000_000_000n): { state: ExecState; id: Principal } => {
  const c = create(subnet(config), { cycles });
  const d = install(c.state, c.id, UNI);
  expect(d.status.status).toBe('replied');
  return { state: d.state, id: c.id };
};

const upd = (s: ExecState, id: Principal, p: Prog, sender?: Principal) => ingress(s, id, 'update', p.build(), sender);
const consumed = (s: ExecState, id: Principal, u: A.UseCase): bigint => s.canisters.get(id.text)!.consumed[u] ?? 0n;
const balance = (s: ExecState, id: Principal): bigint => s.canisters.get(id.text)!.cycles;

/** The instructions of each execution of the events (all on one canister), and how many executions. */
const executions = (events: readonly RoundEvent[]): bigint[] =>
  events.filter((e) => e.rule === 'Execute' || e.rule === 'Heartbeat' || e.rule === 'GlobalTimer').map((e) => e.report.instructions);

/** Hand-computed: what `k` instructions net cost after prepaying the limit and the refund (two floors). */
const netExecution = (n: bigint, limit: bigint, k: bigint): bigint => {
  const prepaid = ((5_000_000n + limit) * n) / 13n;
  const refund = ((limit - k) * n) / 13n;
  return prepaid - (refund < prepaid ? refund : prepaid);
};

describe('the cost table', () => {
  it('[CYC-TABLE.1] [CYC-SYSTEM-FREE.1] versions load, verified application subnets price as application subnets, system subnets are free', () => {
    const app = tableOf('application');
    expect([app.canisterCreationFee, app.updateMessageExecutionFee, app.xnetCallFee, app.ingressMessageReceptionFee, app.gibStoragePerSecondFee]).toEqual([500_000_000_000n, 5_000_000n, 260_000n, 1_200_000n, 127_000n]);
    expect(tableOf('verified_application')).toEqual({ ...app, kind: 'verified_application' });
    const sys = tableOf('system');
    expect([sys.canisterCreationFee, sys.updateMessageExecutionFee, sys.tenUpdateInstructionsExecutionFee, sys.gibStoragePerSecondFee]).toEqual([0n, 0n, 0n, 0n]);
    const newer = tableOf('application', '2026');
    expect([newer.gibStoragePerSecondFee, newer.basePerSecondFee, newer.ingressFeeScaling, newer.xnetCallFee]).toEqual([317_500n, 10_000n, 'parts', 260_000n]);
    expect(costTable('application', '1999')).toEqual({ error: 'unknown cost table version "1999" (known: 2025, 2026)' });
  });

  it('[CYC-INGRESS.1] [CYC-CALL-FEE.1] the bytes of a method name are its UTF-8 bytes, surrogate pairs and lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom('\ud800', '\udfff', 'é', '€'), fc.string({ unit: 'binary', maxLength: 1 })) }), (s) => {
        expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      }),
      { seed, numRuns: 500 },
    );
  });

  it('[CYC-SCALE.1] [CYC-ARITH.1] [CYC-EXEC-FEE.1] fees scale by n/13, multiplying first; Wasm64 instructions cost twice', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 100n }), fc.bigInt({ min: 0n, max: 40_000_000_000n }), (n, k) => {
        const f: A.Fees = { table: tableOf('application'), subnetSize: n };
        expect(A.executionCost(f, k, false)).toBe(((5_000_000n + k) * n) / 13n);
        expect(A.executionCost(f, k, true)).toBe(((5_000_000n + 2n * k) * n) / 13n);
        expect(A.executionCost({ table: tableOf('system'), subnetSize: n }, k, false)).toBe(0n);
        expect(A.executionCost({ ...f, free: true }, k, false)).toBe(0n);
      }),
      { seed, numRuns: 200 },
    );
    // the Free schedule and a system subnet's table charge messages nothing; an application subnet's does
    expect([A.chargesNothing({ table: tableOf('system'), subnetSize: 13n }), A.chargesNothing({ table: tableOf('application'), subnetSize: 13n, free: true }), A.chargesNothing({ table: tableOf('application'), subnetSize: 13n })]).toEqual([true, true, false]);
    expect(A.mul((1n << 128n) - 1n, 2n)).toBe((1n << 128n) - 1n);
    expect(A.sub(3n, 5n)).toBe(0n);
    expect(A.fmtCycles(1_234_567n)).toBe('1_234_567');
    expect(A.fmtCycles(999n)).toBe('999');
  });

  it('[CYC-INGRESS.1] [CYC-STORAGE.1] [CYC-COMPUTE.1] [CYC-IDLE.1] [CYC-FREEZE.1] the formulas with their figures', () => {
    const f13: A.Fees = { table: tableOf('application'), subnetSize: 13n };
    const f34: A.Fees = { table: tableOf('application'), subnetSize: 34n };
    expect(A.ingressInductionCost(f13, 100n)).toBe(1_400_000n);
    expect(A.ingressInductionCost(f34, 100n)).toBe(((1_200_000n + 200_000n) * 34n) / 13n);
    const f34new: A.Fees = { table: tableOf('application', '2026'), subnetSize: 34n };
    expect(A.ingressInductionCost(f34new, 100n)).toBe((1_200_000n * 34n) / 13n + ((2_000n * 34n) / 13n) * 100n);
    expect(A.memoryCost(f13, 1n << 30n, 1n)).toBe(127_000n);
    expect(A.memoryCost(f34, 3n, 86_400n)).toBe(((3n * 127_000n * 86_400n) / (1n << 30n)) * 34n / 13n);
    expect(A.computeCost(f13, 7n, 10n)).toBe(700_000_000n);
    const h: A.Holdings = { memoryAllocation: 0n, memoryUsage: 5n << 20n, messageMemory: 0n, computeAllocation: 1n };
    const perDay = ((5n << 20n) * 127_000n * 86_400n) / (1n << 30n) + 10_000_000n * 86_400n;
    expect(A.idleTotal(A.idleRate(f13, h))).toBe(perDay);
    expect(A.freezeThreshold(f13, h, 2_592_000n, 0n)).toBe((perDay * 2_592_000n) / 86_400n);
    expect(A.freezeThreshold(f13, h, 2_592_000n, 10n ** 30n)).toBe(0n);
    // reaching the limit exactly is allowed; one more cycle is not
    expect(A.canWithdraw(100n, 40n, 60n)).toBe(true);
    expect(A.canWithdraw(100n, 40n, 61n)).toBe(false);
    expect(A.outOfCyclesText('x', 100n, 61n, 40n, true)).toBe('Canister x is out of cycles: please top up the canister with at least 1 additional cycles');
    expect(A.outOfCyclesText('x', 100n, 61n, 40n, false)).toBe('Canister x is out of cycles');
  });
});

const settingsArg = (id: Principal, s: Record<string, unknown>) => ({
  canister_id: toDfinity(id),
  settings: { controllers: [], compute_allocation: [], memory_allocation: [], freezing_threshold: [], reserved_cycles_limit: [], log_visibility: [], wasm_memory_limit: [], wasm_memory_threshold: [], environment_variables: [], ...s },
  sender_canister_version: [],
});

describe('what each message pays', () => {
  it('[CYC-PREPAY.1] [CYC-EXEC-FEE.1] [CYC-INGRESS.1] [CYC-SCALE.1] an update pays its induction and exactly its instructions, on 13 and 34 nodes, traps included', () => {
    for (const n of [13n, 34n]) {
      const { state, id } = uniOn(sized(n));
      for (const p of [prog().replyData('hi'), prog().pushBytes('x'.repeat(100)).setGlobal().replyData(''), prog().trap()]) {
        const arg = p.build();
        const d = upd(state, id, p);
        const induction = ((1_200_000n + 2_000n * BigInt('update'.length + arg.length)) * n) / 13n;
        expect(consumed(d.state, id, 'IngressInduction') - consumed(state, id, 'IngressInduction')).toBe(induction);
        const expected = executions(d.events).reduce((a, k) => a + netExecution(n, SMALL.limits.update, k), 0n);
        expect(consumed(d.state, id, 'Instructions') - consumed(state, id, 'Instructions')).toBe(expected);
        // and the balance moved by exactly what was consumed
        const all = (s: ExecState) => Object.values(s.canisters.get(id.text)!.consumed).reduce((a: bigint, b) => a + (b ?? 0n), 0n);
        expect(balance(state, id) - balance(d.state, id)).toBe(all(d.state) - all(state));
      }
    }
  });

  it('[CYC-SYSTEM-FREE.1] on a system subnet nothing is charged', () => {
    const { state, id } = uniOn(sized(13n, 'system'));
    const d = upd(state, id, prog().pushBytes('y'.repeat(5000)).setGlobal().replyData(''));
    expect(balance(d.state, id)).toBe(balance(state, id));
  });

  it('[CYC-CALL-FEE.1] [CYC-RESPONSE-RESERVE.1] [CYC-REFUND.1] a call with cycles, partly accepted: the callee gets what it accepted, the caller the rest, fees by hand', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.string({ maxLength: 40 }), (attach, accept, reply) => {
        const a = uniOn(sized(13n));
        const c = create(a.state, { cycles: 10n ** 15n });
        const b = install(c.state, c.id, UNI);
        const s0 = b.state;
        const calleeProg = prog().pushI64(accept >> 64n).pushI64(BigInt.asUintN(64, accept)).msgCyclesAccept128().drop().replyData(reply);
        const callArg = calleeProg.build();
        const d = upd(s0, a.id, prog().callSimple({ callee: c.id.bytes, method: 'update', arg: callArg, cycles: attach }).drop());
        const took = accept < attach ? accept : attach;
        const replyBytes = BigInt(new TextEncoder().encode(reply).length);
        // the callee: + accepted − its instructions (its induction is 0: a call is not ingress)
        expect(balance(d.state, c.id) - balance(s0, c.id)).toBe(took - (consumed(d.state, c.id, 'Instructions') - consumed(s0, c.id, 'Instructions')) - (consumed(d.state, c.id, 'Memory') - consumed(s0, c.id, 'Memory')));
        // the caller: − accepted − the call fee, request and response bytes, all its consumption
        const tx = consumed(d.state, a.id, 'RequestAndResponseTransmission') - consumed(s0, a.id, 'RequestAndResponseTransmission');
        expect(tx).toBe(260_000n + 1_000n * BigInt('update'.length + callArg.length) + 1_000n * replyBytes);
        const spent = (['IngressInduction', 'Instructions', 'RequestAndResponseTransmission', 'Memory'] as const).reduce((x, u) => x + consumed(d.state, a.id, u) - consumed(s0, a.id, u), 0n);
        expect(balance(s0, a.id) - balance(d.state, a.id)).toBe(took + spent);
        expect(unaccounted(d.state)).toBe(0n);
      }),
      { seed, numRuns: 8 },
    );
  });
});

describe('freezing and running out', () => {
  it('[CYC-FREEZE.1] [CYC-INGRESS.1] [CYC-PREPAY.1] a frozen canister refuses ingress (the amount told to controllers only) and rejects calls, returning their cycles', () => {
    const a = uniOn(sized(13n));
    // b: a canister of the same subnet state as a, frozen by a year-long threshold
    const c = create(a.state, { cycles: 10n ** 12n });
    const inst = install(c.state, c.id, UNI);
    const fr = mgmt(inst.state, 'update_settings', settingsArg(c.id, { freezing_threshold: [365n * 86_400n * 100_000n] }));
    expect(fr.status.status).toBe('replied');
    const s = fr.state;
    const cb = s.canisters.get(c.id.text)!;
    const thr = freezingLimit(s, cb);
    expect(thr > cb.cycles).toBe(true);
    const arg = prog().replyData('x').build();
    const byController = submitIngress(s, { sender: ANONYMOUS, canister: c.id, method: 'update', arg });
    const cost = 1_200_000n + 2_000n * BigInt('update'.length + arg.length);
    expect(E.isLeft(byController) && byController.left.kind === 'Rejected' && byController.left.error).toEqual({
      code: 'CanisterOutOfCycles',
      message: `Canister ${c.id.text} is out of cycles: please top up the canister with at least ${A.fmtCycles(thr + cost - cb.cycles)} additional cycles`,
    });
    const byStranger = submitIngress(s, { sender: userPrincipal(7), canister: c.id, method: 'update', arg });
    expect(E.isLeft(byStranger) && byStranger.left.kind === 'Rejected' && byStranger.left.error.message).toBe(`Canister ${c.id.text} is out of cycles`);
    // a call from a (not a controller) with cycles: SYS_TRANSIENT, the cycles come back
    const attach = 123_456_789n;
    const d = upd(s, a.id, prog().callSimple({ callee: c.id.bytes, method: 'update', arg, cycles: attach, onReject: prog().msgRejectCode().pushBytes(':').then(prog().rejectMsg()).replyDataAppend().replyDataAppend().reply() }).drop());
    expect(d.status.status).toBe('replied');
    expect(balance(d.state, c.id)).toBe(balance(s, c.id));
    const spent = (['IngressInduction', 'Instructions', 'RequestAndResponseTransmission', 'Memory'] as const).reduce((x, u) => x + consumed(d.state, a.id, u) - consumed(s, a.id, u), 0n);
    expect(balance(s, a.id) - balance(d.state, a.id)).toBe(spent);
  });

  it('[CYC-PERIODIC.1] [CYC-OUT-OF-CYCLES.1] [CYC-STORAGE.1] a canister that cannot pay for its memory is uninstalled, keeps its id and controllers, and a top-up revives it', () => {
    const c = create(subnet(sized(13n)), { cycles: 10n ** 13n });
    const inst = install(c.state, c.id, UNI);
    // no freezing limit, then burn all but a few cycles
    const nf = mgmt(inst.state, 'update_settings', settingsArg(c.id, { freezing_threshold: [0n] }));
    let s = nf.state;
    const c0 = s.canisters.get(c.id.text)!;
    const burn = upd(s, c.id, prog().pushI64(0n).pushI64(c0.cycles - 100_000_000n - 60_000_000n).cyclesBurn128().drop().replyData(''));
    expect(burn.status.status).toBe('replied');
    s = burn.state;
    const before = s.canisters.get(c.id.text)!;
    // an hour later its storage costs more than it has
    const later = { ...s, time: s.time + 1000n * 86_400n * SECOND }; // 1000 days of storage cost more than it has
    const r = chargeResources(later, { now: later.time });
    expect(E.isRight(r)).toBe(true);
    if (E.isLeft(r)) return;
    expect(r.right.output.uninstalled).toEqual([c.id.text]);
    const gone = r.right.state.canisters.get(c.id.text)!;
    expect([gone.wasm, gone.cycles, gone.reserved, gone.history.length, gone.totalChanges, gone.controllers, gone.version]).toEqual([undefined, 0n, 0n, 0, before.totalChanges, before.controllers, before.version + 1n]);
    expect(gone.consumed.Uninstall).toBe(before.cycles - (gone.consumed.Memory ?? 0n) + (before.consumed.Memory ?? 0n));
    expect(unaccounted(r.right.state)).toBe(0n);
    // with nothing left it cannot even pay for an ingress message
    const call = submitIngress(r.right.state, { sender: ANONYMOUS, canister: c.id, method: 'update', arg: prog().replyData('x').build() });
    expect(E.isLeft(call) && call.left.kind === 'Rejected' && call.left.error.code).toBe('CanisterOutOfCycles');
    // a top-up and a new installation revive it
    const top = mgmt(r.right.state, 'provisional_top_up_canister', { canister_id: toDfinity(c.id), amount: 10n ** 13n });
    const re = install(top.state, c.id, UNI);
    expect(re.status.status).toBe('replied');
    expect(upd(re.state, c.id, prog().replyData('back')).status.status).toBe('replied');
  });

  it('[CYC-MEMORY-GROW.1] growing memory past the freezing limit traps with IC0532, telling a controller how much is missing', () => {
    const c = create(subnet(sized(13n)), { cycles: 10n ** 12n });
    const inst = install(c.state, c.id, UNI);
    // a freezing threshold that the current memory just fits under, but not 100 more stable pages
    const cc = inst.state.canisters.get(c.id.text)!;
    const perSecond = (memoryUsage(cc) * 127_000n) / (1n << 30n);
    const secs = (cc.cycles - 45_000_000_000n) / (perSecond + 1n);
    const st = mgmt(inst.state, 'update_settings', settingsArg(c.id, { freezing_threshold: [secs] }));
    expect(st.status.status).toBe('replied');
    const d = upd(st.state, c.id, prog().pushI64(100_000n).stable64Grow().drop().replyData(''));
    expect(d.status.status === 'rejected' && d.status.errorCode).toBe('IC0532');
    expect(d.status.status === 'rejected' && d.status.message).toMatch(/^Error from Canister [a-z0-9-]+: Canister cannot grow memory by 6553600000 bytes due to insufficient cycles\. At least [0-9_]+ additional cycles are required\.\./);
  });

  it('[CYC-RESERVE.1] above the subnet threshold, growing memory reserves cycles, up to the reserved limit (IC0534)', () => {
    const GiB = 1n << 30n;
    const tight: ExecConfig = { ...sized(13n), subnetMemoryThreshold: 0n, subnetMemoryCapacity: 200n * GiB, schedulerCores: 1n };
    const c = create(subnet(tight), { cycles: 10n ** 15n });
    const inst = install(c.state, c.id, UNI);
    const d = upd(inst.state, c.id, prog().pushI64(1000n).stable64Grow().drop().replyData(''));
    expect(d.status.status).toBe('replied');
    const reserved = d.state.canisters.get(c.id.text)!.reserved;
    expect(reserved > 0n).toBe(true);
    const lim = mgmt(d.state, 'update_settings', settingsArg(c.id, { reserved_cycles_limit: [reserved + 1n] }));
    const e = upd(lim.state, c.id, prog().pushI64(1000n).stable64Grow().drop().replyData(''));
    expect(e.status.status === 'rejected' && e.status.errorCode).toBe('IC0534');
    expect(unaccounted(e.state)).toBe(0n);
  });
});

describe('settings that need cycles', () => {
  const rejected = (d: { status: { status: string } }): { errorCode: string; message: string } => {
    expect(d.status.status).toBe('rejected');
    return d.status as unknown as { errorCode: string; message: string };
  };

  it('[CYC-SETTINGS.1] growing an allocation past what the balance can freeze for fails with IC0530 / IC0531 and the missing amount; raising only the freezing threshold does not', () => {
    // an empty canister (no heartbeat spends cycles before the settings are checked)
    const inst = create(subnet(sized(13n)), { cycles: 10n ** 12n });
    const c = inst;
    const cc = inst.state.canisters.get(c.id.text)!;
    // 50 % compute for the default 30 days: 10^7 · 50 · 2,592,000 cycles, far above 10^12
    const limit = (A.computeCost(sized(13n).fees, 50n, 86_400n) * 2_592_000n) / 86_400n + (A.idleTotal(A.idleRate(sized(13n).fees, { memoryAllocation: 0n, memoryUsage: memoryUsage(cc), messageMemory: 0n, computeAllocation: 0n })) * 2_592_000n) / 86_400n;
    const e = rejected(mgmt(inst.state, 'update_settings', settingsArg(c.id, { compute_allocation: [50n] })));
    expect(e.errorCode).toBe('IC0530');
    expect(e.message).toBe(
      `Cannot increase compute allocation to 50% due to insufficient cycles. At least ${A.fmtCycles(limit - cc.cycles)} additional cycles are required.\nTop up the canister with more cycles. See documentation: https://internetcomputer.org/docs/current/references/execution-errors#insufficient-cycles-in-compute-allocation`,
    );
    // nothing changed, and a memory allocation of 1 PiB is refused the same way
    const m = rejected(mgmt(inst.state, 'update_settings', settingsArg(c.id, { memory_allocation: [1n << 50n] })));
    expect(m.errorCode).toBe('IC0531');
    expect(m.message).toMatch(/^Cannot increase memory allocation to 1\.00 PiB due to insufficient cycles\. At least [0-9_]+ additional cycles are required\.\n/);
    // a freezing threshold alone may freeze the canister
    expect(mgmt(inst.state, 'update_settings', settingsArg(c.id, { freezing_threshold: [10n ** 15n] })).status.status).toBe('replied');
    // creating a canister with an allocation its cycles cannot hold fails, and returns the cycles
    const { state, id } = uniOn(sized(13n));
    const before = balance(state, id);
    const createArg = IDL.encode([METHODS.create_canister.arg], [{ settings: [{ ...settingsArg(id, {}).settings, compute_allocation: [50n] }], sender_canister_version: [] }]);
    const d = upd(state, id, prog().callSimple({ callee: MANAGEMENT_CANISTER.bytes, method: 'create_canister', arg: new Uint8Array(createArg), cycles: 10n ** 12n, onReject: prog().rejectMsg().replyBlob() }).drop());
    expect(d.status.status === 'replied' && new TextDecoder().decode(d.status.reply)).toMatch(/^IC0530: Cannot increase compute allocation to 50% due to insufficient cycles\. At least [0-9_]+ additional cycles are required\./);
    expect(d.state.canisters.size).toBe(state.canisters.size);
    expect(before - balance(d.state, id) < 10n ** 10n).toBe(true);
    expect(unaccounted(d.state)).toBe(0n);
  });

  it('[CYC-SETTINGS.1] [CYC-RESERVE.1] a memory allocation reserves storage above the subnet threshold, within the reserved cycles limit (IC0533); the limit cannot go below the reserved balance (IC0540)', () => {
    const GiB = 1n << 30n;
    const tight: ExecConfig = { ...sized(13n), subnetMemoryThreshold: 0n, subnetMemoryCapacity: 200n * GiB, schedulerCores: 1n };
    const c = create(subnet(tight), { cycles: 10n ** 15n });
    const inst = install(c.state, c.id, UNI);
    const ok = mgmt(inst.state, 'update_settings', settingsArg(c.id, { memory_allocation: [GiB] }));
    expect(ok.status.status).toBe('replied');
    const cc = ok.state.canisters.get(c.id.text)!;
    expect(cc.reserved > 0n).toBe(true);
    expect(cc.settings.memoryAllocation).toBe(GiB);
    expect(unaccounted(ok.state)).toBe(0n);
    const low = rejected(mgmt(ok.state, 'update_settings', settingsArg(c.id, { reserved_cycles_limit: [cc.reserved - 1n] })));
    expect(low.errorCode).toBe('IC0540');
    expect(low.message).toBe(
      `Cannot set the reserved cycles limit ${A.fmtCycles(cc.reserved - 1n)} below the reserved cycles balance of the canister ${A.fmtCycles(cc.reserved)}.\nSet the reserved cycles limit in the canister settings to a value that is at least the current reserved cycles balance. See documentation: reserved-cycles-limit-is-too-low`,
    );
    const tightLimit = mgmt(ok.state, 'update_settings', settingsArg(c.id, { reserved_cycles_limit: [cc.reserved] }));
    expect(tightLimit.status.status).toBe('replied');
    const more = rejected(mgmt(tightLimit.state, 'update_settings', settingsArg(c.id, { memory_allocation: [2n * GiB] })));
    expect(more.errorCode).toBe('IC0533');
    expect(more.message).toMatch(/^Cannot increase memory allocation to 2\.00 GiB due to its reserved cycles limit\. The current limit \([0-9_]+\) would be exceeded by [0-9_]+\.\nTry increasing/);
  });

  it('[CYC-SETTINGS.1] allocations print as the replica prints them', () => {
    expect([0n, 1000n, 1024n, 1536n, 4n << 30n, (1n << 30n) + (1n << 20n) * 5n].map(memoryAllocationText)).toEqual(['best-effort', '1000 B', '1.00 KiB', '1.50 KiB', '4.00 GiB', '1.00 GiB']);
  });
});

describe('the System API and the management canister', () => {
  it('[CYC-SYSAPI.1] cycles_burn128 burns at most the liquid balance; attaching more than it traps', () => {
    const { state, id } = uniOn(sized(13n), 10n ** 13n);
    const d = upd(state, id, prog().pushI64(0n).pushI64((1n << 64n) - 1n).cyclesBurn128().replyBlob());
    expect(d.status.status).toBe('replied');
    const c = d.state.canisters.get(id.text)!;
    // what remains is the freezing limit plus the instructions refunded after the burn
    expect(c.cycles >= freezingLimit(d.state, c)).toBe(true);
    expect(c.consumed.BurnedCycles! > 0n).toBe(true);
    const top = mgmt(d.state, 'provisional_top_up_canister', { canister_id: toDfinity(id), amount: 10n ** 12n });
    const t = upd(top.state, id, prog().callSimple({ callee: id.bytes, method: 'update', cycles: 10n ** 13n }).drop().replyData(''));
    expect(t.status.status === 'rejected' && [t.status.errorCode, t.status.message]).toEqual(['IC0504', `Error from Canister ${id.text}: Canister ${id.text} is out of cycles.`]);
  });

  it('[CYC-MGMT-FEES.1] [CYC-STATUS.1] create_canister takes its fee from the cycles attached; canister_status reports the accounts; deletion consumes what is left', () => {
    const { state, id } = uniOn(sized(13n));
    const createArg = (cycles: bigint) =>
      prog().callSimple({ callee: MANAGEMENT_CANISTER.bytes, method: 'create_canister', arg: new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0x01, 0x6c, 0x00, 0x01, 0x00]), cycles, onReject: prog().rejectMsg().replyBlob() }).drop();
    const few = upd(state, id, createArg(10n));
    expect(few.status.status === 'replied' && Buffer.from(few.status.reply).toString()).toMatch(/^IC0403: Creating a canister requires a fee of 500_000_000_000 that is deducted from the canister's initial balance but only 10 cycles were received with the create_canister request\./);
    const ok = upd(few.state, id, createArg(600_000_000_000n));
    expect(ok.status.status).toBe('replied');
    const newId = ok.state.canisterOrder[ok.state.canisterOrder.length - 1]!;
    const nc = ok.state.canisters.get(newId)!;
    expect([nc.cycles, nc.consumed.CanisterCreation]).toEqual([100_000_000_000n, 500_000_000_000n]);
    const st = mgmt(ok.state, 'canister_status', { canister_id: toDfinity(id) });
    const rec = decodeReply('canister_status', st.status) as { cycles: bigint; reserved_cycles: bigint; idle_cycles_burned_per_day: bigint; memory_size: bigint };
    const c = st.state.canisters.get(id.text)!;
    expect(rec.memory_size).toBe(memoryUsage(c));
    expect(rec.idle_cycles_burned_per_day).toBe((memoryUsage(c) * 127_000n * 86_400n) / (1n << 30n));
    expect(rec.reserved_cycles).toBe(0n);
    expect(unaccounted(st.state)).toBe(0n);
  });
});

describe('conservation', () => {
  it('[CYC-CONSERVATION.1] [CYC-STATE.1] every cycle is accounted for after every round of random calls with cycles', () => {
    const op = fc.record({ from: fc.nat(2), to: fc.nat(2), attach: fc.bigInt({ min: 0n, max: 10n ** 13n }), accept: fc.bigInt({ min: 0n, max: 10n ** 13n }), trap: fc.boolean(), burn: fc.bigInt({ min: 0n, max: 10n ** 12n }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 4 }), (ops) => {
        let s = subnet(sized(13n));
        const ids: Principal[] = [];
        for (let i = 0; i < 3; i++) {
          const c = create(s, { cycles: 10n ** 14n });
          s = install(c.state, c.id, UNI).state;
          ids.push(c.id);
        }
        for (const o of ops) {
          const callee = prog()
            .pushI64(o.accept >> 64n)
            .pushI64(BigInt.asUintN(64, o.accept))
            .msgCyclesAccept128()
            .drop()
            .pushI64(0n)
            .pushI64(o.burn)
            .cyclesBurn128()
            .drop()
            .then(o.trap ? prog().trap() : prog().replyData('ok'));
          const r = submitIngress(s, { sender: ANONYMOUS, canister: ids[o.from]!, method: 'update', arg: prog().callSimple({ callee: ids[o.to]!.bytes, method: 'update', arg: callee.build(), cycles: o.attach }).drop().replyData('').build() });
          if (E.isLeft(r)) continue;
          s = r.right.state;
          for (let k = 0; k < 4; k++) {
            s = runRound(s, s.time + SECOND);
            for (const inv of executionMachine.invariants) expect(inv.check(s), inv.name).toBeUndefined();
          }
        }
        expect(unaccounted(s)).toBe(0n);
      }),
      { seed, numRuns: 6 },
    );
  });

  it('[CYC-CONSERVATION.1] [CYC-INGRESS.1] a machine that forgets a charge is caught: the hand-computed charge disagrees', () => {
    // the mutant: the same machine with the ingress charge left out (its table's ingress fees are 0)
    const real = sized(13n);
    const mutant: ExecConfig = { ...real, fees: { ...real.fees, table: { ...real.fees.table, ingressMessageReceptionFee: 0n, ingressByteReceptionFee: 0n } } };
    const check = (config: ExecConfig): boolean => {
      const { state, id } = uniOn(config);
      const p = prog().replyData('hi');
      const d = upd(state, id, p);
      const hand = 1_200_000n + 2_000n * BigInt('update'.length + p.build().length);
      return consumed(d.state, id, 'IngressInduction') - consumed(state, id, 'IngressInduction') === hand;
    };
    expect(check(real)).toBe(true);
    expect(check(mutant)).toBe(false);
  });
});

describe('the cost functions and memory usage', () => {
  const COST_WAT = `(module
  (import "ic0" "cost_call" (func $cost_call (param i64 i64 i32)))
  (import "ic0" "cost_create_canister" (func $cost_create (param i32)))
  (import "ic0" "cost_http_request" (func $cost_http (param i64 i64 i32)))
  (import "ic0" "cost_sign_with_ecdsa" (func $cost_ecdsa (param i32 i32 i32 i32) (result i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (memory 1)
  (data (i32.const 200) "key_1")
  (func (export "canister_update costs")
    (call $cost_call (i64.const 6) (i64.const 100) (i32.const 0))
    (call $cost_create (i32.const 16))
    (call $cost_http (i64.const 1000) (i64.const 2000) (i32.const 32))
    (i32.store (i32.const 48) (call $cost_ecdsa (i32.const 200) (i32.const 5) (i32.const 0) (i32.const 64)))
    (i32.store (i32.const 52) (call $cost_ecdsa (i32.const 200) (i32.const 5) (i32.const 9) (i32.const 64)))
    (call $append (i32.const 0) (i32.const 56))
    (call $reply)))`;

  const u128 = (b: Uint8Array, o: number): bigint => {
    const v = new DataView(b.buffer, b.byteOffset);
    return v.getBigUint64(o, true) | (v.getBigUint64(o + 8, true) << 64n);
  };

  it('[CYC-COST-API.1] cost_call, cost_create_canister, cost_http_request and the signing costs answer from the table, on 13 and 34 nodes', async () => {
    const wasm = await compileWat(COST_WAT, 'costs.wat');
    for (const n of [13n, 34n]) {
      const c = create(subnet(sized(n)));
      const inst = install(c.state, c.id, wasm);
      expect(inst.status.status).toBe('replied');
      const d = ingress(inst.state, c.id, 'costs', new Uint8Array());
      expect(d.status.status).toBe('replied');
      if (d.status.status !== 'replied') return;
      const r = d.status.reply;
      const f: A.Fees = { table: tableOf('application'), subnetSize: n };
      const ch = A.callCharge(f, 106n, SMALL.limits.update, false);
      expect(u128(r, 0)).toBe(ch.transmission + ch.execution);
      expect(u128(r, 0)).toBe((260_000n * n) / 13n + (106_000n * n) / 13n + (2_097_152_000n * n) / 13n + ((5_000_000n + SMALL.limits.update) * n) / 13n);
      expect(u128(r, 16)).toBe((500_000_000_000n * n) / 13n);
      expect(u128(r, 32)).toBe((3_000_000n + 60_000n * n + 400n * 1000n + 800n * 2000n) * n);
      expect([new DataView(r.buffer, r.byteOffset).getInt32(48, true), new DataView(r.buffer, r.byteOffset).getInt32(52, true)]).toEqual([2, 1]);
    }
  });

  it('[CYC-MEMORY-USAGE.1] memory usage: memories, 32 bytes per kept global, the module, custom sections, history, chunks', () => {
    const { state, id } = uniOn(sized(13n));
    const c = state.canisters.get(id.text)!;
    const w = c.wasm!;
    const info = w.module.info;
    const exported = new Set(info.module.exports.filter((e) => e.kind === 3).map((e) => e.index));
    const globals = 1 + exported.size + info.globals.filter((g) => g.mutable && !exported.has(g.index)).length;
    let custom = 0;
    for (const [name, sec] of info.customSections) custom += new TextEncoder().encode(name).length + 1 + sec.content.length;
    const history = c.history.reduce((a, ch) => a + 192 + (ch.details.kind === 'creation' || ch.details.kind === 'controllers_change' ? 30 * ch.details.controllers.length : 0), 0);
    expect(memoryUsage(c)).toBe(BigInt(w.heap.byteLength + w.stable.byteLength + 32 * globals + w.module.raw.length + custom + history));
    const withChunk = mgmt(state, 'upload_chunk', { canister_id: toDfinity(id), chunk: new Uint8Array([1, 2, 3]) });
    expect(memoryUsage(withChunk.state.canisters.get(id.text)!) - memoryUsage(c)).toBe(1n << 20n);
  });
});
