/** The measured source, for benchmark reports: the commit and the files of src/ changed since (figures depend on them). */
import { execSync } from 'node:child_process';

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
