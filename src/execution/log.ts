/**
 * The canister log ([EXE-LOG.1]): what `ic0.debug_print` printed and the traps of replicated
 * executions, as records with an index and a time, in a buffer of 4 KiB that drops its oldest
 * records. `fetch_canister_logs` reads it.
 */

export interface LogRecord {
  readonly idx: bigint;
  readonly time: bigint;
  readonly content: Uint8Array;
}

export interface CanisterLog {
  readonly records: readonly LogRecord[];
  readonly nextIdx: bigint;
  /** bytes the records take (the replica's `data_size`) */
  readonly used: number;
}

/** The replica's log buffer size. */
export const LOG_CAPACITY = 4 * 1024;
/** The fixed size a record takes besides its content (the replica's `size_of::<CanisterLogRecord>()`: two u64 and a Vec). */
export const RECORD_OVERHEAD = 40;

export const EMPTY_LOG: CanisterLog = { records: [], nextIdx: 0n, used: 0 };

const size = (r: LogRecord): number => RECORD_OVERHEAD + r.content.length;

/** Append records (content truncated to fit the buffer), dropping the oldest to stay within it. */
export const appendLog = (log: CanisterLog, time: bigint, contents: readonly Uint8Array[]): CanisterLog => {
  if (contents.length === 0) return log;
  const records = [...log.records];
  let used = log.used;
  let idx = log.nextIdx;
  for (const c of contents) {
    const r: LogRecord = { idx, time, content: c.length > LOG_CAPACITY - RECORD_OVERHEAD ? c.slice(0, LOG_CAPACITY - RECORD_OVERHEAD) : c };
    idx += 1n;
    records.push(r);
    used += size(r);
  }
  let drop = 0;
  while (used > LOG_CAPACITY) used -= size(records[drop++]!);
  return { records: drop ? records.slice(drop) : records, nextIdx: idx, used };
};

/** The free space of a log (the logging charge of `debug_print`/`trap` depends on it). */
export const logRemaining = (log: CanisterLog): number => Math.max(0, LOG_CAPACITY - log.used);
