/** What every benchmark report records about where it ran: the machine, Node, and the measured source. */
import { execSync } from 'node:child_process';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';

/** The commit and the files of src/ changed since (figures depend on them). */
export const gitInfo = (): { commit: string; dirty_src: string[] } | string => {
  try {
    const o = { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] };
    const commit = execSync('git rev-parse --short HEAD', o).toString().trim();
    const dirty = execSync('git status --porcelain -- src', o).toString().split('\n').filter(Boolean).map((l) => l.trim());
    return { commit, dirty_src: dirty };
  } catch {
    return 'unavailable';
  }
};

/** The environment block of a report (`git` as read when the benchmark started). */
export const environment = (git: ReturnType<typeof gitInfo>) => ({
  node: process.version,
  v8: process.versions.v8,
  os: `${platform()} ${release()} ${arch()}`,
  cpu: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  total_mem_mb: Math.round(totalmem() / 2 ** 20),
  expose_gc: typeof (globalThis as { gc?: unknown }).gc === 'function',
  node_flags: process.execArgv,
  git_at_start: git,
  load_average_at_end: loadavg().map((x) => Math.round(x * 100) / 100),
});
