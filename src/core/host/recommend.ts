/**
 * Recommendations with their arithmetic shown: a max sized from the observed peak, the CPUs
 * and the RAM (never beyond the memory budget), buckets from max, timeouts with the trade-off.
 */
import { BUCKET_BYTES, DEFAULT_MEMORY_BUDGET_PERCENT, ESTIMATED_OBJ_SIZE, maxWithinBudget, tableMemoryBytes } from '../sizing';
import { formatBytes, formatInt } from '../format';
import type { Recommendation } from './diagnosis';
import { BUCKETS_KEY, ESTABLISHED_KEY, KUBE_PROXY_ESTABLISHED_TIMEOUT, KUBE_PROXY_MAX_PER_CPU, KUBE_PROXY_MIN_MAX, MAX_KEY, OPS_GUIDE_ESTABLISHED_TIMEOUT } from '../facts';


export interface MaxInputs {
  readonly currentMax: number;
  /** Highest count observed (this snapshot, previous ones, or the current max when the table is full). */
  readonly observedPeak: number;
  readonly memTotalBytes?: number | undefined;
  readonly slabObjSize?: number | undefined;
  readonly cpus?: number | undefined;
  readonly budgetPercent?: number;
}

/** Target usage at the observed peak: below the 75 % warning threshold. */
const PEAK_TARGET = 0.65;

function roundUp(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}

export function recommendMax(i: MaxInputs): Recommendation {
  const budgetPercent = i.budgetPercent ?? DEFAULT_MEMORY_BUDGET_PERCENT;
  const objSize = i.slabObjSize ?? ESTIMATED_OBJ_SIZE;
  const objNote = i.slabObjSize ? `${objSize} B per entry (from /proc/slabinfo)` : `~${objSize} B per entry (estimated: /proc/slabinfo was not readable)`;
  const steps: string[] = [];
  const caveats: string[] = [];
  const fromPeak = roundUp(i.observedPeak / PEAK_TARGET, 65536);
  steps.push(`peak ${formatInt(i.observedPeak)} entries ÷ ${PEAK_TARGET} (peak at ${PEAK_TARGET * 100} %, under the 75 % warning) → ${formatInt(fromPeak)} (rounded up to a multiple of 65,536)`);
  let value = fromPeak;
  if (i.cpus !== undefined) {
    // kube-proxy's per-CPU sizing, as a floor
    const perCore = Math.max(KUBE_PROXY_MAX_PER_CPU * i.cpus, KUBE_PROXY_MIN_MAX);
    steps.push(`floor from CPUs: max(${formatInt(KUBE_PROXY_MAX_PER_CPU)} × ${i.cpus}, ${formatInt(KUBE_PROXY_MIN_MAX)}) = ${formatInt(perCore)} (kube-proxy's sizing)`);
    value = Math.max(value, perCore);
  }
  if (value <= i.currentMax) {
    value = roundUp(i.currentMax * 2, 65536);
    steps.push(`not above the current ${formatInt(i.currentMax)}: double it → ${formatInt(value)}`);
  }
  if (i.memTotalBytes !== undefined) {
    const cap = maxWithinBudget(i.memTotalBytes, objSize, budgetPercent);
    steps.push(`budget: ${budgetPercent} % of ${formatBytes(i.memTotalBytes)} RAM ÷ (${objSize} + ${BUCKET_BYTES} B per entry and bucket) = ${formatInt(cap)} entries at most`);
    if (value > cap) {
      const capped = Math.floor(cap / 1024) * 1024;
      caveats.push(`The observed peak needs ${formatInt(value)} entries, more than the memory budget allows (${formatInt(cap)}): raising max alone cannot absorb this load. Cut what fills the table (timeouts, top talkers, INVALID/flood traffic) as well.`);
      value = capped;
      steps.push(`capped to the budget → ${formatInt(value)}`);
    }
  } else {
    caveats.push('RAM unknown: the memory cost below could not be checked against a budget.');
  }
  if (value <= i.currentMax) {
    caveats.push(`The budget does not allow raising max above the current ${formatInt(i.currentMax)}: the fix is to cut what fills the table, not the limit.`);
  }
  const mem = tableMemoryBytes(value, value, objSize);
  steps.push(`memory when full: ${formatInt(value)} × ${objNote} + ${formatInt(value)} buckets × ${BUCKET_BYTES} B = ${formatBytes(mem)} of unswappable kernel memory, per network namespace that fills up`);
  caveats.push('max is global and can only be written in the initial (host) network namespace.');
  return { key: MAX_KEY, value, steps, caveats };
}

export function recommendBuckets(max: number, currentBuckets?: number): Recommendation {
  const value = max;
  const steps = [
    `buckets = max = ${formatInt(value)} (the kernel's own default since 5.15): each entry is hashed twice, so a full table averages chains of 2`,
    `cost: ${formatInt(value)} × ${BUCKET_BYTES} B = ${formatBytes(value * BUCKET_BYTES)}`,
  ];
  if (currentBuckets !== undefined) steps.unshift(`now: ${formatInt(currentBuckets)} buckets → chains of ${((2 * max) / currentBuckets).toFixed(1)} when full`);
  return {
    key: BUCKETS_KEY,
    value,
    steps,
    caveats: [
      'Writable only in the initial network namespace; the resize takes well under a second and loses no entries.',
      `Persist it as \`options nf_conntrack hashsize=${value}\` in /etc/modprobe.d: an explicit hashsize makes the default max 8 × hashsize, so max must stay set explicitly.`,
    ],
  };
}

export function recommendEstablishedTimeout(current: number): Recommendation {
  const value = current > KUBE_PROXY_ESTABLISHED_TIMEOUT ? KUBE_PROXY_ESTABLISHED_TIMEOUT : current > OPS_GUIDE_ESTABLISHED_TIMEOUT ? OPS_GUIDE_ESTABLISHED_TIMEOUT : current;
  return {
    key: ESTABLISHED_KEY,
    value,
    steps: [
      `now ${formatInt(current)} s: an ESTABLISHED entry whose peers vanished without FIN/RST stays that long`,
      `${formatInt(value)} s (${value === KUBE_PROXY_ESTABLISHED_TIMEOUT ? "1 day, kube-proxy's value" : '2 h, many ops guides'}) frees such entries ${(current / value).toFixed(0)}× sooner`,
    ],
    caveats: [
      `A connection idle for longer than ${formatInt(value)} s loses its entry and breaks silently (its next packet is INVALID, or re-created only with tcp_loose=1): applications need TCP keepalives more frequent than that (Linux's default tcp_keepalive_time is 7200 s).`,
      'A new timeout applies to an existing entry only on its next packet.',
    ],
  };
}
