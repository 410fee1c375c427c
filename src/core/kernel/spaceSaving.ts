/**
 * Top-k heavy hitters in bounded memory: the Space-Saving algorithm (Metwally, Agrawal,
 * El Abbadi, "Efficient computation of frequent and top-k elements in data streams", ICDT 2005),
 * with the counters kept in a binary min-heap so each update costs O(log k).
 *
 * At most `capacity` keys are tracked. While the number of distinct keys stays within capacity
 * every count is exact. Past that, an unseen key replaces the key with the smallest count m and
 * inherits m + 1, recording m as its possible overcount (`error`). For every tracked key:
 * count - error <= true count <= count; and every key whose true count exceeds total / capacity is
 * tracked.
 */

export interface HeavyHitter {
  readonly key: string;
  /** Estimated count (exact when `error` is 0). */
  readonly count: number;
  /** Maximum overcount: the true count is within [count - error, count]. */
  readonly error: number;
}

export interface TopKResult {
  /** True once any key was evicted: counts may then be overestimated by their `error`. */
  readonly approximate: boolean;
  readonly capacity: number;
  /** Number of observations (sum of all increments). */
  readonly total: number;
  /** Keys currently tracked (never more than capacity). */
  readonly tracked: number;
  /** Highest counts first; ties broken by smaller error, then key. */
  readonly items: HeavyHitter[];
}

interface Slot {
  key: string;
  count: number;
  error: number;
}

export const DEFAULT_TOP_K_CAPACITY = 4096;

export class SpaceSaving {
  readonly capacity: number;
  private readonly heap: Slot[] = [];
  private readonly index = new Map<string, number>(); // key -> position in heap
  private evicted = false;
  private observations = 0;

  constructor(capacity: number = DEFAULT_TOP_K_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.heap.length;
  }

  add(key: string, increment = 1): void {
    this.observations += increment;
    const at = this.index.get(key);
    if (at !== undefined) {
      const slot = this.heap[at];
      if (slot === undefined) return;
      slot.count += increment;
      this.siftDown(at);
      return;
    }
    if (this.heap.length < this.capacity) {
      this.heap.push({ key, count: increment, error: 0 });
      this.index.set(key, this.heap.length - 1);
      this.siftUp(this.heap.length - 1);
      return;
    }
    const min = this.heap[0];
    if (min === undefined) return;
    this.evicted = true;
    this.index.delete(min.key);
    min.error = min.count;
    min.count += increment;
    min.key = key;
    this.index.set(key, 0);
    this.siftDown(0);
  }

  top(n: number): TopKResult {
    const items = this.heap
      .map((s) => ({ key: s.key, count: s.count, error: s.error }))
      .sort((a, b) => b.count - a.count || a.error - b.error || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, Math.max(0, n));
    return { approximate: this.evicted, capacity: this.capacity, total: this.observations, tracked: this.heap.length, items };
  }

  private swap(a: number, b: number): void {
    const sa = this.heap[a];
    const sb = this.heap[b];
    if (sa === undefined || sb === undefined) return;
    this.heap[a] = sb;
    this.heap[b] = sa;
    this.index.set(sb.key, a);
    this.index.set(sa.key, b);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.heap[parent]?.count ?? 0) <= (this.heap[i]?.count ?? 0)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && (this.heap[l]?.count ?? 0) < (this.heap[smallest]?.count ?? 0)) smallest = l;
      if (r < n && (this.heap[r]?.count ?? 0) < (this.heap[smallest]?.count ?? 0)) smallest = r;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
