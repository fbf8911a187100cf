import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Machine } from '../src/core/machine.js';
import { ledgerMachine } from '../src/ledger/machine.js';
import { blockHash, encodeBlock, parentHash } from '../src/ledger/encoding.js';
import * as R from '../src/ledger/rules.js';
import type { LedgerState } from '../src/ledger/types.js';
import { toHex } from '../src/core/bytes.js';
import { canisterId, principalFromBytes, type Principal } from '../src/core/principal.js';
import { accountId } from '../src/ledger/account.js';
import { loadTraceText } from '../src/trace/load.js';
import { replay } from '../src/trace/replay.js';
import { arbInit, arbStep, concretize, DRIFT, FEE, U64, WINDOW } from './ledger-arbitraries.js';
import { applyAll, checkWalks, runWalk, type StepInfo } from './walk.js';

const arbWalk = fc.record({ init: arbInit, steps: fc.array(arbStep, { minLength: 1, maxLength: 40 }) }).map(({ init, steps }) => ({ init, actions: concretize(steps) }));

const bal = (s: LedgerState, id: string) => s.balances.get(id) ?? 0n;
type Args = Record<string, unknown> & { now: bigint; amount: bigint; created_at_time?: bigint };

/** Relational checks of one step against spec/ledger.md. */
const ledgerStep = (st: StepInfo<LedgerState>): string | undefined => {
  const { before: s, after: t, result: r, action } = st;
  const isTransfer = action.tag === 'Icrc1Transfer' || action.tag === 'Transfer';
  if (!isTransfer) {
    if (E.isLeft(r) && r.left.kind === 'NotEnabled') return 'queries are always enabled';
    return t === s || E.isLeft(r) ? undefined : 'a query changed the state';
  }
  const a = ledgerMachine.actions[action.tag]!.args.decode(action.args);
  if (E.isLeft(a)) return 'undecodable';
  const args = a.right as Args;
  if (E.isLeft(r)) {
    const f = r.left;
    // [LED-TIME.1] not enabled exactly when time goes backwards
    if (f.kind === 'NotEnabled') return args.now < s.time ? undefined : `not enabled at now=${args.now} ≥ time=${s.time}`;
    if (args.now < s.time) return 'enabled although time goes backwards';
    const e = f.error as { tag: string } & Record<string, bigint | undefined>;
    const cat = (args.created_at_time as bigint | undefined) ?? (action.tag === 'Transfer' ? args.now : undefined);
    switch (e.tag) {
      case 'TooOld':
      case 'TxTooOld':
        return cat !== undefined && cat + WINDOW < args.now ? undefined : `TooOld but created_at_time=${cat}, now=${args.now}`;
      case 'CreatedInFuture':
      case 'TxCreatedInFuture':
        return cat !== undefined && cat > args.now + DRIFT ? undefined : 'CreatedInFuture without a future created_at_time';
      case 'Duplicate':
      case 'TxDuplicate': {
        const i = Number(e.duplicate_of);
        const b = s.blocks.get(i);
        return b && b.tx.createdAtTime === cat && b.timestamp + WINDOW + DRIFT >= args.now ? undefined : `duplicate of block ${i} which does not match`;
      }
      case 'BadFee':
        return e.expected_fee === 0n || e.expected_fee === FEE ? undefined : `BadFee expects ${String(e.expected_fee)}`;
      case 'InsufficientFunds':
        return e.balance !== undefined && e.balance <= U64 ? undefined : 'balance out of range';
      default:
        return undefined;
    }
  }
  // accepted: [LED-BLOCK-APPEND.1] [LED-FEE-BURN.1] [LED-TRANSFER-EFFECT.1] [LED-MINT.1] [LED-BURN.1]
  const out = r.right.output as bigint;
  if (out !== BigInt(s.blocks.length)) return `output ${out} ≠ block index ${s.blocks.length}`;
  if (t.blocks.length !== s.blocks.length + 1) return 'not exactly one block appended';
  if (t.time !== args.now) return 'ledger time is not now';
  const op = t.blocks.last()!.tx.operation;
  switch (op.kind) {
    case 'Transfer': {
      if (op.fee !== FEE) return `recorded fee ${op.fee}`;
      if (t.totalSupply !== s.totalSupply - FEE) return 'fee not burned';
      if (op.from === op.to) return bal(t, op.from) === bal(s, op.from) - FEE ? undefined : 'self-transfer does not cost exactly the fee';
      if (bal(t, op.from) !== bal(s, op.from) - op.amount - FEE) return 'sender not debited amount + fee';
      if (bal(t, op.to) !== bal(s, op.to) + op.amount) return 'receiver not credited amount';
      return t.balances.size - s.balances.size <= 1 ? undefined : 'unrelated accounts changed';
    }
    case 'Mint':
      return t.totalSupply === s.totalSupply + op.amount && bal(t, op.to) === bal(s, op.to) + op.amount ? undefined : 'mint effect wrong';
    case 'Burn':
      if (op.amount === 0n) return 'a zero burn was accepted';
      return t.totalSupply === s.totalSupply - op.amount && bal(t, op.from) === bal(s, op.from) - op.amount ? undefined : 'burn effect wrong';
  }
};

