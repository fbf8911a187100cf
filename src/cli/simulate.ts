/**
 * `icspec simulate consensus`: run a subnet under the seeded scheduler (src/consensus/sim.ts)
 * and report rounds, finalization, latency percentiles and the safety verdict.
 * This is the CLI, where wall-clock time may be read (for the progress bar only).
 */
import { writeFileSync } from 'node:fs';
import { faultsTolerated } from '../consensus/params.js';
import { defaultSimOptions, percentile, simulate, STRATEGIES, type SimOptions, type Strategy } from '../consensus/sim.js';
import { simTrace } from '../consensus/trace.js';

export class SimUsageError extends Error {}

const intArg = (name: string, v: string | undefined, min: number, max: number): number => {
  if (v === undefined || !/^[0-9]+$/.test(v)) throw new SimUsageError(`${name} needs a whole number, got ${v === undefined ? 'nothing' : `"${v}"`}`);
  const n = Number(v);
  if (n < min || n > max) throw new SimUsageError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
};

export const parseSimArgs = (args: readonly string[]): { opts: SimOptions; json: boolean; out: string | undefined } => {
  if (args[0] !== 'consensus') throw new SimUsageError(`simulate needs a subsystem: "simulate consensus" (got ${args[0] === undefined ? 'nothing' : `"${args[0]}"`})`);
  let o: SimOptions = { ...defaultSimOptions };
  let json = false;
  let out: string | undefined;
  const seen = new Set<string>();
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = (): string | undefined => inline ?? args[++i];
    if (seen.has(flag) && flag.startsWith('--')) throw new SimUsageError(`${flag} given twice`);
    seen.add(flag);
    switch (flag) {
      case '--nodes':
        o = { ...o, nodes: intArg('--nodes', val(), 1, 100) };
        break;
      case '--faulty':
        o = { ...o, faulty: intArg('--faulty', val(), 0, 100) };
        break;
      case '--rounds':
        o = { ...o, rounds: intArg('--rounds', val(), 1, 1_000_000) };
        break;
      case '--seed':
        o = { ...o, seed: intArg('--seed', val(), 0, 2 ** 32 - 1) };
        break;
      case '--delay-ms': {
        const v = val();
        const m = v === undefined ? null : /^([0-9]+)-([0-9]+)$/.exec(v);
        if (!m) throw new SimUsageError(`--delay-ms needs MIN-MAX in milliseconds (e.g. 20-200), got ${v === undefined ? 'nothing' : `"${v}"`}`);
        const lo = Number(m[1]);
        const hi = Number(m[2]);
        if (lo > hi || hi > 600_000) throw new SimUsageError(`--delay-ms: need MIN ≤ MAX ≤ 600000, got ${lo}-${hi}`);
        o = { ...o, delayMs: [lo, hi] };
        break;
      }
      case '--strategy': {
        const v = val();
        if (!STRATEGIES.includes(v as Strategy)) throw new SimUsageError(`--strategy must be one of ${STRATEGIES.join(', ')}, got ${v === undefined ? 'nothing' : `"${v}"`}`);
        o = { ...o, strategy: v as Strategy };
        break;
      }
      case '--ingress-rate':
        o = { ...o, ingressPerSecond: intArg('--ingress-rate', val(), 0, 1000) };
        break;
      case '--dkg-interval':
        o = { ...o, dkgInterval: intArg('--dkg-interval', val(), 1, 1_000_000) };
        break;
      case '--out': {
        const v = val();
        if (v === undefined || v.startsWith('--')) throw new SimUsageError('--out needs a file name');
        out = v;
        break;
      }
      case '--json':
        if (inline !== undefined) throw new SimUsageError('--json takes no value');
        json = true;
        break;
      default:
        throw new SimUsageError(`unknown option ${a}`);
    }
  }
  if (o.nodes !== 3 * faultsTolerated(o.nodes) + 1) throw new SimUsageError(`--nodes must be 3f + 1 (1, 4, 7, 10, 13, …, 28, …, 40), got ${o.nodes}`);
  if (o.faulty > o.nodes) throw new SimUsageError(`--faulty ${o.faulty} is more than --nodes ${o.nodes}`);
  if (o.faulty === o.nodes) throw new SimUsageError('at least one replica must be honest');
  return { opts: { ...o, record: out !== undefined }, json, out };
};

