#!/usr/bin/env node
// `icspec pocket-ic` as a program of its own, for PicJS's POCKET_IC_BIN: PicJS starts it with
// `--port-file <file> [--ttl <seconds>]`.
process.argv.splice(2, 0, 'pocket-ic');
await import('./icspec.js');
