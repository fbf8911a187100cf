/** Exact integer ranges. All protocol amounts, cycles and times are bigint. */
export const U64_MAX = (1n << 64n) - 1n;
export const U128_MAX = (1n << 128n) - 1n;
export const isU64 = (x: bigint): boolean => x >= 0n && x <= U64_MAX;
export const isU128 = (x: bigint): boolean => x >= 0n && x <= U128_MAX;
export const isNat = (x: bigint): boolean => x >= 0n;
