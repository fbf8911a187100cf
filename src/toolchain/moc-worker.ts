/**
 * One Motoko compilation in a fresh process (see `compileMotoko`): reads `{files, main}` as JSON
 * on standard input, writes `{wasm (base64), candid}` or `{error}` as JSON on standard output.
 */
import { readFileSync } from 'node:fs';
import { compileMotokoHere } from './compile.js';

const input = JSON.parse(readFileSync(0, 'utf8')) as { files: Record<string, string>; main: string };
compileMotokoHere(input.files, input.main).then(
  (r) => process.stdout.write(JSON.stringify({ wasm: Buffer.from(r.wasm).toString('base64'), candid: r.candid })),
  (e: unknown) => process.stdout.write(JSON.stringify({ error: e instanceof Error ? e.message : String(e) })),
);
