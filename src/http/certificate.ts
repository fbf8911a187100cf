/**
 * Certificates ([HTTP-CERTIFICATE.1]): the subnet's BLS12-381 key signs the root hash of the
 * state tree, and clients check the signature with the root key ([HTTP-ROOT-KEY.1]); node keys
 * (Ed25519) sign query responses ([HTTP-QUERY-SIG.1]). Keys are derived from a seed, so that a
 * server keeps its root key across restarts.
 */
import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, utf8 } from '../core/bytes.js';
import { reconstruct, treeToCbor, type HashTree } from './hash-tree.js';
import { domainSeparator, hashOfMap, type RiError } from './request-id.js';

const bls = bls12_381.shortSignatures;

/** The DER prefix of a BLS12-381 public key on G2 (OIDs 1.3.6.1.4.1.44668.5.3.1.2.1 and .5.3.2.1). */
export const BLS_DER_PREFIX = fromHex('308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100')!;
/** The DER prefix of an Ed25519 public key (OID 1.3.101.112). */
export const ED25519_DER_PREFIX = fromHex('302a300506032b6570032100')!;

/** A subnet's signing keys: the threshold key that certifies its state, and its nodes' keys. */
export interface SubnetKeys {
  readonly secretKey: Uint8Array;
  /** [HTTP-ROOT-KEY.1] the 96-byte G2 key, DER-wrapped (133 bytes) */
  readonly rootKeyDer: Uint8Array;
  readonly nodes: readonly NodeKey[];
}

export interface NodeKey {
  readonly secretKey: Uint8Array;
  /** 44-byte DER */
  readonly publicKeyDer: Uint8Array;
}

const seeded = (seed: string, what: string, hash: (m: Uint8Array) => Uint8Array = sha256): Uint8Array => hash(utf8(`icspec ${what} ${seed}`));

/** [HTTP-ROOT-KEY.1] the keys of a subnet of `nodes` nodes, from a seed. */
export const subnetKeys = (seed: string, nodes = 1): SubnetKeys => {
  // (BLS key generation takes 48 bytes of seed)
  const k = bls.keygen(seeded(seed, 'root key', sha384));
  return {
    secretKey: k.secretKey,
    rootKeyDer: concatBytes(BLS_DER_PREFIX, k.publicKey.toBytes()),
    nodes: Array.from({ length: nodes }, (_, i) => {
      const n = ed25519.keygen(seeded(seed, `node ${i}`));
      return { secretKey: n.secretKey, publicKeyDer: concatBytes(ED25519_DER_PREFIX, n.publicKey) };
    }),
  };
};

export const STATE_ROOT = domainSeparator('ic-state-root');

/** [HTTP-CERTIFICATE.1] a certificate of a hash tree: the tree and the BLS signature of `ic-state-root` ‖ its root hash. */
export interface Certificate {
  readonly tree: HashTree;
  readonly signature: Uint8Array;
}

export const certify = (keys: Pick<SubnetKeys, 'secretKey'>, tree: HashTree): Certificate => ({ tree, signature: signRoot(keys, reconstruct(tree)) });

/** [HTTP-CERTIFICATE.1] the signature of a state root: every witness of that state shares it. */
export const signRoot = (keys: Pick<SubnetKeys, 'secretKey'>, root: Uint8Array): Uint8Array => bls.sign(bls.hash(concatBytes(STATE_ROOT, root)), keys.secretKey).toBytes();

/** [HTTP-CERTIFICATE.1] a certificate as its CBOR bytes (self-described): `{tree, signature}`. */
export const encodeCertificate = (c: Certificate): Uint8Array => encodeWithSelfDescribedTag({ tree: treeToCbor(c.tree), signature: c.signature });

/** Whether a certificate's signature is the root key's (what a client checks). */
export const verifyCertificate = (rootKeyDer: Uint8Array, c: Certificate): boolean => {
  const pk = rootKeyDer.subarray(BLS_DER_PREFIX.length);
  return bls.verify(c.signature, bls.hash(concatBytes(STATE_ROOT, reconstruct(c.tree))), pk);
};

const RESPONSE = domainSeparator('ic-response');

/**
 * [HTTP-QUERY-SIG.1] a node's signature of a query response: Ed25519 over `ic-response` ‖ the
 * hash of the response map (`status`, `reply` or the reject fields, `timestamp`, `request_id`).
 */
export const signResponse = (node: Pick<NodeKey, 'secretKey'>, response: Readonly<Record<string, unknown>>): Uint8Array | RiError => {
  const h = hashOfMap(response);
  if (!(h instanceof Uint8Array)) return h;
  return ed25519Sign(node.secretKey, concatBytes(RESPONSE, h));
};

/** The PKCS #8 DER prefix of an Ed25519 private key (RFC 8410), before its 32-byte seed. */
const ED25519_PKCS8_PREFIX = fromHex('302e020100300506032b657004220420')!;
const NODE_KEYS = new Map<string, KeyObject>();

/**
 * An Ed25519 signature (RFC 8032: deterministic, so any correct implementation gives the same
 * bytes) through Node's OpenSSL: measured 41 µs against @noble/curves' 941 µs for a query
 * response here (`clients/certification.test.ts` checks that the two agree byte for byte).
 */
export const ed25519Sign = (secretKey: Uint8Array, message: Uint8Array): Uint8Array => {
  const id = Buffer.from(secretKey).toString('hex');
  let key = NODE_KEYS.get(id);
  if (key === undefined) NODE_KEYS.set(id, (key = createPrivateKey({ key: Buffer.from(concatBytes(ED25519_PKCS8_PREFIX, secretKey)), format: 'der', type: 'pkcs8' })));
  return new Uint8Array(nodeSign(null, message, key));
};
