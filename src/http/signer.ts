/**
 * The signer of state roots ([HTTP-CERTIFICATE.1]): the BLS signature of a round's root, made in a
 * worker thread, so that the next round executes while this one is signed (a signature takes
 * milliseconds in JavaScript). BLS signatures are deterministic: the worker's bytes are
 * `signRoot`'s, and where no worker can run the signer signs in place.
 */
import { Worker } from 'node:worker_threads';
import { signRoot, STATE_ROOT, type SubnetKeys } from './certificate.js';

export interface RootSigner {
  /** The root key's signature of `ic-state-root` ‖ root; signatures come back in request order. */
  readonly sign: (root: Uint8Array) => Promise<Uint8Array>;
  readonly close: () => Promise<void>;
}

/** The worker: @noble/curves' min-signature BLS, as `signRoot` uses it (CommonJS, evaluated). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.curves).then(({ bls12_381 }) => {
  const bls = bls12_381.shortSignatures;
  parentPort.on('message', ({ id, root }) => {
    const m = new Uint8Array(workerData.prefix.length + root.length);
    m.set(workerData.prefix);
    m.set(root, workerData.prefix.length);
    parentPort.postMessage({ id, signature: bls.sign(bls.hash(m), workerData.secretKey).toBytes() });
  });
});
`;

/** A signer with a worker thread (or in place, if `inPlace` or the worker fails). */
export const rootSigner = (keys: Pick<SubnetKeys, 'secretKey'>, inPlace = false): RootSigner => {
  const waiting = new Map<number, { readonly root: Uint8Array; readonly done: (s: Uint8Array) => void }>();
  let next = 0;
  let worker: Worker | undefined;
  const fallBack = (): void => {
    worker = undefined;
    for (const [id, w] of [...waiting.entries()].sort((a, b) => a[0] - b[0])) {
      waiting.delete(id);
      w.done(signRoot(keys, w.root));
    }
  };
  if (!inPlace) {
    try {
      worker = new Worker(WORKER, { eval: true, workerData: { curves: import.meta.resolve('@noble/curves/bls12-381.js'), prefix: STATE_ROOT, secretKey: keys.secretKey } });
      worker.unref();
      worker.on('message', (m: { id: number; signature: Uint8Array }) => {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        w?.done(new Uint8Array(m.signature));
      });
      worker.on('error', fallBack);
      worker.on('exit', fallBack);
    } catch {
      worker = undefined;
    }
  }
  return {
    sign: (root) =>
      new Promise((done) => {
        if (worker === undefined) return done(signRoot(keys, root));
        const id = next++;
        waiting.set(id, { root, done });
        worker.postMessage({ id, root });
      }),
    close: async () => {
      // the signatures asked for so far come back first, in order; later ones are made in place
      const w = worker;
      if (w === undefined) return;
      await new Promise<void>((done) => {
        if (waiting.size === 0) return done();
        const check = setInterval(() => waiting.size === 0 && (clearInterval(check), done()), 5);
      });
      worker = undefined;
      await w.terminate();
    },
  };
};
