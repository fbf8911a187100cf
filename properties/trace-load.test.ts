/**
 * Loading traces (bad input with exact JSON pointers), replaying them, and divergence
 * reports, on small ledger traces written with record().
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ledgerMachine } from '../src/ledger/machine.js';
import { fromJson } from '../src/trace/itf.js';
import { loadTraceText, type BadInput, type LoadedTrace } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';
import { deleteAt, pointerOf, resolvePointer, SAMPLE_IDS as ID, SAMPLE_REQS as REQS, sampleLedgerTrace as validTrace, updateAt, type Json, type TraceJson } from './arbitraries-itf.js';


const load = (j: unknown, file = 'mem.itf.json'): LoadedTrace | BadInput => loadTraceText(file, typeof j === 'string' ? j : JSON.stringify(j));
const mustLoad = (j: unknown): LoadedTrace => {
  const t = load(j);
  if (!t.ok) throw new Error(`unexpected bad input: ${t.pointer}: ${t.message}`);
  return t;
};
const bad = (j: unknown): BadInput => {
  const t = load(j);
  expect(t.ok).toBe(false);
  return t as BadInput;
};

/** A set of mutations of the valid trace and the exact pointer each must be reported at. */
const MALFORMED: ReadonlyArray<{ name: string; req: string; make: (t: TraceJson) => unknown; pointer: string; message: RegExp }> = [
  { name: 'not JSON', req: 'TRC-BAD-INPUT.1', make: (t) => JSON.stringify(t).slice(0, 40), pointer: '', message: /not JSON/ },
  { name: 'schema: vars is not a list', req: 'TRC-ITF-SCHEMA.1', make: (t) => ({ ...t, vars: 5 }), pointer: '/vars', message: /not an ITF trace/ },
  { name: 'schema: unknown top-level key', req: 'TRC-ITF-SCHEMA.1', make: (t) => ({ ...t, extra: 1 }), pointer: '', message: /not an ITF trace.*extra/ },
  { name: 'schema: a state is not an object', req: 'TRC-ITF-SCHEMA.1', make: (t) => ({ ...t, states: [t.states[0], 'x'] }), pointer: '/states/1', message: /not an ITF trace/ },
  { name: 'state lacks a variable', req: 'TRC-ITF-SEMANTIC.1', make: (t) => deleteAt(t, ['states', '2', 'balances']), pointer: '/states/2', message: /lacks variable "balances"/ },
  { name: 'variable not in vars', req: 'TRC-ITF-SEMANTIC.1', make: (t) => updateAt(t, ['states', '3'], (s) => ({ ...(s as object), stray: true })), pointer: '/states/3/stray', message: /not listed in vars/ },
  { name: 'no states', req: 'TRC-ITF-SEMANTIC.1', make: (t) => ({ ...t, states: [] }), pointer: '/states', message: /at least/ },
  { name: 'loop out of range', req: 'TRC-ITF-SEMANTIC.1', make: (t) => ({ ...t, loop: 5 }), pointer: '/loop', message: /loop/ },
  { name: 'unknown machine', req: 'TRC-MACHINE.1', make: (t) => updateAt(t, ['#meta', 'machine'], () => 'nns'), pointer: '/#meta/machine', message: /unknown machine "nns"/ },
  { name: 'no machine', req: 'TRC-MACHINE.1', make: (t) => deleteAt(t, ['#meta', 'machine']), pointer: '/#meta', message: /which machine/ },
  { name: 'first action not Init', req: 'TRC-VOCAB.1', make: (t) => updateAt(t, ['states', '0', 'last_action', 'tag'], () => 'Icrc1Transfer'), pointer: '/states/0/last_action/tag', message: /must be "Init"/ },
  { name: 'Init later', req: 'TRC-VOCAB.1', make: (t) => updateAt(t, ['states', '2', 'last_action'], () => t.states[0]!.last_action), pointer: '/states/2/last_action/tag', message: /unknown action "Init"/ },
  { name: 'unknown action tag', req: 'TRC-VOCAB.1', make: (t) => updateAt(t, ['states', '2', 'last_action', 'tag'], () => 'Approve'), pointer: '/states/2/last_action/tag', message: /unknown action "Approve"/ },
  { name: 'action is not a variant', req: 'TRC-VOCAB.1', make: (t) => updateAt(t, ['states', '1', 'last_action'], () => 'Icrc1Transfer'), pointer: '/states/1/last_action', message: /variant/ },
  { name: 'wrong type (amount as string)', req: 'TRC-VOCAB.1', make: (t) => updateAt(t, ['states', '1', 'last_action', 'value', 'amount'], () => '1000'), pointer: '/states/1/last_action/value/amount', message: /Icrc1Transfer/ },
  { name: 'extra argument', req: 'TRC-VOCAB.1', make: (t) => updateAt(t, ['states', '4', 'last_action', 'value'], (v) => ({ ...(v as object), spender: 'aaaaa-aa' })), pointer: '/states/4/last_action/value', message: /spender/ },
  { name: 'missing argument', req: 'TRC-VOCAB.1', make: (t) => deleteAt(t, ['states', '1', 'last_action', 'value', 'now']), pointer: '/states/1/last_action/value', message: /now/ },
  { name: 'nat64 = 2^64', req: 'TRC-RANGE.1', make: (t) => updateAt(t, ['states', '2', 'last_action', 'value', 'fee'], () => ({ '#bigint': (1n << 64n).toString() })), pointer: '/states/2/last_action/value/fee', message: /nat64/ },
  { name: 'Init nat64 = 2^64', req: 'TRC-RANGE.1', make: (t) => updateAt(t, ['states', '0', 'last_action', 'value', 'time', 'value'], () => ({ '#bigint': (1n << 64n).toString() })), pointer: '/states/0/last_action/value/time/value', message: /nat64/ },
  { name: 'initial value nat64 = 2^64', req: 'TRC-RANGE.1', make: (t) => updateAt(t, ['states', '0', 'last_action', 'value', 'initial_values', 'value', '1', '#tup', '1'], () => ({ '#bigint': (1n << 64n).toString() })), pointer: '/states/0/last_action/value/initial_values/value/1/#tup/1', message: /nat64/ },
  { name: 'upper-case principal', req: 'TRC-RANGE.1', make: (t) => updateAt(t, ['states', '3', 'last_action', 'value', 'caller'], (s) => (s as string).toUpperCase()), pointer: '/states/3/last_action/value/caller', message: /./ },
  { name: 'principal with a bad checksum', req: 'TRC-RANGE.1', make: (t) => updateAt(t, ['states', '1', 'last_action', 'value', 'to', 'owner'], (s) => `${(s as string).slice(0, -1)}${(s as string).endsWith('a') ? 'b' : 'a'}`), pointer: '/states/1/last_action/value/to/owner', message: /principal/ },
  { name: 'blob32 of 31 bytes', req: 'TRC-RANGE.1', make: (t) => updateAt(t, ['states', '1', 'last_action', 'value', 'from_subaccount'], () => ({ tag: 'Some', value: '00'.repeat(31) })), pointer: '/states/1/last_action/value/from_subaccount/value', message: /Icrc1Transfer: must match pattern/ },
  { name: 'fraction in a view variable', req: 'TRC-ITF-INT.1', make: (t) => updateAt(t, ['states', '2', 'total_supply'], () => 1.5), pointer: '/states/2/total_supply', message: /1\.5 is not a safe integer/ },
  { name: 'unsafe legacy integer in a view variable', req: 'TRC-ITF-INT.1', make: (t) => updateAt(t, ['states', '2', 'total_supply'], () => 2 ** 60), pointer: '/states/2/total_supply', message: /safe integer/ },
  { name: 'malformed outcome', req: 'TRC-OUTCOME.1', make: (t) => updateAt(t, ['states', '3', 'outcome'], () => ({ tag: 'Maybe', value: { '#tup': [] } })), pointer: '/states/3/outcome/tag', message: /outcome: unknown tag "Maybe"/ },
];

