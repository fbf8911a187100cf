#!/usr/bin/env node
// icspec needs Node 24 (Wasm memory64 and table64, which Motoko canisters use). When started by
// an older system Node (e.g. `npx icspec` outside an npm script), re-run on the Node 24 that the
// `node` dev dependency installs, with the same arguments, standard streams and exit code.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  let node;
  try {
    const require = createRequire(import.meta.url);
    node = require.resolve('node/bin/node');
  } catch {
    node = undefined;
  }
  if (node === undefined || !existsSync(node)) {
    process.stderr.write(`error: icspec needs Node 24 or later (this is ${process.versions.node}); run \`npm ci\` to install it\n`);
    process.exit(2);
  }
  const r = spawnSync(node, [new URL(import.meta.url).pathname, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
} else {
  await import('../dist/src/cli/main.js');
}
