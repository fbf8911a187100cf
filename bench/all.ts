/**
 * `npm run bench`: every benchmark, each in its own process (so that one's heap does not
 * disturb another's figures); prints ONE JSON object {ledger, consensus, execution, http} on stdout.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const run = (file: string): unknown => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=64', join(here, file), ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`${file} exited with ${r.status}`);
  return JSON.parse(r.stdout);
};
process.stdout.write(`${JSON.stringify({ ledger: run('ledger.js'), consensus: run('consensus.js'), execution: run('execution.js'), http: run('http.js') }, null, 2)}\n`);
