/**
 * Request envelopes ([HTTP-ENVELOPE.1]) and their authentication ([HTTP-AUTH.1],
 * [HTTP-DELEGATION.1]), and the ingress expiry window ([HTTP-EXPIRY.1]): from the bytes a client
 * posts to a request the machine can take, or the HTTP status and text of its refusal. Pure: the
 * time is an argument.
 */
import { decode } from '@dfinity/cbor';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesEqual, concatBytes, fromHex, toHex } from '../core/bytes.js';
import { ANONYMOUS, principalFromBytes, isPrincipalError, selfAuthenticating, type Principal } from '../core/principal.js';
import { domainSeparator, hashOfMap, requestId } from './request-id.js';

/** A refusal of the HTTP interface: its status and text ([HTTP-ENVELOPE.1]). */
export interface HttpRefusal {
  readonly status: 400 | 403 | 404 | 413;
  readonly message: string;
}

export type RequestType = 'call' | 'query' | 'read_state';

/** An authenticated request. */
export type HttpRequest =
  | { readonly type: 'call' | 'query'; readonly id: Uint8Array; readonly sender: Principal; readonly canister: Principal; readonly method: string; readonly arg: Uint8Array; readonly expiry: bigint; readonly nonce?: Uint8Array }
  | { readonly type: 'read_state'; readonly id: Uint8Array; readonly sender: Principal; readonly paths: readonly (readonly Uint8Array[])[]; readonly expiry: bigint };

/** The replica's bounds: at most 5 minutes ahead, plus 60 s of client clock drift ([HTTP-EXPIRY.1]). */
export const MAX_INGRESS_TTL = 300_000_000_000n;
export const PERMITTED_DRIFT = 60_000_000_000n;
/** At most this many delegations in a chain ([HTTP-DELEGATION.1]). */
export const MAX_DELEGATIONS = 20;
/** At most this many targets in a delegation. */
export const MAX_TARGETS = 1000;

const bad = (message: string): { readonly refused: HttpRefusal } => ({ refused: { status: 400, message } });
const forbidden = (message: string): { readonly refused: HttpRefusal } => ({ refused: { status: 403, message } });

const isMap = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array);
const isBlob = (x: unknown): x is Uint8Array => x instanceof Uint8Array;
const nat = (x: unknown): bigint | undefined => (typeof x === 'bigint' && x >= 0n ? x : typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? BigInt(x) : undefined);

// ---------------------------------------------------------------------------------------
// Public keys and signatures ([HTTP-AUTH.1])

const ED25519_DER = fromHex('302a300506032b6570032100')!;
const SECP256K1_DER = fromHex('3056301006072a8648ce3d020106052b8104000a034200')!;
const P256_DER = fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200')!;

const startsWith = (b: Uint8Array, prefix: Uint8Array): boolean => b.length >= prefix.length && bytesEqual(b.subarray(0, prefix.length), prefix);

