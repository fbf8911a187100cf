/**
 * SHA-256 through Node's OpenSSL: the hash trees and request ids of the HTTP interface take many
 * hashes of short inputs per request, where the one-shot `crypto.hash` is measured about 5 times
 * faster than @noble/hashes in JavaScript (`npm run bench:http`). Same function, same bytes:
 * `clients/certification.test.ts` checks the two agree.
 */
import * as crypto from 'node:crypto';

type OneShot = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

/** SHA-256 of the bytes. */
export const sha256 = (data: Uint8Array): Uint8Array => {
  const b = oneShot !== undefined ? oneShot('sha256', data, 'buffer') : crypto.createHash('sha256').update(data).digest();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
