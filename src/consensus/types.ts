/** Artifacts of Internet Computer Consensus (spec/consensus.md "Artifacts"). Times are ns. */
import type { Icrc1TransferArgs, LegacyTransferArgs } from '../ledger/rules.js';
import type { LedgerState } from '../ledger/types.js';
import type { PMap } from '../core/pmap.js';
import type { ShareSig, ThresholdSig } from './crypto.js';

/** SHA-256, lower-case hex */
export type Hash = string;

/** A ledger call carried by an ingress message; the ledger's `now` is the block's time. */
export type LedgerCall =
  | { readonly tag: 'Icrc1Transfer'; readonly args: Omit<Icrc1TransferArgs, 'now'> }
  | { readonly tag: 'Transfer'; readonly args: Omit<LegacyTransferArgs, 'now'> };

/** [CON-INGRESS.1] an ingress message: its id is the hash of its content. */
export interface IngressMsg {
  readonly id: Hash;
  readonly call: LedgerCall;
  readonly nonce: bigint;
  readonly expiry: bigint;
}

/** [CON-BLOCK.1] a block proposal; `hash` is SHA-256 of its content (consensus.ts blockHash). */
export interface Block {
  readonly height: number;
  readonly rank: number;
  readonly proposer: number;
  /** hash of the parent block (the genesis block's parent is the empty string) */
  readonly parent: Hash;
  readonly time: bigint;
  readonly payload: readonly IngressMsg[];
  readonly hash: Hash;
  /** the block maker's signature */
  readonly sig: ShareSig;
}

/** The content a catch-up package signs. */
export interface CupContent {
  readonly height: number;
  readonly block: Hash;
  readonly beacon: Hash;
  readonly stateHash: Hash;
}

/** [CON-STATE-SYNC.1] a checkpoint: the replicated state at a height, fetched by state sync. */
export interface Checkpoint {
  readonly height: number;
  readonly ledger: LedgerState;
  /** the ingress history: ids of executed messages → height, and the digest chain over them */
  readonly included: PMap<Hash, number>;
  readonly ingressDigest: Hash;
  readonly stateHash: Hash;
}

export type Artifact =
  | { readonly kind: 'Block'; readonly block: Block }
  | { readonly kind: 'NotarizationShare'; readonly height: number; readonly block: Hash; readonly sig: ShareSig }
  | { readonly kind: 'Notarization'; readonly height: number; readonly block: Hash; readonly sig: ThresholdSig }
  | { readonly kind: 'FinalizationShare'; readonly height: number; readonly block: Hash; readonly sig: ShareSig }
  | { readonly kind: 'Finalization'; readonly height: number; readonly block: Hash; readonly sig: ThresholdSig }
  | { readonly kind: 'BeaconShare'; readonly height: number; readonly sig: ShareSig }
  | { readonly kind: 'Beacon'; readonly height: number; readonly sig: ThresholdSig }
  | { readonly kind: 'CupShare'; readonly content: CupContent; readonly sig: ShareSig }
  | { readonly kind: 'Cup'; readonly content: CupContent; readonly block: Block; readonly sig: ThresholdSig; readonly checkpoint: Checkpoint }
  | { readonly kind: 'Ingress'; readonly msg: IngressMsg };

export type ArtifactKind = Artifact['kind'];
