/**
 * The crypto interface of consensus (spec/consensus.md [CON-CRYPTO.1]): individual signatures
 * (block makers, shares), threshold signatures combined from shares, and the unique value of a
 * threshold signature (the random beacon's randomness). Replicas use only this interface.
 *
 * The default backend is idealized: a signature is the set of its signers, checked by
 * membership; unforgeability is a property of the subnet (an adversary signs only for
 * Byzantine replicas and combines only shares it has seen), not of bytes. A threshold-BLS
 * backend implements the same interface with `bytes` set: signatures over the message,
 * `unique` = H(signature), as the IC's random beacon does.
 */
import { sha256 } from '../core/hash.js';
import { toHex } from '../core/bytes.js';
import type { Hash } from './types.js';

export interface ShareSig {
  readonly signer: number;
  /** absent in the idealized backend */
  readonly bytes?: Uint8Array;
}

export interface ThresholdSig {
  /** the distinct signers, ascending */
  readonly signers: readonly number[];
  readonly bytes?: Uint8Array;
}

export interface Crypto {
  readonly name: string;
  /** `signer` signs `msg` (a canonical string naming the signed content) */
  sign(signer: number, msg: string): ShareSig;
  verifyShare(sig: ShareSig, msg: string): boolean;
  /** combine shares of distinct signers on one message */
  combine(shares: readonly ShareSig[], msg: string): ThresholdSig;
  /** a threshold signature of at least `threshold` distinct signers, all in the committee */
  verify(sig: ThresholdSig, msg: string, threshold: number, inCommittee: (i: number) => boolean): boolean;
  /** [CON-BEACON.1] the unique value of a (unique) threshold signature on `msg` */
  unique(sig: ThresholdSig, msg: string): Hash;
}

const enc = new TextEncoder();
export const sha256Hex = (s: string): Hash => toHex(sha256(enc.encode(s)));

export const idealCrypto: Crypto = {
  name: 'idealized',
  sign: (signer) => ({ signer }),
  verifyShare: () => true,
  combine: (shares) => ({ signers: [...new Set(shares.map((s) => s.signer))].sort((a, b) => a - b) }),
  verify: (sig, _msg, threshold, inCommittee) => {
    let prev = -1;
    for (const s of sig.signers) {
      if (s <= prev || !inCommittee(s)) return false;
      prev = s;
    }
    return sig.signers.length >= threshold;
  },
  // A unique threshold signature has one value per message, whoever signed: model it as H(msg).
  unique: (_sig, msg) => sha256Hex(`unique-signature|${msg}`),
};

/** The strings signed for each artifact kind (domain-separated). */
export const signed = {
  block: (hash: Hash) => `block|${hash}`,
  notarization: (height: number, block: Hash) => `notarization|${height}|${block}`,
  finalization: (height: number, block: Hash) => `finalization|${height}|${block}`,
  beacon: (height: number, prev: Hash) => `beacon|${height}|${prev}`,
  cup: (c: { height: number; block: Hash; beacon: Hash; stateHash: Hash }) => `cup|${c.height}|${c.block}|${c.beacon}|${c.stateHash}`,
};
