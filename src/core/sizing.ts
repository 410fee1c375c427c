/**
 * Kernel facts about table sizing and memory (nf_conntrack_init_start), and the memory budget
 * the product will not exceed when it recommends a larger table. See docs/kernel-facts.md.
 */

export const GiB = 1024 ** 3;

/** Entries are refused when a hash chain grows past this (the `chaintoolong` counter). */
export const MAX_CHAIN_LENGTH = 64;

/** Object size assumed when /proc/slabinfo cannot be read (300–350 B seen on distro builds). */
export const ESTIMATED_OBJ_SIZE = 320;

/** Bytes per hash bucket (one hlist_nulls_head pointer on 64-bit). */
export const BUCKET_BYTES = 8;

/**
 * The budget: at most this share of MemTotal for a full conntrack table (entries + buckets).
 * Conntrack memory is unswappable kernel slab; 5 % leaves the rest of the machine its memory
 * even when the table is full, and still allows ~4M entries on a 24 GiB host (kube-proxy caps
 * its own value at 1,048,576).
 */
export const DEFAULT_MEMORY_BUDGET_PERCENT = 5;

export type KernelVersion = readonly [number, number, number];

export function parseKernelVersion(release: string): KernelVersion | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function kernelAtLeast(v: KernelVersion, major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

export interface DefaultSizing {
  readonly buckets: number;
  readonly max: number;
  readonly rule: string;
}

/** The kernel's own defaults for a host with `memBytes` RAM (64-bit) and no hashsize= option. */
export function defaultSizing(memBytes: number, kernel?: KernelVersion): DefaultSizing {
  const modern = kernel === undefined || kernelAtLeast(kernel, 5, 15);
  let buckets: number;
  let how: string;
  if (memBytes > 4 * GiB) {
    buckets = modern ? 262144 : 65536;
    how = 'RAM > 4 GiB';
  } else if (memBytes >= GiB) {
    buckets = modern ? 65536 : 16384;
    how = 'RAM 1–4 GiB';
  } else {
    buckets = Math.max(modern ? 1024 : 32, Math.floor(memBytes / 16384 / 8));
    how = 'RAM ≤ 1 GiB: RAM / 16384 / 8';
  }
  const max = modern ? buckets : 4 * buckets;
  return {
    buckets,
    max,
    rule: modern ? `${how} → buckets ${buckets}, max = buckets (kernel ≥ 5.15)` : `${how} → buckets ${buckets}, max = 4 × buckets (kernel < 5.15)`,
  };
}

/** With an explicit `hashsize=` the kernel's default max is 8 × hashsize. */
export function defaultMaxForHashsize(hashsize: number): number {
  return 8 * hashsize;
}

/** Memory a full table needs: objsize × max + 8 B × buckets (extensions such as acct add more). */
export function tableMemoryBytes(max: number, buckets: number, objSize: number = ESTIMATED_OBJ_SIZE): number {
  return objSize * max + BUCKET_BYTES * buckets;
}

/** The largest max that fits the budget (buckets assumed equal to max). */
export function maxWithinBudget(memBytes: number, objSize: number = ESTIMATED_OBJ_SIZE, budgetPercent = DEFAULT_MEMORY_BUDGET_PERCENT): number {
  return Math.floor((memBytes * budgetPercent) / 100 / (objSize + BUCKET_BYTES));
}

/** Average hash-chain length when the table is full: each entry is hashed twice (both directions). */
export function averageChainWhenFull(max: number, buckets: number): number {
  return buckets > 0 ? (2 * max) / buckets : Infinity;
}
