/**
 * `icspec simulate consensus`: run a subnet under the seeded scheduler (src/consensus/sim.ts)
 * and report rounds, finalization, latency percentiles and the safety verdict.
 * This is the CLI, where wall-clock time may be read (for the progress bar only).
 */
import { writeFileSync } from 'node:fs';
import { Command, type Option } from 'commander';
import { faultsTolerated } from '../consensus/params.js';
import { defaultSimOptions, percentile, simulate, STRATEGIES, type SimOptions, type Strategy } from '../consensus/sim.js';
import { simTrace } from '../consensus/trace.js';
import { BadValue, configure, once, UsageError, valueOption } from './args.js';

const whole =
  (flag: string, min: number, max: number) =>
  (v: string, previous: number | undefined): number => {
    once(flag, previous);
    if (!/^[0-9]+$/.test(v)) throw new BadValue(`${flag} needs a whole number, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw new BadValue(`${flag} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
const wholeOption = (flag: string, meta: string, description: string, min: number, max: number): Option =>
  valueOption(`${flag} <${meta}>`, description, whole(flag, min, max), `${flag} needs a whole number, got nothing`);

const delayMs = (v: string, previous: readonly [number, number] | undefined): readonly [number, number] => {
  once('--delay-ms', previous);
  const m = /^([0-9]+)-([0-9]+)$/.exec(v);
  if (!m) throw new BadValue(`--delay-ms needs MIN-MAX in milliseconds (e.g. 20-200), got "${v}"`);
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo > hi || hi > 600_000) throw new BadValue(`--delay-ms: need MIN ≤ MAX ≤ 600000, got ${lo}-${hi}`);
  return [lo, hi];
};

const strategy = (v: string, previous: Strategy | undefined): Strategy => {
  once('--strategy', previous);
  if (!STRATEGIES.includes(v as Strategy)) throw new BadValue(`--strategy must be one of ${STRATEGIES.join(', ')}, got "${v}"`);
  return v as Strategy;
};

const outFile = (v: string, previous: string | undefined): string => {
  once('--out', previous);
  if (v === '' || v.startsWith('--')) throw new BadValue('--out needs a file name');
  return v;
};

interface SimFlags {
  readonly nodes?: number;
  readonly faulty?: number;
  readonly rounds?: number;
  readonly seed?: number;
  readonly delayMs?: readonly [number, number];
  readonly strategy?: Strategy;
  readonly ingressRate?: number;
  readonly dkgInterval?: number;
  readonly out?: string;
  readonly json?: boolean;
}

/** The simulation options of parsed flags, with the checks that involve more than one flag. */
export const simOptions = (f: SimFlags): { opts: SimOptions; json: boolean; out: string | undefined } => {
  const o: SimOptions = {
    ...defaultSimOptions,
    ...(f.nodes !== undefined && { nodes: f.nodes }),
    ...(f.faulty !== undefined && { faulty: f.faulty }),
    ...(f.rounds !== undefined && { rounds: f.rounds }),
    ...(f.seed !== undefined && { seed: f.seed }),
    ...(f.delayMs !== undefined && { delayMs: f.delayMs }),
    ...(f.strategy !== undefined && { strategy: f.strategy }),
    ...(f.ingressRate !== undefined && { ingressPerSecond: f.ingressRate }),
    ...(f.dkgInterval !== undefined && { dkgInterval: f.dkgInterval }),
  };
  if (o.nodes !== 3 * faultsTolerated(o.nodes) + 1) throw new UsageError(`--nodes must be 3f + 1 (1, 4, 7, 10, 13, …, 28, …, 40), got ${o.nodes}`);
  if (o.faulty > o.nodes) throw new UsageError(`--faulty ${o.faulty} is more than --nodes ${o.nodes}`);
  if (o.faulty === o.nodes) throw new UsageError('at least one replica must be honest');
  return { opts: { ...o, record: f.out !== undefined }, json: f.json === true, out: f.out };
};

export interface SimulateIo {
  readonly out: (line: string) => void;
  /** raw stderr (the progress bar rewrites its line) */
  readonly writeErr: (s: string) => void;
  readonly tty: boolean;
  /** the whole command line after `icspec`, for the trace's description */
  readonly argv: readonly string[];
  readonly setExitCode: (code: number) => void;
  readonly help: () => string;
}

/** `simulate` and its subsystem `consensus`, as commander commands. */
export const simulateCommand = (io: SimulateIo): Command => {
  const simulate = configure(new Command('simulate'), { help: io.help })
    .description('simulate a subsystem')
    .allowUnknownOption()
    .allowExcessArguments()
    .action((_opts: unknown, cmd: Command) => {
      const got = cmd.args[0];
      throw new UsageError(`simulate needs a subsystem: "simulate consensus" (got ${got === undefined ? 'nothing' : `"${got}"`})`);
    });
  const consensus = configure(new Command('consensus'), { help: io.help, noValueMessage: true })
    .description('simulate a subnet running Internet Computer Consensus')
    .addOption(wholeOption('--nodes', 'N', 'replicas (3f + 1)', 1, 100))
    .addOption(wholeOption('--faulty', 'F', 'Byzantine replicas (the last F)', 0, 100))
    .addOption(wholeOption('--rounds', 'R', 'rounds to run', 1, 1_000_000))
    .addOption(wholeOption('--seed', 'S', 'scheduler seed', 0, 2 ** 32 - 1))
    .addOption(valueOption('--delay-ms <MIN-MAX>', 'network delays', delayMs, '--delay-ms needs MIN-MAX in milliseconds (e.g. 20-200), got nothing'))
    .addOption(valueOption('--strategy <S>', 'adversary strategy', strategy, `--strategy must be one of ${STRATEGIES.join(', ')}, got nothing`))
    .addOption(wholeOption('--ingress-rate', 'K', 'ingress messages per second', 0, 1000))
    .addOption(wholeOption('--dkg-interval', 'D', 'DKG interval length', 1, 1_000_000))
    .addOption(valueOption('--out <file>', 'write the run as an ITF trace', outFile, '--out needs a file name'))
    .option('--json', 'print the report as JSON')
    .allowExcessArguments()
    .action((flags: SimFlags, cmd: Command) => {
      if (cmd.args.length > 0) throw new UsageError(`unknown option ${cmd.args[0]}`);
      const i = io.argv.indexOf('consensus', io.argv.indexOf('simulate') + 1);
      io.setExitCode(cmdSimulate(simOptions(flags), io.argv.slice(i + 1), io.out, io.writeErr, io.tty));
    });
  let jsonSeen = false;
  consensus.on('option:json', () => {
    if (jsonSeen) throw new UsageError('--json given twice');
    jsonSeen = true;
  });
  return simulate.addCommand(consensus);
};

/** Run the simulation and print its report; 0 if safety held, 1 if not. `args`: the command line after `consensus`. */
export const cmdSimulate = (
  { opts, json, out }: { readonly opts: SimOptions; readonly json: boolean; readonly out: string | undefined },
  args: readonly string[],
  write: (s: string) => void,
  writeErr: (s: string) => void,
  tty: boolean,
): number => {
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
    const tr = simTrace(res.config, res.recorded, { description: `icspec simulate consensus ${args.join(' ')}`, seed: opts.seed });
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
