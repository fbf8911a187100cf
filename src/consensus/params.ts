/**
 * Subnet parameters of Internet Computer Consensus (spec/consensus.md "Parameters").
 * Times are bigint nanoseconds; delays are configured in milliseconds as the IC's registry does.
 */

export const NS_PER_MS = 1_000_000n;

/** [CON-FAULTS.1] f = ⌊(n − 1) / 3⌋, so f < n/3. */
export const faultsTolerated = (n: number): number => Math.floor((n - 1) / 3);

/** [CON-COMMITTEE.1] the notarization committee has 3f + 1 members. */
export const committeeSize = (n: number): number => 3 * faultsTolerated(n) + 1;

/** [CON-THRESHOLD.1] notarization = finalization threshold = committee − f. */
export const notarizationThreshold = (n: number): number => committeeSize(n) - faultsTolerated(n);

/** [CON-BEACON.1] the random beacon is a threshold signature with threshold f + 1. */
export const beaconThreshold = (n: number): number => faultsTolerated(n) + 1;

/** [CON-CUP.1] catch-up packages are signed with the high threshold, committee − f. */
export const cupThreshold = notarizationThreshold;

/** [CON-RANKING.1] block makers have ranks 0..f. */
export const blockMakers = (n: number): number => faultsTolerated(n) + 1;

export interface DelayConfig {
  /** unit delay in ms (app subnets ≤ 13 nodes: 1000) */
  readonly unitDelayMs: bigint;
  /** initial notary delay in ms (app subnets: 600) */
  readonly initialNotaryDelayMs: bigint;
}

/** [CON-DELAY-PROP.1] Δprop(r) = unit_delay × r. */
export const blockMakerDelay = (d: DelayConfig, rank: number): bigint => d.unitDelayMs * BigInt(rank) * NS_PER_MS;

/** [CON-DELAY-NTRY.1] beyond this gap between notarized and certified height no notarization share is made. */
export const NOTARIZATION_CERTIFICATION_GAP = 70;

/**
 * [CON-DELAY-NTRY.1] Δntry(r) = initial_notary_delay + unit_delay · r · 1.5^(notarized_h − finalized_h)
 *   + unit_delay · max(0, finalized_h − (certified_h + 3)),
 * computed exactly in integers (⌊unit · r · 3^k / 2^k⌋ ms); undefined = hard stop (gap ≥ 70).
 */
export const notaryDelay = (d: DelayConfig, rank: number, notarizedH: number, finalizedH: number, certifiedH: number): bigint | undefined => {
  if (notarizedH - certifiedH >= NOTARIZATION_CERTIFICATION_GAP) return undefined;
  // the common case (small backlog, no certification lag) from a memo of this pure function
  const k0 = notarizedH - finalizedH;
  if (rank < 16 && k0 >= 0 && k0 < 4 && finalizedH - certifiedH <= 3) {
    let perCfg = ntryMemo.get(d);
    if (perCfg === undefined) ntryMemo.set(d, (perCfg = []));
    const key = rank * 4 + k0;
    return (perCfg[key] ??= notaryDelayExact(d, rank, notarizedH, finalizedH, certifiedH));
  }
  return notaryDelayExact(d, rank, notarizedH, finalizedH, certifiedH);
};
const ntryMemo = new WeakMap<DelayConfig, bigint[]>();
const notaryDelayExact = (d: DelayConfig, rank: number, notarizedH: number, finalizedH: number, certifiedH: number): bigint => {
  const k = BigInt(Math.max(0, notarizedH - finalizedH));
  const backoff = (d.unitDelayMs * BigInt(rank) * 3n ** k) / 2n ** k;
  const lag = BigInt(Math.max(0, finalizedH - (certifiedH + 3)));
  return (d.initialNotaryDelayMs + backoff + d.unitDelayMs * lag) * NS_PER_MS;
};

/** The IC's defaults for an application subnet of at most 13 nodes (ic-facts §1.1). */
export const APP_SUBNET_DELAYS: DelayConfig = { unitDelayMs: 1000n, initialNotaryDelayMs: 600n };
/** DKG interval length of an application subnet: a summary block (and CUP) every 500 heights. */
export const APP_DKG_INTERVAL = 499;
/** The NNS (system subnet) defaults: the seed's "system" subnet type (ic-facts §1.1; the initial notary delay varies by version). */
export const NNS_SUBNET_DELAYS: DelayConfig = { unitDelayMs: 3000n, initialNotaryDelayMs: 1000n };
export const NNS_DKG_INTERVAL = 99;
/** [CON-PAYLOAD.1] at most 1000 ingress messages per block. */
export const MAX_INGRESS_PER_BLOCK = 1000;
/** [CON-INGRESS-EXPIRY.1] an ingress message expires at most 5 minutes after it was sent. */
export const MAX_INGRESS_TTL_NS = 5n * 60n * 1_000_000_000n;

/**
 * [CON-LIVENESS.1] The largest network delay bound Δbnd for which the delays guarantee
 * liveness: Δprop(0) + 2Δbnd ≤ Δntry(1) (with no backlog: k = 0, no certification lag).
 */
export const livenessDelayBoundNs = (d: DelayConfig): bigint => {
  const ntry1 = notaryDelay(d, 1, 0, 0, 0)!;
  return (ntry1 - blockMakerDelay(d, 0)) / 2n;
};