/** Verify `sig` over `msg` with a DER public key; or why the key is not one this interface takes. */
export const verifySignature = (der: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean | string => {
  try {
    if (der.length === ED25519_DER.length + 32 && startsWith(der, ED25519_DER)) return ed25519.verify(sig, msg, der.subarray(ED25519_DER.length));
    // ECDSA over SHA-256, r ‖ s; high-S signatures (WebCrypto's) are valid too
    if (der.length === SECP256K1_DER.length + 65 && startsWith(der, SECP256K1_DER)) return secp256k1.verify(sig, msg, der.subarray(SECP256K1_DER.length), { lowS: false });
    if (der.length === P256_DER.length + 65 && startsWith(der, P256_DER)) return p256.verify(sig, msg, der.subarray(P256_DER.length), { lowS: false });
  } catch {
    return false;
  }
  return `the public key ${toHex(der)} is not an Ed25519, ECDSA secp256k1 or ECDSA P-256 key (WebAuthn and canister signatures are not supported yet)`;
};

const REQUEST = domainSeparator('ic-request');
const DELEGATION = domainSeparator('ic-request-auth-delegation');

// ---------------------------------------------------------------------------------------
// The envelope

/**
 * [HTTP-ENVELOPE.1] [HTTP-AUTH.1] [HTTP-DELEGATION.1] [HTTP-EXPIRY.1] decode and authenticate the
 * body posted to an endpoint of type `expected` for `effective` (the canister or subnet in the
 * URL), at time `now`.
 */
export const readEnvelope = (body: Uint8Array, expected: RequestType, effective: Principal, now: bigint): { readonly request: HttpRequest } | { readonly refused: HttpRefusal } => {
  let env: unknown;
  try {
    env = decode(body);
  } catch (e) {
    return bad(`Could not parse body as ${expected} request: ${(e as Error).message}`);
  }
  if (!isMap(env) || !isMap(env['content'])) return bad(`Could not parse body as ${expected} request: the envelope is not a map with a content map`);
  const c = env['content'];
  if (c['request_type'] !== expected) return bad(`Could not parse body as ${expected} request: the request_type is ${JSON.stringify(c['request_type'])}`);
  const id = requestId(c);
  if (!(id instanceof Uint8Array)) return bad(`Could not parse body as ${expected} request: ${id.error}`);
  if (!isBlob(c['sender'])) return bad(`Could not parse body as ${expected} request: sender is not a blob`);
  const sender = principalFromBytes(c['sender']);
  if (isPrincipalError(sender)) return bad(`Could not parse body as ${expected} request: sender is not a principal`);
  const expiry = nat(c['ingress_expiry']);
  if (expiry === undefined) return bad(`Could not parse body as ${expected} request: ingress_expiry is not a natural number`);
  if (c['nonce'] !== undefined && !isBlob(c['nonce'])) return bad(`Could not parse body as ${expected} request: nonce is not a blob`);

  // [HTTP-EXPIRY.1] an expiry in the past or too far ahead
  const min = now - PERMITTED_DRIFT;
  const max = now + MAX_INGRESS_TTL + PERMITTED_DRIFT;
  if (expiry < min || expiry > max)
    return bad(`Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: ${min}, Maximum allowed expiry: ${max}, Provided expiry:        ${expiry}`);

  let request: HttpRequest;
  if (expected === 'read_state') {
    const ps = c['paths'];
    if (!Array.isArray(ps) || !ps.every((p) => Array.isArray(p) && p.every(isBlob))) return bad('Could not parse body as read_state request: paths is not a list of lists of blobs');
    request = { type: 'read_state', id, sender, paths: ps as Uint8Array[][], expiry };
  } else {
    if (!isBlob(c['canister_id'])) return bad(`Could not parse body as ${expected} request: canister_id is not a blob`);
    const canister = principalFromBytes(c['canister_id']);
    if (isPrincipalError(canister)) return bad(`Could not parse body as ${expected} request: canister_id is not a principal`);
    if (typeof c['method_name'] !== 'string') return bad(`Could not parse body as ${expected} request: method_name is not text`);
    if (!isBlob(c['arg'])) return bad(`Could not parse body as ${expected} request: arg is not a blob`);
    request = { type: expected, id, sender, canister, method: c['method_name'], arg: c['arg'], expiry, ...(isBlob(c['nonce']) ? { nonce: c['nonce'] } : {}) };
  }

  const auth = authenticate(env, id, sender, expected === 'read_state' ? [effective] : [effective, (request as { canister: Principal }).canister], now);
  return auth === undefined ? { request } : auth;
};

/**
 * [HTTP-AUTH.1] the anonymous sender signs nothing; any other sender is the self-authenticating
 * principal of `sender_pubkey` and signs `ic-request` ‖ the request id with the key that
 * [HTTP-DELEGATION.1] the delegation chain, if any, ends with. Each delegation is signed by the key
 * before it, has not expired, and lists every canister the request reaches if it lists targets.
 */
const authenticate = (env: Record<string, unknown>, id: Uint8Array, sender: Principal, targets: readonly Principal[], now: bigint): { readonly refused: HttpRefusal } | undefined => {
  const pub = env['sender_pubkey'];
  const sig = env['sender_sig'];
  const dels = env['sender_delegation'];
  if (sender.text === ANONYMOUS.text) {
    if (pub !== undefined || sig !== undefined || dels !== undefined) return forbidden('Invalid signature: the anonymous sender carries no public key, signature or delegation');
    return undefined;
  }
  if (!isBlob(pub) || !isBlob(sig)) return forbidden(`Invalid signature: the sender ${sender.text} needs sender_pubkey and sender_sig`);
  if (!bytesEqual(selfAuthenticating(pub).bytes, sender.bytes)) return forbidden(`Invalid signature: the sender ${sender.text} is not the principal of sender_pubkey (${selfAuthenticating(pub).text})`);
  let key = pub;
  if (dels !== undefined) {
    if (!Array.isArray(dels)) return bad('Could not parse body: sender_delegation is not a list');
    if (dels.length > MAX_DELEGATIONS) return forbidden(`Invalid delegation: Chain of delegations is too long: got ${dels.length} delegations, but at most ${MAX_DELEGATIONS} are allowed`);
    for (const [i, sd] of dels.entries()) {
      if (!isMap(sd) || !isMap(sd['delegation']) || !isBlob(sd['signature'])) return bad(`Could not parse body: sender_delegation[${i}] is not a signed delegation`);
      const d = sd['delegation'];
      const dkey = d['pubkey'];
      const exp = nat(d['expiration']);
      if (!isBlob(dkey) || exp === undefined) return bad(`Could not parse body: sender_delegation[${i}] has no pubkey or expiration`);
      const h = hashOfMap(d);
      if (!(h instanceof Uint8Array)) return bad(`Could not parse body: sender_delegation[${i}]: ${h.error}`);
      const ok = verifySignature(key, concatBytes(DELEGATION, h), sd['signature']);
      if (ok !== true) return forbidden(`Invalid delegation: ${typeof ok === 'string' ? ok : `the signature of delegation ${i} does not verify`}`);
      if (exp < now) return forbidden(`Invalid delegation: delegation ${i} expired at ${exp} (now ${now})`);
      const ts = d['targets'];
      if (ts !== undefined) {
        if (!Array.isArray(ts) || !ts.every(isBlob) || ts.length > MAX_TARGETS) return bad(`Could not parse body: sender_delegation[${i}] targets are not a list of at most ${MAX_TARGETS} principals`);
        const missing = targets.find((t) => !ts.some((x) => bytesEqual(x, t.bytes)));
        if (missing !== undefined) return forbidden(`Invalid delegation: delegation ${i} does not allow ${missing.text}`);
      }
      key = dkey;
    }
  }
  const ok = verifySignature(key, concatBytes(REQUEST, id), sig);
  if (ok !== true) return forbidden(`Invalid signature: ${typeof ok === 'string' ? ok : `the signature of request ${toHex(id)} does not verify`}`);
  return undefined;
};
