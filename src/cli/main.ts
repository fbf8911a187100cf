/**
 * icspec command line. Exit codes: 0 conforming, 1 divergence, 2 bad input or usage.
 * Expected failures print one line each and never a stack trace.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../core/bytes.js';
import { isPrincipalError, parsePrincipal, principalClass, principalHex } from '../core/principal.js';
import { fromHex } from '../core/bytes.js';
import { accountIdBytes } from '../ledger/account.js';
import { loadTrace, type BadInput } from '../trace/load.js';
import { replay, type ReplayReport } from '../trace/replay.js';
import { cmdSimulate, SimUsageError } from './simulate.js';

const HELP = `icspec — the executable reference of the Internet Computer

Usage:
  icspec replay <file|dir>... [--json] [--no-invariants]
      Replay ITF traces (*.itf.json; directories are searched recursively) against the
      reference. Prints a table of traces, steps and verdicts and, for each divergence,
      the step, action, path, expected vs actual and the requirement IDs involved.
      Exit 0: all conform; 1: a divergence; 2: bad input (other traces are still replayed).
  icspec principal <text|hex>
      Both forms of a principal and its class. Hex may be 0x-prefixed.
  icspec account-id <principal> [--subaccount <hex>]
      The ICP ledger account identifier (hex) of an ICRC-1 account.
  icspec simulate consensus --nodes N --faulty F --rounds R --seed S [--delay-ms MIN-MAX]
                 [--strategy silent|honest|equivocate|split|withhold|delay] [--ingress-rate K]
                 [--dkg-interval D] [--out trace.itf.json] [--json]
      Simulate a subnet of N replicas, F of them Byzantine (the last F; default strategy
      split: equivocation and shares on every block), for R rounds with network delays
      drawn from MIN-MAX ms (default 20-200) and the IC's default delays (unit 1000 ms,
      initial notary 600 ms). Prints rounds, finalized height, finalization rate, ingress
      latency percentiles and the safety verdict; --out writes the run as a trace.
      Exit 0: safety held; 1: safety violated; 2: bad arguments.
  icspec --help | help`;

class UsageError extends Error {}

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

/** Trace files under the given paths; unreadable entries become bad input, never a crash. */
const collect = (paths: string[]): { files: string[]; missing: BadInput[] } => {
  const files: string[] = [];
  const missing: BadInput[] = [];
  const seen = new Set<string>();
  const walk = (p: string, top: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      missing.push({ ok: false, file: p, pointer: '', message: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
      return;
    }
    if (st.isDirectory()) {
      const real = realpathSync(p);
      if (seen.has(real)) return; // a link cycle
      seen.add(real);
      let entries: string[];
      try {
        entries = readdirSync(p).sort();
      } catch (e) {
        missing.push({ ok: false, file: p, pointer: '', message: `cannot list directory (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
        return;
      }
      const before = files.length;
      for (const e of entries) {
        const q = join(p, e);
        if (e.endsWith('.itf.json')) walk(q, false);
        else {
          let sub;
          try {
            sub = statSync(q);
          } catch {
            continue; // not a trace: a dangling link or unreadable non-trace entry is skipped
          }
          if (sub.isDirectory()) walk(q, false);
        }
      }
      if (top && files.length === before) missing.push({ ok: false, file: p, pointer: '', message: 'no *.itf.json traces found in this directory' });
    } else files.push(p);
  };
  paths.forEach((p) => walk(p, true));
  return { files, missing };
};

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

const cmdReplay = (args: string[]): number => {
  const json = args.includes('--json');
  const invariants = !args.includes('--no-invariants');
  const unknown = args.filter((a) => a.startsWith('--') && a !== '--json' && a !== '--no-invariants');
  if (unknown.length) throw new UsageError(`unknown option ${unknown[0]}`);
  const paths = args.filter((a) => !a.startsWith('--'));
  if (paths.length === 0) throw new UsageError('replay needs at least one file or directory');
  const { files, missing } = collect(paths);
  const bad: BadInput[] = [...missing];
  const reports: ReplayReport[] = [];
  const tty = process.stderr.isTTY && !json;
  let totalSteps = 0;
  files.forEach((f, k) => {
    const t = loadTrace(f);
    if (!t.ok) {
      bad.push(t);
      return;
    }
    const n = t.steps.length;
    const r = replay(t.entry.machine, t, {
      invariants,
      onStep: tty && n > 2000 ? (i) => i % 1000 === 0 && process.stderr.write(`\r[${k + 1}/${files.length}] ${f}: step ${i}/${n}`) : undefined,
    });
    if (tty && n > 2000) process.stderr.write('\r\x1b[K');
    totalSteps += n;
    reports.push(r);
  });
  const diverged = reports.filter((r) => r.divergence);
  if (json) {
    out(JSON.stringify({ traces: reports.length, steps: totalSteps, conforming: reports.length - diverged.length, diverging: diverged.length, badInput: bad, reports }, null, 2));
  } else {
    out('icspec conformance report');
    out(`${pad('trace', 60)} ${pad('machine', 14)} ${pad('steps', 7)} verdict`);
    for (const r of reports) out(`${pad(r.file, 60)} ${pad(r.machine, 14)} ${pad(String(r.steps), 7)} ${r.divergence ? `DIVERGES at step ${r.divergence.step}` : 'conforms'}`);
    for (const r of diverged) {
      const d = r.divergence!;
      out('');
      out(`DIVERGENCE in ${r.file}`);
      out(`  step ${d.step}: ${d.action} (${d.kind})`);
      out(`  path:     ${d.path}`);
      out(`  pointer:  ${d.pointer}`);
      out(`  expected: ${d.expected}`);
      out(`  actual:   ${d.actual}`);
      out(`  requirements: ${d.reqs.join(', ')}`);
    }
    for (const r of reports) if (r.ignored.length) out(`note: ${r.file}: variables not compared (unknown to ${r.machine}): ${r.ignored.join(', ')}`);
    out('');
    out(`${reports.length} traces, ${totalSteps} steps: ${reports.length - diverged.length} conform, ${diverged.length} diverge, ${bad.length} bad input`);
  }
  for (const b of bad) err(`error: ${b.file}: ${b.pointer || '/'}: ${b.message}`);
  return bad.length ? 2 : diverged.length ? 1 : 0;
};

const cmdPrincipal = (args: string[]): number => {
  if (args.length !== 1) throw new UsageError('principal takes exactly one argument: <text|hex>');
  const p = parsePrincipal(args[0]!, true);
  if (isPrincipalError(p)) {
    err(`error: invalid principal "${args[0]}": ${p.kind === 'PrincipalTooLong' ? `${p.length} bytes, more than 29` : p.reason}`);
    return 2;
  }
  out(`text:  ${p.text}`);
  out(`hex:   ${principalHex(p)}`);
  out(`class: ${principalClass(p)}`);
  return 0;
};

const cmdAccountId = (args: string[]): number => {
  let sub: Uint8Array | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--subaccount') {
      const h = args[++i];
      if (h === undefined) throw new UsageError('--subaccount needs a hex value');
      const b = fromHex(h.startsWith('0x') ? h.slice(2) : h);
      if (b === undefined || b.length > 32) {
        err(`error: --subaccount must be at most 32 bytes of hex, got "${h}"`);
        return 2;
      }
      sub = new Uint8Array(32);
      sub.set(b, 32 - b.length); // a shorter subaccount is left-padded with zeros (big-endian number)
    } else if (args[i]!.startsWith('--')) throw new UsageError(`unknown option ${args[i]}`);
    else rest.push(args[i]!);
  }
  if (rest.length !== 1) throw new UsageError('account-id takes one principal');
  const p = parsePrincipal(rest[0]!, true);
  if (isPrincipalError(p)) {
    err(`error: invalid principal "${rest[0]}": ${p.kind === 'PrincipalTooLong' ? `${p.length} bytes, more than 29` : p.reason}`);
    return 2;
  }
  out(toHex(accountIdBytes(p, sub)));
  return 0;
};

const main = (argv: string[]): number => {
  const [cmd, ...args] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        out(HELP);
        return cmd === undefined ? 2 : 0;
      case 'replay':
        return cmdReplay(args);
      case 'principal':
        return cmdPrincipal(args);
      case 'account-id':
        return cmdAccountId(args);
      case 'simulate':
        return cmdSimulate(args, out, (x) => process.stderr.write(x), process.stderr.isTTY === true);
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof SimUsageError) {
      err(`error: ${e.message} (see icspec --help)`);
      return 2;
    }
    err(`internal error: ${(e as Error).message}`);
    return 3;
  }
};

process.exitCode = main(process.argv.slice(2));