// ---------------------------------------------------------------- loading and replaying

describe('loading and replaying a valid trace', () => {
  it('[TRC-INIT.1] [TRC-REPLAY.1] [TRC-OUTCOME.1] [TRC-VOCAB.1] a trace written by record() loads and replays with no divergence', () => {
    const j = validTrace();
    // the trace has what the scenario says it has
    expect(j.states).toHaveLength(5);
    expect(j.states.map((s) => (s.outcome as { tag: string }).tag)).toEqual(['Ok', 'Ok', 'Ok', 'Err', 'Ok']);
    expect(resolvePointer(j, '/states/3/outcome/value/tag').value).toBe('InsufficientFunds');
    expect(resolvePointer(j, '/states/1/outcome/value').value).toEqual({ '#bigint': '2' });
    const t = mustLoad(j);
    expect(t.machineName).toBe('ledger');
    expect(t.requirements).toEqual(REQS);
    expect(t.steps.map((s) => s.tag)).toEqual(['Init', 'Icrc1Transfer', 'Transfer', 'Icrc1Transfer', 'Icrc1Transfer']);
    expect(t.compared).toEqual(expect.arrayContaining(['balances', 'total_supply', 'block_count', 'time']));
    expect(t.ignored).toEqual([]);
    const r = replay(ledgerMachine, t);
    expect(r.divergence).toBeUndefined();
    expect(r.steps).toBe(5);
    expect(r.applied).toBe(4);
  });

  it('[TRC-MACHINE.1] without #meta.machine, the stem of #meta.source names the machine', () => {
    const j = validTrace();
    delete j['#meta'].machine;
    j['#meta'].source = 'models/ledger.qnt';
    const t = mustLoad(j);
    expect(t.machineName).toBe('ledger');
    expect(replay(ledgerMachine, t).divergence).toBeUndefined();
    j['#meta'].source = 'models/nns.qnt';
    expect(bad(j).pointer).toBe('/#meta');
  });

  it('[TRC-ITF-INT.1] [TRC-ITF-UNIT.1] [TRC-ITF-OPTION.1] legacy integers, other unit spellings and value-less None still load and replay', () => {
    const j = validTrace();
    const k = updateAt(
      updateAt(
        updateAt(j, ['states', '1', 'last_action', 'value', 'now'], () => 2000),
        ['states', '1', 'last_action', 'value', 'memo'],
        () => ({ tag: 'None' }),
      ),
      ['states', '0', 'outcome', 'value'],
      () => 'U_OF_UNIT',
    );
    const k2 = updateAt(k, ['states', '2', 'last_action', 'value', 'from_subaccount', 'value'], () => ({ tag: 'UNIT' }));
    const t = mustLoad(k2);
    expect(replay(ledgerMachine, t).divergence).toBeUndefined();
  });
});

