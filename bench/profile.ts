/**
 * Where the time goes, measured: a CPU profile (V8's sampling profiler through node:inspector)
 * of one run of a workload, summarized for the benchmark report. Every benchmark attaches one
 * to each target it does not meet, so that the report itself shows what explains the gap.
 *
 * The profiled run is an extra run, never one of the timed ones (the profiler slows the
 * program down by a few per cent).
 */
import { Session } from 'node:inspector/promises';

export interface ProfileSummary {
  /** what was profiled */
  readonly workload: string;
  /** wall time of the profiled run and the time the samples cover */
  readonly wall_ms: number;
  readonly sampled_ms: number;
  /** share of the samples in garbage collection */
  readonly gc_share: number;
  /** the functions with the most self time (function, source:line) */
  readonly top_functions: ReadonlyArray<{ readonly fn: string; readonly self_ms: number; readonly share: number }>;
  /** self time by source: a file of this project, a package, a Node builtin, GC or native code */
  readonly by_source: ReadonlyArray<{ readonly source: string; readonly self_ms: number; readonly share: number }>;
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number } }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

/** The source a frame belongs to: `src/ledger/rules.js`, a package name, `node:…`, or the frame's own name. */
const sourceOf = (url: string, name: string): string => {
  if (url === '') return name;
  if (url.includes('node_modules/')) {
    const parts = url.split('node_modules/').pop()!.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return url;
  const m = /\/dist\/(.*)$/.exec(url);
  return m ? m[1]! : url.split('/').slice(-2).join('/');
};

const top = (m: Map<string, number>, total: number, n: number) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => ({ k, self_ms: round(us / 1000, 1), share: round(us / total, 3) }));

export const summarize = (workload: string, wallMs: number, p: CpuProfile, n = 12): ProfileSummary => {
  const byId = new Map(p.nodes.map((x) => [x.id, x.callFrame]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fns = new Map<string, number>();
  const sources = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!;
    const name = cf.functionName || '(anonymous)';
    // idle time, and the profiler's own calls (starting and stopping it) are not the workload's
    if (name === '(idle)' || name === '(program)' || cf.url === 'node:inspector' || cf.url.startsWith('node:inspector/')) continue;
    total += us;
    const src = sourceOf(cf.url, name);
    const fn = cf.url === '' ? name : `${name} ${src}:${cf.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    sources.set(src, (sources.get(src) ?? 0) + us);
  }
  const t = Math.max(total, 1);
  return {
    workload,
    wall_ms: round(wallMs, 1),
    sampled_ms: round(total / 1000, 1),
    gc_share: round((sources.get('(garbage collector)') ?? 0) / t, 3),
    top_functions: top(fns, t, n).map(({ k, ...r }) => ({ fn: k, ...r })),
    by_source: top(sources, t, n).map(({ k, ...r }) => ({ source: k, ...r })),
  };
};

/** Run `fn` once under the CPU profiler and summarize where its time went. */
export const profileOf = async (workload: string, fn: () => unknown): Promise<ProfileSummary> => {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const t = performance.now();
    await fn();
    const wall = performance.now() - t;
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    return summarize(workload, wall, profile);
  } finally {
    session.disconnect();
  }
};