const REQS = ['LED-INV-SUPPLY.1', 'LED-INV-RANGE.1', 'LED-INV-MINTING.1', 'LED-REJECT-NOCHANGE.1', 'LED-TIME.1', 'LED-TRANSFER-EFFECT.1', 'LED-FEE-BURN.1', 'LED-MINT.1', 'LED-BURN.1', 'LED-BLOCK-APPEND.1'];

describe('ledger walks', () => {
  it('[LED-INV-SUPPLY.1] [LED-INV-RANGE.1] [LED-INV-MINTING.1] [LED-REJECT-NOCHANGE.1] [LED-TIME.1] [LED-TRANSFER-EFFECT.1] [LED-FEE-BURN.1] [LED-MINT.1] [LED-BURN.1] [LED-BLOCK-APPEND.1] [LED-TX-TOO-OLD.1] [LED-TX-FUTURE.1] [LED-DEDUP.1] [LED-INSUFFICIENT.1] [LED-BALANCE-ZERO.1] random walks keep every invariant and every step obeys the spec', () => {
    const r = checkWalks({ name: 'ledger-walk', machine: ledgerMachine, requirements: REQS, arb: arbWalk, check: ledgerStep, numRuns: 300 });
    if (r.failed) throw new Error(`${r.message}\nshrunk counterexample saved as ${r.file} (seed ${r.seed})`);
  });

  it('[LED-INV-SUPPLY.1] [LED-FEE-BURN.1] total supply = minted − burned − fees, recomputed from the blocks', () => {
    fc.assert(
      fc.property(arbWalk, ({ init, actions }) => {
        const states = applyAll(ledgerMachine, init, actions);
        if (!states) return;
        const last = states[states.length - 1]!;
        let minted = 0n;
        let burned = 0n;
        let fees = 0n;
        for (const b of last.blocks.toArray()) {
          const op = b.tx.operation;
          if (op.kind === 'Mint') minted += op.amount;
          else if (op.kind === 'Burn') burned += op.amount;
          else fees += op.fee;
        }
        expect(last.totalSupply).toBe(minted - burned - fees);
      }),
      { numRuns: 200 },
    );
  });

  it('[LED-DEDUP.1] [LED-TX-TOO-OLD.1] [LED-DEDUP-PURGE.1] an accepted transaction with created_at_time is a Duplicate until it is TooOld, never accepted twice', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 3n * WINDOW }), fc.boolean(), (later, explicitFee) => {
        const init = ledgerMachine.initArgs.decode({
          minting_account: { owner: 'rrkah-fqaaa-aaaaa-aaaaq-cai', subaccount: { tag: 'None', value: { '#tup': [] } } },
          transfer_fee: { tag: 'Some', value: FEE },
          transaction_window: { tag: 'Some', value: WINDOW },
          permitted_drift: { tag: 'Some', value: DRIFT },
          initial_values: { tag: 'None', value: { '#tup': [] } },
          time: { tag: 'Some', value: 0n },
        });
        if (E.isLeft(init)) throw new Error('init');
        const s0 = (ledgerMachine.init(init.right) as E.Right<LedgerState>).right;
        const minter = { owner: canisterId(1n) };
        const alice = { owner: canisterId(7n) };
        const bob = { owner: canisterId(8n) };
        const mint = R.icrc1Transfer(s0, { caller: minter.owner, from_subaccount: undefined, to: alice, amount: 10n * FEE, fee: undefined, memo: undefined, created_at_time: undefined, now: 10n });
        const s1 = (mint as E.Right<{ state: LedgerState }>).right.state;
        const tx = { caller: alice.owner, from_subaccount: undefined, to: bob, amount: 5n, fee: undefined as bigint | undefined, memo: undefined, created_at_time: 10n, now: 10n };
        const first = R.icrc1Transfer(s1, tx);
        expect(E.isRight(first)).toBe(true);
        const s2 = (first as E.Right<{ state: LedgerState }>).right.state;
        const again = R.icrc1Transfer(s2, { ...tx, fee: explicitFee ? FEE : undefined, now: 10n + later });
        expect(E.isLeft(again)).toBe(true);
        const e = (again as E.Left<{ kind: string; error: { tag: string } }>).left.error;
        if (10n + WINDOW >= 10n + later) expect(e).toEqual({ tag: 'Duplicate', duplicate_of: 1n });
        else expect(e).toEqual({ tag: 'TooOld' });
      }),
    );
  });

  it('[LED-BLOCK-HASH.1] [LED-BLOCK-ENCODING.1] blocks link by parent hash, whatever version of the chain is read', () => {
    fc.assert(
      fc.property(arbWalk, ({ init, actions }) => {
        const versions = applyAll(ledgerMachine, init, actions);
        if (!versions) return;
        const final = versions[versions.length - 1]!.blocks;
        for (let i = 0; i < final.length; i++) {
          const h = blockHash(final, i)!;
          expect(h.length).toBe(32);
          if (i + 1 < final.length) expect(toHex(parentHash(final, i + 1)!)).toBe(toHex(h));
        }
        // every earlier version has the same hashes on its prefix
        for (const v of versions) for (let i = 0; i < v.blocks.length; i++) expect(toHex(blockHash(v.blocks, i)!)).toBe(toHex(blockHash(final, i)!));
      }),
      { numRuns: 50 },
    );
  });

  it('[LED-BLOCK-ENCODING.1] [LED-BLOCK-HASH.1] encoding vectors (computed independently from the protobuf field rules; not from a live ledger)', () => {
    const A = '1c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc79';
    const B = '883eef7c44be51afe4a4420d4df4beff708f3cf2f5de5efcc9f58680bb0f3690';
    const T0 = 1_700_000_000_000_000_000n;
    const b0 = { tx: { operation: { kind: 'Mint' as const, to: A, amount: 100_000_000n }, memo: 0n, icrc1Memo: undefined, createdAtTime: T0 }, timestamp: T0 };
    const e0 = encodeBlock(undefined, b0);
    expect(toHex(e0)).toBe('120a088080a8b1e39fe7cb171a3b122b12220a201c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc791a050880c2d72f2200320a088080a8b1e39fe7cb17');
    const P0 = { length: 1, get: () => b0 } as never;
    const h0 = blockHash(P0, 0)!;
    expect(toHex(h0)).toBe('610c6e889d98e4279220e172a9ddf86c3ad09d6fc11431b888d76d926c8c77b2');
    const b1 = { tx: { operation: { kind: 'Transfer' as const, from: A, to: B, amount: 50_000_000n, fee: 10_000n }, memo: 42n, icrc1Memo: undefined, createdAtTime: T0 }, timestamp: T0 + 1n };
    const e1 = encodeBlock(h0, b1);
    expect(toHex(e1)).toBe(
      '0a220a20610c6e889d98e4279220e172a9ddf86c3ad09d6fc11431b888d76d926c8c77b2120a088180a8b1e39fe7cb171a661a540a220a201c7a48ba6a562aa9eaa2481a9049cdf0433b9738c992d698c31d8abf89cadc7912220a20883eef7c44be51afe4a4420d4df4beff708f3cf2f5de5efcc9f58680bb0f36901a050880e1eb17220308904e2202082a320a088080a8b1e39fe7cb17',
    );
    const b2 = { tx: { operation: { kind: 'Burn' as const, from: B, amount: 20_000n }, memo: 0n, icrc1Memo: '0102', createdAtTime: undefined }, timestamp: T0 + 2n };
    const h1 = 'dd75f0e12f808476532d1a001697a587f5863a5f7bca07a4b58b4d0a063e7fcd';
    const e2 = encodeBlock(Buffer.from(h1, 'hex'), b2);
    expect(toHex(e2)).toBe('0a220a20dd75f0e12f808476532d1a001697a587f5863a5f7bca07a4b58b4d0a063e7fcd120a088280a8b1e39fe7cb171a340a2a0a220a20883eef7c44be51afe4a4420d4df4beff708f3cf2f5de5efcc9f58680bb0f36901a0408a09c0122003a040a020102');
  });

  it('[LED-REJECT-NOCHANGE.1] [LED-TRANSFER-FEE.1] the checker has teeth: a mutant that does not burn fees is caught, shrunk, saved as a trace that diverges from the reference', () => {
    // The mutant keeps the fee in the supply: [LED-INV-SUPPLY.1] must fail.
    const mutant: Machine<LedgerState, R.LedgerInit> = {
      ...ledgerMachine,
      actions: {
        ...ledgerMachine.actions,
        Icrc1Transfer: {
          ...ledgerMachine.actions.Icrc1Transfer!,
          rule: (s: LedgerState, a: R.Icrc1TransferArgs) => {
            const r = R.icrc1Transfer(s, a);
            if (E.isLeft(r) || r.right.state.blocks.last()!.tx.operation.kind !== 'Transfer') return r;
            return E.right({ ...r.right, state: { ...r.right.state, totalSupply: r.right.state.totalSupply + FEE } });
          },
        },
      },
    };
    const dir = mkdtempSync(join(tmpdir(), 'icspec-mutant-'));
    const r = checkWalks({ name: 'mutant', machine: mutant, requirements: ['LED-FEE-BURN.1'], arb: arbWalk, numRuns: 300, dir });
    expect(r.failed).toBe(true);
    if (!r.failed) return;
    expect(r.message).toMatch(/LED-INV-SUPPLY\.1/);
    const text = readFileSync(r.file, 'utf8');
    const t = loadTraceText(r.file, text);
    if (!t.ok) throw new Error(t.message);
    expect(t.steps.length).toBeLessThanOrEqual(6); // shrunk: init, maybe a mint, one transfer
    const rep = replay(ledgerMachine, t);
    expect(rep.divergence).toBeDefined();
    expect(rep.divergence!.path).toBe('total_supply');
  });

  it('[LED-ICRC1-ERRORS.1] [LED-LEGACY-ERRORS.1] the walk generator reaches every outcome class (so the walks have teeth)', () => {
    const counts = new Map<string, number>();
    const batch = (seed: number): void =>
      fc.assert(
        fc.property(arbWalk, ({ init, actions }) => {
          runWalk(ledgerMachine, init, actions, ({ action, result, after }) => {
            const k = E.isRight(result)
              ? `${action.tag}:Ok${action.tag.endsWith('Transfer') ? `:${(after as LedgerState).blocks.last()!.tx.operation.kind}` : ''}`
              : `${action.tag}:${result.left.kind === 'NotEnabled' ? 'NotEnabled' : (result.left.error as { tag: string }).tag}`;
            counts.set(k, (counts.get(k) ?? 0) + 1);
            return undefined;
          });
        }),
        { numRuns: 1000, seed },
      );
    // the rarest classes come about once in a few hundred walks: batches of 1,000 walks (seeds
    // following the run's printed seed) until every class is reached, at most four
    const base = fc.readConfigureGlobal().seed ?? 0;
    const required = [
      'Icrc1Transfer:Ok:Transfer', 'Icrc1Transfer:Ok:Mint', 'Icrc1Transfer:Ok:Burn', 'Icrc1Transfer:BadFee', 'Icrc1Transfer:BadBurn',
      'Icrc1Transfer:InsufficientFunds', 'Icrc1Transfer:TooOld', 'Icrc1Transfer:CreatedInFuture', 'Icrc1Transfer:Duplicate', 'Icrc1Transfer:Trap',
      'Icrc1Transfer:NotEnabled', 'Transfer:Ok:Transfer', 'Transfer:Ok:Mint', 'Transfer:Ok:Burn', 'Transfer:BadFee', 'Transfer:InsufficientFunds',
      'Transfer:TxTooOld', 'Transfer:TxCreatedInFuture', 'Transfer:TxDuplicate', 'Transfer:Trap', 'BalanceOf:Ok', 'AccountBalance:Ok', 'AccountBalance:Trap', 'TotalSupply:Ok',
    ];
    for (let k = 0; k < 4 && required.some((r) => !counts.has(r)); k++) batch((base + k) | 0);
    const missing = required.filter((k) => !counts.has(k));
    expect(missing, `outcome classes never reached in 4,000 walks: ${missing.join(', ')}`).toEqual([]);
  });
});

