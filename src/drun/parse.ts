/**
 * The command language of DFINITY's `drun` (dfinity/ic `rs/drun`): one command per line,
 * `#` comments and empty lines skipped ([EXE-DRUN-SYNTAX.1]). Error texts are drun's own.
 *
 *   create
 *   install   <canister_id> <wasm_file> <payload>
 *   reinstall <canister_id> <wasm_file> <payload>
 *   upgrade   <canister_id> <wasm_file> <payload>
 *   ingress   <canister_id> <method_name> <payload>
 *   query     <canister_id> <method_name> <payload>
 *
 * A payload is `0x` and hex digits, or a quoted ASCII string with `\xHH`, `\bBBBBBBBB`,
 * `\"` and `\\` escapes.
 */
import { parsePrincipal, isPrincipalError, type Principal } from '../core/principal.js';

export type DrunCommand =
  | { readonly kind: 'create'; readonly line: number }
  | { readonly kind: 'install' | 'reinstall' | 'upgrade'; readonly line: number; readonly canister: Principal; readonly wasmFile: string; readonly payload: Uint8Array }
  | { readonly kind: 'ingress' | 'query'; readonly line: number; readonly canister: Principal; readonly method: string; readonly payload: Uint8Array };

export interface DrunParseError {
  readonly line: number;
  readonly message: string;
}

/** Parse a payload: hex after `0x`, or a quoted string with escapes. */
export const parsePayload = (s: string): Uint8Array | string => {
  if (s.startsWith('"')) {
    const out: number[] = [];
    let i = 1;
    for (;;) {
      if (i >= s.length) return 'Missing string terminator.';
      const ch = s[i]!;
      if (ch.charCodeAt(0) > 0x7f) return 'Only ASCII strings are allowed.';
      if (ch === '"') {
        if (i !== s.length - 1) return 'Trailing characters after string terminator.';
        return new Uint8Array(out);
      }
      if (ch !== '\\') {
        out.push(ch.charCodeAt(0));
        i++;
        continue;
      }
      const e = s[i + 1];
      if (e === '"' || e === '\\') {
        out.push(e.charCodeAt(0));
        i += 2;
      } else if (e === 'x') {
        const d = s.slice(i + 2, i + 4);
        if (d.length < 2 || !/^[0-9a-fA-F]{2}$/.test(d)) return `Escape sequence for radix Hex too short: ${d}`;
        out.push(parseInt(d, 16));
        i += 4;
      } else if (e === 'b') {
        const d = s.slice(i + 2, i + 10);
        if (d.length < 8 || !/^[01]{8}$/.test(d)) return `Escape sequence for radix Bin too short: ${d}`;
        out.push(parseInt(d, 2));
        i += 10;
      } else return `Illegal escape sequence ${e ?? ''}`;
    }
  }
  if (s.startsWith('0x')) {
    const h = s.slice(2);
    if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) return `Illegal hex character sequence ${h}.`;
    return new Uint8Array(Buffer.from(h, 'hex'));
  }
  return `Illegal hex character sequence ${s}.`;
};

const METHOD_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Split on single whitespace characters, at most 4 tokens (the last is the rest of the line). */
const tokens = (line: string): string[] => {
  const out: string[] = [];
  let rest = line;
  while (out.length < 3) {
    const m = /\s/.exec(rest);
    if (m === null) break;
    out.push(rest.slice(0, m.index));
    rest = rest.slice(m.index + 1);
  }
  out.push(rest);
  return out;
};

/** Parse one line (1-based number); undefined for comments and empty lines. */
export const parseLine = (text: string, line: number): DrunCommand | DrunParseError | undefined => {
  if (text === '' || text.startsWith('#')) return undefined;
  const err = (message: string): DrunParseError => ({ line, message: `Line ${line}: ${message}` });
  const t = tokens(text.trimEnd());
  if (t.length === 1 && t[0] === 'create') return { kind: 'create', line };
  const [cmd, id, x, payload] = t;
  if (t.length !== 4 || (cmd !== 'install' && cmd !== 'reinstall' && cmd !== 'upgrade' && cmd !== 'ingress' && cmd !== 'query'))
    return err(`Failed to parse line ${text}, don't have a pattern to match this with`);
  const p = parsePrincipal(id!);
  if (isPrincipalError(p)) return err(`Failed to convert ${id} to principal id with ${p.kind}`);
  const bytes = parsePayload(payload!);
  if (typeof bytes === 'string') return err(bytes);
  if (cmd === 'ingress' || cmd === 'query') {
    if (!METHOD_RE.test(x!)) return err(`Illegal method name: ${x}.`);
    return { kind: cmd, line, canister: p, method: x!, payload: bytes };
  }
  return { kind: cmd, line, canister: p, wasmFile: x!, payload: bytes };
};

/** Parse a script: its commands and its bad lines, each by line number. */
export const parseScript = (text: string): { commands: DrunCommand[]; errors: DrunParseError[] } => {
  const commands: DrunCommand[] = [];
  const errors: DrunParseError[] = [];
  text.split('\n').forEach((l, i) => {
    const r = parseLine(l, i + 1);
    if (r === undefined) return;
    if ('message' in r) errors.push(r);
    else commands.push(r);
  });
  return { commands, errors };
};
