/**
 * Shares estimated from a sample of the table (the first K entries the kernel lists: hash order,
 * unrelated to addresses and ports) and their error bounds: the Wilson score interval of a
 * binomial proportion, which stays inside [0, 1] and is usable for small and extreme shares
 * where the normal approximation is not.
 */

/** z for a two-sided 95 % interval. */
export const Z95 = 1.959964;

export interface ShareEstimate {
  /** hits / sampled */
  readonly share: number;
  readonly low: number;
  readonly high: number;
}

/** The share of `hits` among `sampled` entries with its Wilson interval at `z` (default 95 %). */
export function wilsonInterval(hits: number, sampled: number, z: number = Z95): ShareEstimate {
  if (!Number.isFinite(hits) || !Number.isFinite(sampled) || sampled <= 0 || hits < 0 || hits > sampled) throw new Error(`a share needs 0 <= hits <= sampled > 0 (got ${hits} of ${sampled})`);
  const p = hits / sampled;
  const z2 = z * z;
  const denom = 1 + z2 / sampled;
  const centre = (p + z2 / (2 * sampled)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / sampled + z2 / (4 * sampled * sampled))) / denom;
  // at the extremes the bound is exactly 0 or 1 (the arithmetic above lands a rounding error off)
  return { share: p, low: hits === 0 ? 0 : Math.max(0, centre - half), high: hits === sampled ? 1 : Math.min(1, centre + half) };
}
