/**
 * Loading a trace file: JSON → ITF schema → machine vocabulary schema → io-ts decoding.
 * Every failure is one BadInput naming the file and a JSON pointer ([TRC-BAD-INPUT.1]).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import _Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { packageRoot } from '../core/root.js';
import { MACHINES, type MachineEntry } from '../machines.js';
import { decodeWith } from './codecs.js';
import { escPtr, fromJson, ItfDecodeError, type ItfValue } from './itf.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Ajv2020 = ((_Ajv2020 as any).default ?? _Ajv2020) as typeof import('ajv/dist/2020.js').default;

export interface BadInput {
  readonly ok: false;
  readonly file: string;
  readonly pointer: string;
  readonly message: string;
}

export interface Step {
  /** index of the ITF state */
  readonly index: number;
  readonly tag: string;
  /** typed arguments, decoded by the action's codec */
  readonly args: unknown;
  /** the expected outcome, when the trace has an `outcome` variable */
  readonly outcome: ItfValue | undefined;
  /** expected view variables */
  readonly view: Readonly<Record<string, ItfValue>>;
}

export interface LoadedTrace {
  readonly ok: true;
  readonly file: string;
  readonly machineName: string;
  readonly entry: MachineEntry;
  readonly meta: Readonly<Record<string, unknown>>;
  /** requirement IDs the trace says it exercises (`#meta.requirements`) */
  readonly requirements: readonly string[];
  /** view variables compared at every step */
  readonly compared: readonly string[];
  /** JSON-pointer segment of each variable as the file spells it (Quint may qualify names) */
  readonly segment: Readonly<Record<string, string>>;
  /** variables present in the trace that the machine does not know (reported, not compared) */
  readonly ignored: readonly string[];
  readonly steps: readonly Step[];
}

export const ACTION_VAR = 'last_action';
export const OUTCOME_VAR = 'outcome';
const MBT_ACTION = 'mbt::actionTaken';
const MBT_PICKS = 'mbt::nondetPicks';

const ajv = new Ajv2020({ allErrors: true, strict: false, discriminator: true });
let itfValidate: ValidateFunction | undefined;
const vocab = new Map<string, { action: (tag: string) => ValidateFunction | undefined; outcome: ValidateFunction }>();

const readSchema = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(packageRoot(), 'spec', 'schema', name), 'utf8')) as Record<string, unknown>;

/**
 * The ITF schema as the loader applies it: its trace layout (vars, states, #meta, loop), with
 * the recursive value grammar left to `fromJson`, which has already checked every value with
 * the same rules and exact pointers (and is several times faster than an 11-way anyOf at every
 * nesting level). `properties/itf.test.ts` checks that the two agree on generated values.
 */
const itfSchema = (): ValidateFunction => {
  if (!itfValidate) {
    const schema = readSchema('itf.schema.json') as { $defs: Record<string, unknown> };
    itfValidate = ajv.compile({ ...schema, $id: `${String((schema as { $id?: string }).$id).replace(/\.json$/, "")}-layout.json`, $defs: { ...schema.$defs, value: true } });
  }
  return itfValidate;
};

const vocabulary = (entry: MachineEntry) => {
  let v = vocab.get(entry.schema);
  if (!v) {
    const schema = readSchema(entry.schema);
    ajv.addSchema(schema);
    const id = schema.$id as string;
    const cache = new Map<string, ValidateFunction | undefined>();
    const defs = (schema.$defs as { actions: Record<string, unknown> }).actions;
    v = {
      action: (tag) => {
        if (!cache.has(tag)) cache.set(tag, Object.hasOwn(defs, tag) ? ajv.getSchema(`${id}#/$defs/actions/${tag}`) : undefined);
        return cache.get(tag);
      },
      outcome: ajv.getSchema(`${id}#/$defs/outcome`)!,
    };
    vocab.set(entry.schema, v);
  }
  return v;
};

/**
 * The most useful of ajv's errors: an unknown variant tag (the schemas discriminate variants
 * by `tag`), else the deepest error, which names the real problem.
 */
