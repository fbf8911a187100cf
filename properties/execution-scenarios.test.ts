/**
 * The execution scenario traces (traces/execution/scenarios/, scripts/execution-scenarios.ts):
 * each is what drun and the reference produce now, its modules are the canisters/ sources
 * compiled now, and it exercises what it claims.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/bytes.js';
import { EXECUTION_SCENARIOS, executionScenarioFile, moduleFile, recordExecutionScenario, scenarioModules } from '../scripts/execution-scenarios.js';
import { loadTrace } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';

describe('execution scenarios', () => {
  for (const sc of EXECUTION_SCENARIOS) {
    it(`[EXE-TRACE.1] ${sc.focus.map((q) => `[${q}]`).join(' ')} scenario ${sc.name}: ${sc.description}`, async () => {
      // the committed modules are the repository's canisters compiled now
      for (const [n, wasm] of await scenarioModules(sc)) expect(toHex(new Uint8Array(readFileSync(moduleFile(n)))), `modules/${n}.wasm`).toBe(toHex(wasm));
      const { text, problems } = recordExecutionScenario(sc);
      expect(problems).toEqual([]);
      // the committed trace is what the scenario produces now (regenerate: npm run traces:scenarios)
      expect(readFileSync(executionScenarioFile(sc.name), 'utf8')).toBe(text);
      const t = loadTrace(executionScenarioFile(sc.name));
      if (!t.ok) throw new Error(t.message);
      const r = replay(t.entry.machine, t);
      expect(r.divergence).toBeUndefined();
      for (const q of sc.focus) expect(t.requirements).toContain(q);
    });
  }
});

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTraceText } from '../src/trace/load.js';

describe('execution traces: bad input and divergences', () => {
  const original = () => JSON.parse(readFileSync(executionScenarioFile('counter'), 'utf8')) as { states: Array<Record<string, { tag: string; value: Record<string, unknown> }>> };
  const installStep = (t: ReturnType<typeof original>): number => t.states.findIndex((s) => s['last_action']?.tag === 'InstallCode');

  it('[EXE-TRACE.1] [TRC-BAD-INPUT.1] a module reference with a wrong hash or a missing file is bad input at its pointer', () => {
    const t = original();
    const i = installStep(t);
    const wasm = t.states[i]!['last_action']!.value['wasm'] as { value: { path: string; sha256: string } };
    wasm.value.sha256 = '0'.repeat(64);
    const r = loadTraceText(executionScenarioFile('counter'), JSON.stringify(t));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.pointer).toBe(`/states/${i}/last_action/value/wasm/value/sha256`);
      expect(r.message).toMatch(/^InstallCode: the SHA-256 of \.\.\/modules\/counter\.wasm is [0-9a-f]{64}, not 0{64}$/);
    }
    wasm.value.path = 'nowhere.wasm';
    const m = loadTraceText(executionScenarioFile('counter'), JSON.stringify(t));
    expect(!m.ok && [m.pointer, m.message]).toEqual([`/states/${i}/last_action/value/wasm/value/path`, 'InstallCode: cannot read the module nowhere.wasm: ENOENT']);
  });

  it('[EXE-TRACE.1] [TRC-REPLAY.1] an altered reply diverges at the ingress view, with the step and the pointer', () => {
    const t = original();
    const last = t.states.length - 1;
    const ing = t.states[last]!['ingress'] as unknown as { '#map': Array<[string, { tag: string; value: unknown }]> };
    const entry = ing['#map'].find(([, v]) => v.tag === 'Replied')!;
    entry[1].value = '4449444c00017d63';
    const dir = mkdtempSync(join(tmpdir(), 'icspec-exec-'));
    mkdirSync(join(dir, 'scenarios'));
    mkdirSync(join(dir, 'modules'));
    writeFileSync(join(dir, 'modules', 'counter.wasm'), readFileSync(moduleFile('counter')));
    writeFileSync(join(dir, 'scenarios', 'altered.itf.json'), JSON.stringify(t));
    const l = loadTrace(join(dir, 'scenarios', 'altered.itf.json'));
    if (!l.ok) throw new Error(l.message);
    const r = replay(l.entry.machine, l);
    expect(r.divergence).toBeDefined();
    expect(r.divergence!.kind).toBe('view');
    expect(r.divergence!.path).toContain('ingress');
    expect(r.divergence!.expected).toContain('4449444c00017d63');
  });
});