export const cmdSimulate = (args: readonly string[], write: (s: string) => void, writeErr: (s: string) => void, tty: boolean): number => {
  const { opts, json, out } = parseSimArgs(args);
  const started = Date.now();
  const bar = (r: number) => {
    const w = 30;
    const k = Math.min(w, Math.round((r / opts.rounds) * w));
    writeErr(`\r[${'#'.repeat(k)}${'.'.repeat(w - k)}] round ${r}/${opts.rounds} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  };
  const showBar = tty && !json;
  const res = simulate({ ...opts, onProgress: showBar ? bar : undefined });
  if (showBar) writeErr('\r\x1b[K');
  const f = faultsTolerated(opts.nodes);
  const lat = res.latenciesMs;
  const report = {
    nodes: opts.nodes,
    faulty: opts.faulty,
    f,
    withinFaultBound: opts.faulty <= f,
    strategy: opts.faulty === 0 ? 'none' : opts.strategy,
    seed: opts.seed,
    delayMs: opts.delayMs,
    rounds: res.rounds,
    finalizedHeight: res.finalizedHeight,
    finalizedByAllHonest: res.finalizedByAll,
    finalizationRate: res.rounds === 0 ? 0 : Math.round((res.finalizedHeight / res.rounds) * 1000) / 1000,
    simulatedSeconds: res.simulatedMs / 1000,
    steps: res.steps,
    ingress: { submitted: res.ingressSubmitted, finalized: lat.length },
    latencyMs: { p50: percentile(lat, 50) ?? null, p90: percentile(lat, 90) ?? null, p99: percentile(lat, 99) ?? null, max: lat.length ? lat[lat.length - 1]! : null },
    safety: res.safety.held ? 'held' : 'violated',
    ...(res.safety.held ? {} : { violation: res.safety.detail }),
    stateAgreement: res.stateAgreement ? 'held' : 'violated',
    ...(out ? { trace: out } : {}),
  };
  if (out) {
    const tr = simTrace(res.config, res.recorded, { description: `icspec simulate consensus ${args.slice(1).join(' ')}`, seed: opts.seed });
    writeFileSync(out, JSON.stringify(tr) + '\n');
  }
  if (json) write(JSON.stringify(report));
  else {
    write(`subnet: ${opts.nodes} nodes, ${opts.faulty} faulty (f = ${f}${opts.faulty > f ? ', fault bound exceeded' : ''}), strategy ${report.strategy}, seed ${opts.seed}, delays ${opts.delayMs[0]}-${opts.delayMs[1]} ms`);
    write(`rounds:            ${report.rounds} (${report.simulatedSeconds.toFixed(1)} s simulated, ${report.steps} steps)`);
    write(`finalized height:  ${report.finalizedHeight} (all honest replicas: ${report.finalizedByAllHonest})`);
    write(`finalization rate: ${report.finalizationRate}`);
    write(`ingress:           ${report.ingress.finalized}/${report.ingress.submitted} finalized`);
    write(`latency (ms):      p50 ${report.latencyMs.p50 ?? '-'}  p90 ${report.latencyMs.p90 ?? '-'}  p99 ${report.latencyMs.p99 ?? '-'}`);
    write(`safety:            ${report.safety.toUpperCase()}${res.safety.held ? '' : ` — ${res.safety.detail}`}`);
    write(`state agreement:   ${report.stateAgreement}`);
    if (out) write(`trace written to ${out}`);
  }
  return res.safety.held ? 0 : 1;
};