describe('bad input', () => {
  for (const m of MALFORMED) {
    it(`[TRC-BAD-INPUT.1]${m.req === 'TRC-BAD-INPUT.1' ? '' : ` [${m.req}]`} ${m.name}: reported as bad input at its JSON pointer`, () => {
      const b = bad(m.make(validTrace()));
      expect(b.file).toBe('mem.itf.json');
      expect(b.pointer).toBe(m.pointer);
      expect(b.message).toMatch(m.message);
      expect(b.message).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('[TRC-BAD-INPUT.1] [TRC-RANGE.1] [TRC-VOCAB.1] any nat64 argument set to 2^64..10^20-1 is bad input at exactly that argument', () => {
    const j = validTrace();
    const places: string[][] = [];
    j.states.forEach((s, i) => {
      const a = s.last_action as { tag: string; value: Record<string, Json> };
      for (const f of ['now', 'fee', 'memo', 'amount']) {
        if (a.tag === 'Transfer' || f === 'now') if (f in a.value) places.push(['states', String(i), 'last_action', 'value', f]);
      }
    });
    expect(places.length).toBeGreaterThan(4);
    fc.assert(
      fc.property(fc.constantFrom(...places), fc.bigInt({ min: 1n << 64n, max: 10n ** 20n - 1n }), (segs, n) => {
        const b = bad(updateAt(j, segs, () => ({ '#bigint': n.toString() })));
        expect(b.pointer).toBe(pointerOf(segs));
        // and 2^64-1 is in range: the trace loads (it may diverge, that is replay's business)
        expect(load(updateAt(j, segs, () => ({ '#bigint': ((1n << 64n) - 1n).toString() }))).ok).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

// ---------------------------------------------------------------- divergences

describe('divergence reports', () => {
  it('[TRC-DIVERGENCE.1] [TRC-OUTCOME.1] an altered error payload is reported at the outcome, with the action’s and the guard’s requirement IDs', () => {
    const j = validTrace();
    const ptr = '/states/3/outcome/value/value/balance';
    const old = resolvePointer(j, ptr).value as { '#bigint': string };
    const t = mustLoad(updateAt(j, ptr.slice(1).split('/'), () => ({ '#bigint': (BigInt(old['#bigint']) + 1n).toString() })));
    const r = replay(ledgerMachine, t);
    const d = r.divergence!;
    expect(d).toBeDefined();
    expect(d.step).toBe(3);
    expect(d.action).toBe('Icrc1Transfer');
    expect(d.kind).toBe('outcome');
    expect(d.pointer).toBe(ptr);
    expect(d.path).toBe('outcome.Err.InsufficientFunds.balance');
    expect(d.expected).toBe(JSON.stringify({ '#bigint': (BigInt(old['#bigint']) + 1n).toString() }));
    expect(d.actual).toBe(JSON.stringify(old));
    expect(d.reqs).toContain('LED-ICRC1-TRANSFER.1');
    expect(d.reqs).toContain('LED-INSUFFICIENT.1');
    expect(r.applied).toBe(3);
  });

  it('[TRC-DIVERGENCE.1] [TRC-OUTCOME.1] an Ok outcome changed to Err is reported at outcome.tag', () => {
    const j = validTrace();
    const t = mustLoad(updateAt(j, ['states', '2', 'outcome'], () => ({ tag: 'Err', value: { tag: 'TxTooOld', value: { allowed_window_nanos: { '#bigint': '1' } } } })));
    const d = replay(ledgerMachine, t).divergence!;
    expect(d).toMatchObject({ step: 2, action: 'Transfer', kind: 'outcome', path: 'outcome.tag', pointer: '/states/2/outcome/tag', expected: '"Err"', actual: '"Ok"' });
    expect(d.reqs).toContain('LED-LEGACY-TRANSFER.1');
  });

  it('[TRC-DIVERGENCE.1] [TRC-REPLAY.1] an altered balance in the view is reported at that map entry, with its account id in the path', () => {
    const j = validTrace();
    const entries = resolvePointer(j, '/states/2/balances/#map').value as Array<[string, Json]>;
    const i = entries.findIndex(([k]) => k === ID.alice);
    expect(i).toBeGreaterThanOrEqual(0);
    const t = mustLoad(updateAt(j, ['states', '2', 'balances', '#map', String(i), '1'], () => ({ '#bigint': '1' })));
    const d = replay(ledgerMachine, t).divergence!;
    expect(d).toMatchObject({ step: 2, action: 'Transfer', kind: 'view', pointer: `/states/2/balances/#map/${i}/1`, path: `balances["${ID.alice}"]`, expected: '{"#bigint":"1"}' });
    expect(d.reqs).toEqual(['LED-LEGACY-TRANSFER.1']);
  });

  it('[TRC-DIVERGENCE.1] [TRC-INIT.1] a wrong initial view is reported at step 0 with TRC-INIT.1', () => {
    const j = validTrace();
    const t = mustLoad(updateAt(j, ['states', '0', 'total_supply'], () => ({ '#bigint': '5' })));
    const d = replay(ledgerMachine, t).divergence!;
    expect(d).toMatchObject({ step: 0, action: 'Init', pointer: '/states/0/total_supply', path: 'total_supply', expected: '{"#bigint":"5"}' });
    expect(d.reqs).toContain('TRC-INIT.1');
    const t2 = mustLoad(updateAt(j, ['states', '0', 'outcome'], () => ({ tag: 'NotEnabled', value: { '#tup': [] } })));
    expect(replay(ledgerMachine, t2).divergence).toMatchObject({ step: 0, kind: 'init', pointer: '/states/0/outcome/tag' });
  });

  it('[TRC-DIVERGENCE.1] [TRC-REPLAY.1] [TRC-OUTCOME.1] altering any scalar view variable or Ok outcome at any step diverges exactly there', () => {
    const j = validTrace();
    const spots: string[][] = [];
    j.states.forEach((s, i) => {
      for (const v of ['total_supply', 'block_count', 'time']) spots.push(['states', String(i), v]);
      if ((s.outcome as { tag: string }).tag === 'Ok' && i > 0) spots.push(['states', String(i), 'outcome', 'value']);
    });
    fc.assert(
      fc.property(fc.constantFrom(...spots), fc.bigInt({ min: 1n, max: 1n << 70n }), (segs, delta) => {
        const ptr = pointerOf(segs);
        const old = BigInt((resolvePointer(j, ptr).value as { '#bigint': string })['#bigint']);
        const r = replay(ledgerMachine, mustLoad(updateAt(j, segs, () => ({ '#bigint': (old + delta).toString() }))));
        const d = r.divergence!;
        const step = Number(segs[1]);
        expect(d).toBeDefined();
        expect(d.step).toBe(step);
        expect(d.pointer).toBe(ptr);
        expect(d.kind).toBe(segs[2] === 'outcome' ? 'outcome' : step === 0 && segs[2] === 'outcome' ? 'init' : 'view');
        expect(d.path).toBe(segs[2] === 'outcome' ? 'outcome.Ok' : segs[2]);
        expect(d.expected).toBe(JSON.stringify({ '#bigint': (old + delta).toString() }));
        expect(d.actual).toBe(JSON.stringify({ '#bigint': old.toString() }));
        const tag = (j.states[step]!.last_action as { tag: string }).tag;
        expect(d.action).toBe(tag);
        if (step === 0) expect(d.reqs).toContain('TRC-INIT.1');
        else expect(d.reqs).toContain(tag === 'Transfer' ? 'LED-LEGACY-TRANSFER.1' : 'LED-ICRC1-TRANSFER.1');
      }),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------- Quint conventions

/** The same run written the way Quint's MBT mode writes it: no last_action, the picks as Options. */
const toMbt = (j: TraceJson, omitNone: boolean): unknown => {
  const snake = (tag: string) => tag.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  return {
    '#meta': { format: 'ITF', source: 'ledger.qnt', status: 'ok' },
    vars: ['mbt::actionTaken', 'mbt::nondetPicks', 'balances', 'total_supply', 'block_count'],
    states: j.states.map((s, i) => {
      const a = s.last_action as { tag: string; value: Record<string, Json> };
      const picks: Record<string, Json> = {};
      for (const [k, v] of Object.entries(a.value)) {
        const isNone = typeof v === 'object' && v !== null && (v as { tag?: string }).tag === 'None';
        if (isNone && omitNone) continue;
        picks[k] = isNone ? { tag: 'None', value: { '#tup': [] } } : { tag: 'Some', value: v };
      }
      return { 'mbt::actionTaken': i === 0 ? 'init' : snake(a.tag), 'mbt::nondetPicks': picks, balances: s.balances, total_supply: s.total_supply, block_count: s.block_count };
    }),
  };
};

describe('Quint traces', () => {
  it('[TRC-MBT.1] [TRC-ITF-OPTION.1] an mbt-style trace (mbt::actionTaken + mbt::nondetPicks, Some/None or missing picks, no last_action) replays', () => {
    fc.assert(
      fc.property(fc.boolean(), (omitNone) => {
        const mbt = toMbt(validTrace(), omitNone);
        const t = mustLoad(mbt);
        expect(t.steps.map((s) => s.tag)).toEqual(['Init', 'Icrc1Transfer', 'Transfer', 'Icrc1Transfer', 'Icrc1Transfer']);
        expect(t.steps.every((s) => s.outcome === undefined)).toBe(true);
        expect(replay(ledgerMachine, t).divergence).toBeUndefined();
        // and a wrong balance is still caught
        const broken = updateAt(mbt, ['states', '4', 'total_supply'], () => ({ '#bigint': '0' }));
        expect(replay(ledgerMachine, mustLoad(broken)).divergence).toMatchObject({ step: 4, kind: 'view', path: 'total_supply', pointer: '/states/4/total_supply' });
      }),
      { numRuns: 4 },
    );
  });

  it('[TRC-MBT.1] [TRC-VOCAB.1] an unknown mbt::actionTaken is bad input at that variable', () => {
    const mbt = updateAt(toMbt(validTrace(), true), ['states', '2', 'mbt::actionTaken'], () => 'approve');
    expect(bad(mbt).pointer).toBe('/states/2/mbt::actionTaken');
  });

  it('[TRC-MBT.1] Quint-qualified variable names (ledger::balances) are un-qualified and compared', () => {
    const j = validTrace();
    const q = (v: string) => (v === 'balances' ? 'ledger::balances' : v === 'total_supply' ? 'm::ledger::total_supply' : v);
    const qj = { ...j, vars: j.vars.map(q), states: j.states.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [q(k), v]))) };
    const t = mustLoad(qj);
    expect(t.compared).toEqual(expect.arrayContaining(['balances', 'total_supply']));
    expect(t.ignored).toEqual([]);
    expect(t.steps[2]!.view.balances).toEqual(fromJson(j.states[2]!.balances));
    expect(replay(ledgerMachine, t).divergence).toBeUndefined();
    const broken = updateAt(qj, ['states', '3', 'm::ledger::total_supply'], () => ({ '#bigint': '1' }));
    const d = replay(ledgerMachine, mustLoad(broken)).divergence!;
    expect(d).toMatchObject({ step: 3, kind: 'view', path: 'total_supply', expected: '{"#bigint":"1"}' });
    expect(d.pointer).toBe('/states/3/m::ledger::total_supply'); // the file's own spelling of the variable
  });
});