describe('ledger check order', () => {
  it('[LED-ICRC1-TRANSFER.1] [LED-ANON.1] [LED-MEMO.1] [LED-AMOUNT-U64.1] [LED-TRANSFER-FEE.1] [LED-TX-TOO-OLD.1] [LED-TX-FUTURE.1] [LED-DEDUP.1] [LED-INSUFFICIENT.1] when several conditions fail, icrc1_transfer reports the first in the spec order', () => {
    const minter = canisterId(1n);
    const alice = canisterId(7n);
    const bob = canisterId(8n);
    const anon = principalFromBytes(Uint8Array.of(4)) as Principal;
    const init = R.init({
      minting_account: { owner: minter },
      transfer_fee: FEE,
      transaction_window: WINDOW,
      permitted_drift: DRIFT,
      initial_values: [[accountId({ owner: alice }), 1_000_000n]],
      time: 0n,
    });
    if (E.isLeft(init)) throw new Error('init');
    const base = { caller: alice, from_subaccount: undefined, to: { owner: bob }, amount: 100n, fee: undefined as bigint | undefined, memo: undefined as Uint8Array | undefined, created_at_time: 10n as bigint | undefined, now: 10n };
    const first = R.icrc1Transfer(init.right, base);
    if (E.isLeft(first)) throw new Error('the first transfer must be accepted');
    const s = first.right.state;
    const ORDER = ['anon', 'memo', 'amountU64', 'badFee', 'tooOld', 'future', 'dup', 'funds'] as const;
    type V = (typeof ORDER)[number];
    fc.assert(
      fc.property(fc.subarray([...ORDER]), fc.bigInt({ min: 0n, max: WINDOW }), (violated, later) => {
        const v = new Set<V>(violated);
        const now = 10n + later;
        const args = {
          ...base,
          now,
          caller: v.has('anon') ? anon : alice,
          memo: v.has('memo') ? new Uint8Array(33) : undefined,
          amount: v.has('amountU64') ? 1n << 64n : v.has('funds') ? 10n ** 12n : 100n,
          fee: v.has('badFee') ? 1n : undefined,
          created_at_time: v.has('tooOld') ? now - WINDOW - 1n : v.has('future') ? now + DRIFT + 1n : v.has('dup') ? 10n : now + 1n,
        };
        // a duplicate needs the very same transaction: other changes to it make it a new one
        const dupEffective = v.has('dup') && !v.has('anon') && !v.has('memo') && !v.has('amountU64') && !v.has('funds') && !v.has('tooOld') && !v.has('future');
        const futureEffective = v.has('future') && !v.has('tooOld');
        const expected = ORDER.find((x) => (x === 'dup' ? dupEffective : x === 'future' ? futureEffective : v.has(x)));
        const r = R.icrc1Transfer(s, args);
        if (expected === undefined) {
          expect(E.isRight(r)).toBe(true);
          return;
        }
        expect(E.isLeft(r)).toBe(true);
        const f = (r as E.Left<{ kind: string; req: string; error: { tag: string; code?: string } }>).left;
        const want: Record<V, [string, string]> = {
          anon: ['LED-ANON.1', 'Trap'],
          memo: ['LED-MEMO.1', 'Trap'],
          amountU64: ['LED-AMOUNT-U64.1', 'InsufficientFunds'],
          badFee: ['LED-TRANSFER-FEE.1', 'BadFee'],
          tooOld: ['LED-TX-TOO-OLD.1', 'TooOld'],
          future: ['LED-TX-FUTURE.1', 'CreatedInFuture'],
          dup: ['LED-DEDUP.1', 'Duplicate'],
          funds: ['LED-INSUFFICIENT.1', 'InsufficientFunds'],
        };
        expect([f.req, f.error.tag]).toEqual(want[expected]);
      }),
      { numRuns: 300 },
    );
  });

  it('[LED-BURN.1] [LED-MINT.1] [LED-LEGACY-MINT.1] [LED-LEGACY-BURN.1] [LED-LEGACY-TO.1] [LED-ANON.1] classification order: ICRC-1 tests burn first, legacy tests mint first, legacy checks the destination before the caller', () => {
    const minter = canisterId(1n);
    const init = R.init({ minting_account: { owner: minter }, transfer_fee: FEE, transaction_window: WINDOW, permitted_drift: DRIFT, initial_values: [], time: 0n });
    if (E.isLeft(init)) throw new Error('init');
    const s = init.right;
    const mintingId = accountId({ owner: minter });
    // minting → minting on ICRC-1 is a burn: an amount of 0 is BadBurn{fee}
    const icrc = R.icrc1Transfer(s, { caller: minter, from_subaccount: undefined, to: { owner: minter }, amount: 0n, fee: undefined, memo: undefined, created_at_time: undefined, now: 1n });
    expect(E.isLeft(icrc) && icrc.left.kind === 'Rejected' && icrc.left.req).toBe('LED-BURN.1');
    // minting → minting on the legacy endpoint is a mint: it traps MintToMintingAccount
    const leg = R.legacyTransfer(s, { caller: minter, from_subaccount: undefined, to: Buffer.from(mintingId, 'hex'), amount: 1n, fee: 0n, memo: 0n, created_at_time: undefined, now: 1n });
    expect(E.isLeft(leg) && leg.left.kind === 'Rejected' && (leg.left.error as { code?: string }).code).toBe('MintToMintingAccount');
    // a bad destination is reported before an anonymous caller
    const anon = principalFromBytes(Uint8Array.of(4)) as Principal;
    const bad = R.legacyTransfer(s, { caller: anon, from_subaccount: undefined, to: new Uint8Array(32), amount: 1n, fee: FEE, memo: 0n, created_at_time: undefined, now: 1n });
    expect(E.isLeft(bad) && bad.left.kind === 'Rejected' && bad.left.req).toBe('LED-LEGACY-TO.1');
  });
});
