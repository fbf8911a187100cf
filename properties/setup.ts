/**
 * One fast-check seed per test run, printed so that any failure can be replayed:
 *   FC_SEED=<seed> npm test
 * FC_RUNS scales the number of runs per property (default 100 per property unless a test sets more).
 */
import fc from 'fast-check';

const envSeed = process.env.FC_SEED;
const seed = envSeed !== undefined && envSeed !== '' ? Number(envSeed) : (Date.now() ^ (process.pid << 8)) | 0;
fc.configureGlobal({ seed, ...(process.env.FC_RUNS ? { numRuns: Number(process.env.FC_RUNS) } : {}) });
// eslint-disable-next-line no-console
console.log(`[fast-check] seed=${seed} (replay with FC_SEED=${seed})`);
