/**
 * The ICP ledger's block encoding and hash ([LED-BLOCK-ENCODING.1], [LED-BLOCK-HASH.1]):
 * the protobuf encoding of `Block{parent_hash=1, timestamp=2, transaction=3}` with fields
 * in ascending tag order, and hash = SHA-256 of those bytes.
 */
import { sha256 } from '../core/hash.js';
import { fromHex } from '../core/bytes.js';
import type { PVec } from '../core/pvec.js';
import type { Block, Transaction } from './types.js';

class W {
  private buf: number[] = [];
  byte(b: number): this {
    this.buf.push(b);
    return this;
  }
  varint(n: bigint): this {
    let x = n;
    while (x >= 0x80n) {
      this.buf.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.buf.push(Number(x));
    return this;
  }
  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.buf.push(b[i]!);
    return this;
  }
  /** a length-delimited field */
  field(tag: number, body: W): this {
    this.byte(tag).varint(BigInt(body.buf.length));
    return this.bytes(body.buf);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.buf);
  }
}

/** Tokens / Memo / TimeStamp: {1: varint}, the field omitted when 0 (proto3). */
const u64Msg = (n: bigint): W => (n === 0n ? new W() : new W().byte(0x08).varint(n));
/** AccountIdentifier{hash=1: 32 bytes (checksum ‖ hash)} */
const accountMsg = (hex: string): W => new W().byte(0x0a).byte(0x20).bytes(fromHex(hex)!);

export const encodeTransaction = (tx: Transaction): W => {
  const op = tx.operation;
  const w = new W();
  switch (op.kind) {
    case 'Burn':
      w.field(0x0a, new W().field(0x0a, accountMsg(op.from)).field(0x1a, u64Msg(op.amount)));
      break;
    case 'Mint':
      w.field(0x12, new W().field(0x12, accountMsg(op.to)).field(0x1a, u64Msg(op.amount)));
      break;
    case 'Transfer':
      w.field(
        0x1a,
        new W().field(0x0a, accountMsg(op.from)).field(0x12, accountMsg(op.to)).field(0x1a, u64Msg(op.amount)).field(0x22, u64Msg(op.fee)),
      );
      break;
  }
  w.field(0x22, u64Msg(tx.memo)); // memo is always written
  if (tx.createdAtTime !== undefined) w.field(0x32, u64Msg(tx.createdAtTime));
  if (tx.icrc1Memo !== undefined) {
    const m = fromHex(tx.icrc1Memo)!;
    w.field(0x3a, m.length === 0 ? new W() : new W().byte(0x0a).varint(BigInt(m.length)).bytes(m));
  }
  return w;
};

export const encodeBlock = (parentHash: Uint8Array | undefined, b: Block): Uint8Array => {
  const w = new W();
  if (parentHash !== undefined) w.field(0x0a, new W().byte(0x0a).byte(0x20).bytes(parentHash));
  w.field(0x12, u64Msg(b.timestamp));
  w.field(0x1a, encodeTransaction(b.tx));
  return w.done();
};

/**
 * Hash of block i. Hashes form a chain (each block encodes its parent's hash), so they are
 * computed forward from the last memoized one; a block object is only ever shared by
 * versions with the same prefix, so the memo is sound.
 */
export const blockHash = (blocks: PVec<Block>, i: number): Uint8Array | undefined => {
  if (i < 0 || i >= blocks.length) return undefined;
  let j = i;
  while (j >= 0 && blocks.get(j)!.hashMemo === undefined) j--;
  let parent = j >= 0 ? blocks.get(j)!.hashMemo : undefined;
  for (let k = j + 1; k <= i; k++) {
    const b = blocks.get(k)!;
    const h = sha256(encodeBlock(parent, b)); // [LED-BLOCK-HASH.1]
    b.hashMemo = h;
    parent = h;
  }
  return blocks.get(i)!.hashMemo;
};

export const parentHash = (blocks: PVec<Block>, i: number): Uint8Array | undefined => (i === 0 ? undefined : blockHash(blocks, i - 1));

// ---- deduplication key ([LED-DEDUP.1]): structural equality of transactions ----

const mixStr = (h: number, s: string): number => {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
};
const mixNum = (h: number, x: number): number => Math.imul(h ^ x, 0x01000193);
/** Mix a non-negative bigint 32 bits at a time (amounts and times are u64; larger values just take more rounds). */
const mixBig = (h: number, n: bigint): number => {
  let x = n;
  do {
    h = mixNum(h, Number(x & 0xffffffffn));
    x >>= 32n;
  } while (x > 0n);
  return h;
};

/** A 31-bit digest of a transaction (FNV-1a); equal transactions have equal digests. */
export const txDigest = (tx: Transaction): number => {
  const op = tx.operation;
  let h = 0x811c9dc5;
  h = mixStr(h, op.kind);
  if (op.kind !== 'Mint') h = mixStr(h, op.from);
  if (op.kind !== 'Burn') h = mixStr(h, op.to);
  h = mixBig(h, op.amount);
  if (op.kind === 'Transfer') h = mixBig(h, op.fee);
  h = mixBig(h, tx.memo);
  h = mixStr(h, tx.icrc1Memo === undefined ? '~' : `:${tx.icrc1Memo}`);
  h = tx.createdAtTime === undefined ? mixStr(h, '~') : mixBig(h, tx.createdAtTime);
  return h & 0x7fffffff;
};

export const txEqual = (a: Transaction, b: Transaction): boolean => {
  const x = a.operation;
  const y = b.operation;
  if (x.kind !== y.kind || x.amount !== y.amount) return false;
  if (x.kind !== 'Mint' && x.from !== (y as typeof x).from) return false;
  if (x.kind !== 'Burn' && x.to !== (y as typeof x).to) return false;
  if (x.kind === 'Transfer' && x.fee !== (y as typeof x).fee) return false;
  return a.memo === b.memo && a.icrc1Memo === b.icrc1Memo && a.createdAtTime === b.createdAtTime;
};