const ajvError = (errors: readonly ErrorObject[] | null | undefined): { pointer: string; message: string } => {
  const all = [...(errors ?? [])];
  const disc = all.find((x) => x.keyword === 'discriminator');
  if (disc) {
    const p = disc.params as { tag: string; tagValue: unknown };
    return { pointer: `${disc.instancePath}/${p.tag}`, message: `unknown tag ${JSON.stringify(p.tagValue)}` };
  }
  const depth = (x: ErrorObject) => (x.instancePath.match(/\//g) ?? []).length * 2 + (x.keyword === 'anyOf' || x.keyword === 'oneOf' ? 0 : 1);
  const e = all.sort((x, y) => depth(y) - depth(x))[0];
  if (!e) return { pointer: '', message: 'schema violation' };
  const extra = e.keyword === 'additionalProperties' ? ` ("${(e.params as { additionalProperty: string }).additionalProperty}")` : '';
  return { pointer: e.instancePath, message: `${e.message ?? 'schema violation'}${extra}` };
};

/** Normalized action name for mapping Quint's `mbt::actionTaken` (e.g. `icrc1Transfer`, `icrc1_transfer`). */
const norm = (s: string): string => s.toLowerCase().replace(/[_\s-]/g, '');

/** Quint qualifies imported variables (`mod::inst::x`); `mbt::` names are kept. */
const unqualify = (v: string): string => (v.startsWith('mbt::') || !v.includes('::') ? v : v.slice(v.lastIndexOf('::') + 2));

/** [TRC-MACHINE.1] */
const machineOf = (meta: Record<string, unknown>): string | undefined => {
  if (typeof meta.machine === 'string') return meta.machine;
  if (typeof meta.source === 'string') {
    const stem = basename(meta.source).replace(/\..*$/, '');
    if (Object.hasOwn(MACHINES, stem)) return stem;
  }
  return undefined;
};

export const loadTraceText = (file: string, text: string): LoadedTrace | BadInput => {
  const bad = (pointer: string, message: string): BadInput => ({ ok: false, file, pointer, message });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return bad('', `not JSON: ${(e as Error).message}`);
  }
  // Values first: fromJson names the exact place of a malformed value (a fraction, a bad
  // #bigint, a one-element map entry, a duplicate map key), where the schema's anyOf cannot.
  const states = (json as { states?: unknown }).states;
  if (Array.isArray(states))
    try {
      states.forEach((st, i) => {
        if (typeof st === 'object' && st !== null && !Array.isArray(st))
          for (const [k, x] of Object.entries(st)) if (k !== '#meta') fromJson(x, `/states/${i}/${escPtr(k)}`);
      });
    } catch (e) {
      if (e instanceof ItfDecodeError) return bad(e.pointer, e.message);
      throw e;
    }
  // [TRC-ITF-SCHEMA.1]
  const v = itfSchema();
  if (!v(json)) {
    const { pointer, message } = ajvError(v.errors);
    return bad(pointer, `not an ITF trace: ${message}`);
  }
  const doc = json as { '#meta'?: Record<string, unknown>; vars: string[]; states: Array<Record<string, unknown>>; loop?: number };
  const meta = doc['#meta'] ?? {};
  // [TRC-ITF-SEMANTIC.1]
  if (doc.loop !== undefined && doc.loop >= doc.states.length) return bad('/loop', `loop index ${doc.loop} ≥ number of states ${doc.states.length}`);
  for (let i = 0; i < doc.states.length; i++) {
    for (const name of doc.vars) if (!(name in doc.states[i]!)) return bad(`/states/${i}`, `state lacks variable "${name}" listed in vars`);
    for (const k of Object.keys(doc.states[i]!)) if (k !== '#meta' && !doc.vars.includes(k)) return bad(`/states/${i}/${escPtr(k)}`, `variable "${k}" is not listed in vars`);
  }
  if (doc.states.length === 0) return bad('/states', 'a trace needs at least its initial state');
  const machineName = machineOf(meta);
  if (machineName === undefined) return bad('/#meta', 'cannot tell which machine this trace is for: set "#meta.machine" (one of: ' + Object.keys(MACHINES).join(', ') + ')');
  const entry = Object.hasOwn(MACHINES, machineName) ? MACHINES[machineName] : undefined;
  if (!entry) return bad('/#meta/machine', `unknown machine "${machineName}" (known: ${Object.keys(MACHINES).join(', ')})`);
  const m = entry.machine;
  const voc = vocabulary(entry);
  const byName = new Map(doc.vars.map((raw) => [unqualify(raw), raw] as const));
  const actionVar = byName.get(ACTION_VAR);
  const mbt = actionVar === undefined && byName.has(MBT_ACTION); // [TRC-MBT.1]
  if (actionVar === undefined && !mbt) return bad('/vars', `the trace has no "${ACTION_VAR}" variable (nor "${MBT_ACTION}")`);
  const outcomeVar = byName.get(OUTCOME_VAR);
  const seg = (logical: string): string => escPtr(byName.get(logical) ?? logical);
  const compared = [...byName.keys()].filter((k) => Object.hasOwn(m.view, k));
  const ignored = [...byName.keys()].filter((k) => !Object.hasOwn(m.view, k) && k !== ACTION_VAR && k !== OUTCOME_VAR && !k.startsWith('mbt::'));
  const actionsByNorm = new Map([m.initAction, ...Object.keys(m.actions)].map((a) => [norm(a), a] as const));

  const steps: Step[] = [];
  try {
    for (let i = 0; i < doc.states.length; i++) {
      const st = doc.states[i]!;
      let tag: string;
      let rawArgs: unknown;
      let argsPtr: string;
      if (!mbt) {
        const a = st[actionVar!] as { tag?: unknown; value?: unknown };
        const ptr = `/states/${i}/${seg(ACTION_VAR)}`;
        if (typeof a !== 'object' || a === null || typeof a.tag !== 'string') return bad(ptr, 'the action must be a variant {"tag": name, "value": arguments}');
        tag = a.tag;
        const expectInit = i === 0;
        if (expectInit && tag !== m.initAction) return bad(`${ptr}/tag`, `the first state's action must be "${m.initAction}", not "${tag}"`);
        if (!expectInit && !Object.hasOwn(m.actions, tag)) return bad(`${ptr}/tag`, `unknown action "${tag}" for machine ${machineName} (known: ${Object.keys(m.actions).join(', ')})`);
        const sv = voc.action(tag); // [TRC-VOCAB.1]
        if (sv && !sv(a.value)) {
          const { pointer, message } = ajvError(sv.errors);
          return bad(`${ptr}/value${pointer}`, `${tag}: ${message}`);
        }
        rawArgs = a.value;
        argsPtr = `${ptr}/value`;
        if (entry.resolve !== undefined) {
          const r = entry.resolve(tag, rawArgs, dirname(file));
          if (!('ok' in r)) return bad(`${argsPtr}${r.pointer}`, `${tag}: ${r.message}`);
          rawArgs = r.ok;
        }
      } else {
        const taken = st[byName.get(MBT_ACTION)!];
        const ptr = `/states/${i}/${seg(MBT_ACTION)}`;
        if (typeof taken !== 'string') return bad(ptr, 'mbt::actionTaken must be a string');
        const found = i === 0 ? m.initAction : actionsByNorm.get(norm(taken)); // Map: no prototype keys
        if (found === undefined) return bad(ptr, `unknown action "${taken}" for machine ${machineName}`);
        tag = found;
        const picks = byName.has(MBT_PICKS) ? (st[byName.get(MBT_PICKS)!] as Record<string, unknown>) : {};
        const args: Record<string, unknown> = {};
        for (const [k, p] of Object.entries(picks ?? {})) {
          const o = p as { tag?: string; value?: unknown };
          if (o && o.tag === 'Some') args[k] = o.value;
        }
        rawArgs = args;
        argsPtr = `/states/${i}/${seg(MBT_PICKS)}`;
      }
      if (outcomeVar !== undefined && !voc.outcome(st[outcomeVar])) {
        const { pointer, message } = ajvError(voc.outcome.errors);
        return bad(`/states/${i}/${seg(OUTCOME_VAR)}${pointer}`, `outcome: ${message}`);
      }
      const argsItf = fromJson(rawArgs ?? {}, argsPtr);
      let args: unknown;
      if (i === 0) {
        if (mbt && Object.keys(argsItf as object).length === 0) args = m.defaultConfig;
        else {
          const d = decodeWith(m.initArgs, argsItf);
          if (!d.ok) return bad(`${argsPtr}${d.pointer}`, `${tag}: ${d.message}`);
          args = d.value;
        }
      } else {
        const d = decodeWith(m.actions[tag]!.args, argsItf);
        if (!d.ok) return bad(`${argsPtr}${d.pointer}`, `${tag}: ${d.message}`);
        args = d.value;
      }
      const view: Record<string, ItfValue> = {};
      for (const name of compared) view[name] = fromJson(st[byName.get(name)!], `/states/${i}/${seg(name)}`);
      steps.push({ index: i, tag, args, outcome: outcomeVar === undefined ? undefined : fromJson(st[outcomeVar], `/states/${i}/${seg(OUTCOME_VAR)}`), view });
    }
  } catch (e) {
    if (e instanceof ItfDecodeError) return bad(e.pointer, e.message);
    throw e;
  }
  const requirements = Array.isArray(meta.requirements) ? meta.requirements.filter((x): x is string => typeof x === 'string') : [];
  const segment = Object.fromEntries([...byName.keys()].map((k) => [k, seg(k)]));
  return { ok: true, file, machineName, entry, meta, requirements, compared, segment, ignored, steps };
};

export const loadTrace = (file: string): LoadedTrace | BadInput => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, file, pointer: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  return loadTraceText(file, text);
};
