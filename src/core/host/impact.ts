/**
 * What each fix frees, from the live table: the entry summary (exact, or a sample of the first K
 * entries the kernel lists, then estimates with 95 % Wilson bounds scaled to the table's count),
 * the counters' rates and the previous snapshot. Pure. Kernel facts it rests on
 * (reference/kernel-conntrack.md, test/integration/impact.test.ts): a timer is re-armed with the
 * timeout in force at each packet, so a lowered timeout frees nothing at once and idle entries
 * keep their old expiry; INVALID packets never create entries; deleted live flows come back with
 * their next packet (tcp_loose=1).
 */
import type { EntryEstimate, Fix, FixImpact } from '../fix/model';
import { validateEntryFilter } from '../fix/entriesFixes';
import type { EntrySummary } from '../kernel/entrySummary';
import { wilsonInterval } from '../sampling';
import { DEFAULT_MEMORY_BUDGET_PERCENT, ESTIMATED_OBJ_SIZE, tableMemoryBytes } from '../sizing';
import { formatBytes, formatDurationShort, formatInt, formatRate } from '../format';
import type { Rates } from './diagnosis';
import type { HostSnapshot } from './snapshot';

export const TCP_LOOSE_KEY = 'net.netfilter.nf_conntrack_tcp_loose';
const TIMEOUT_PREFIX = 'net.netfilter.nf_conntrack_';

export interface ImpactFacts {
  readonly snapshot: HostSnapshot;
  /** The snapshot before (growth of the count, of a selection). */
  readonly previous?: HostSnapshot | undefined;
  readonly rates?: Rates | undefined;
  /** delete-entries: the matching entries counted on the host just now (exact). */
  readonly counted?: number | undefined;
  readonly budgetPercent?: number;
}

/** The fix with its impact (unchanged when nothing can be said about this kind of fix). */
export function withImpact(fix: Fix, facts: ImpactFacts): Fix {
  const impact = fixImpact(fix, facts);
  return impact ? { ...fix, impact } : fix;
}

export function fixImpact(fix: Fix, facts: ImpactFacts): FixImpact | undefined {
  switch (fix.id) {
    case 'set-timeout':
      return fix.change ? timeoutImpact(fix.change, facts) : undefined;
    case 'delete-entries':
      return deleteImpact(fix, facts);
    case 'raise-max':
      return fix.change ? raiseMaxImpact(fix.change, facts) : undefined;
    case 'invalid-drop-rule':
      return invalidRuleImpact(facts);
    case 'flush-table':
      return flushImpact(facts);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

/** How the summary's counts scale to the table: exact, or a sample of K of N. */
interface Scale {
  readonly sampled: boolean;
  /** entries in the summary */
  readonly k: number;
  /** entries in the table */
  readonly n: number;
  readonly basis: string;
}

function scaleOf(summary: EntrySummary, count: number | undefined): Scale {
  const sampled = summary.sample !== undefined && summary.entries >= summary.sample.limit;
  const n = sampled ? Math.max(count ?? summary.entries, summary.entries) : summary.entries;
  return {
    sampled,
    k: summary.entries,
    n,
    basis: sampled ? `sampled: ${formatInt(summary.entries)} of ${formatInt(n)} entries (95 % bounds)` : `exact: all ${formatInt(summary.entries)} entries`,
  };
}

/** hitsLow..hitsHigh of the summary's entries match: the count in the whole table. */
export function estimateCount(scale: Scale, hitsLow: number, hitsHigh: number = hitsLow): EntryEstimate {
  if (!scale.sampled) return { value: Math.round((hitsLow + hitsHigh) / 2), low: hitsLow, high: hitsHigh, exact: hitsLow === hitsHigh };
  if (scale.k === 0) return { value: 0, low: 0, high: scale.n, exact: false };
  const lo = wilsonInterval(hitsLow, scale.k);
  const hi = wilsonInterval(hitsHigh, scale.k);
  return {
    value: Math.round((scale.n * (hitsLow + hitsHigh)) / 2 / scale.k),
    low: Math.floor(scale.n * lo.low),
    high: Math.ceil(scale.n * hi.high),
    exact: false,
  };
}

export function formatEstimate(e: EntryEstimate): string {
  if (e.exact) return formatInt(e.value);
  return `~${formatInt(e.value)} (${formatInt(e.low)}–${formatInt(e.high)})`;
}

const exactly = (n: number): EntryEstimate => ({ value: n, low: n, high: n, exact: true });

function tcpLoose(s: HostSnapshot): string | undefined {
  return s.sysctl?.[TCP_LOOSE_KEY];
}

function deletionRisk(s: HostSnapshot): string {
  const loose = tcpLoose(s);
  const looseText = loose === undefined ? 'with nf_conntrack_tcp_loose=0' : loose === '0' ? 'here nf_conntrack_tcp_loose=0, so' : `with nf_conntrack_tcp_loose=0 (here ${loose}: they are picked up again instead)`;
  return `Risk of deleting: a NATed connection whose entry is deleted loses its mapping and breaks; ${looseText} the next mid-stream packets of a deleted connection are INVALID (and dropped by an INVALID-drop rule).`;
}

// ---------------------------------------------------------------------------------------------

function timeoutImpact(change: NonNullable<Fix['change']>, facts: ImpactFacts): FixImpact {
  const s = facts.snapshot;
  const short = change.key.startsWith(TIMEOUT_PREFIX) ? change.key.slice(TIMEOUT_PREFIX.length) : change.key;
  const { from, to } = change;
  const rearm = `An entry that gets a packet is re-armed with ${formatInt(to)} s at that packet; idle entries keep the expiry they were armed with.`;
  if (to >= from) {
    return { freesNow: exactly(0), basis: 'the kernel’s timer rule', text: `frees no entries: ${short} goes from ${formatInt(from)} s up to ${formatInt(to)} s, so entries live longer`, notes: [rearm] };
  }
  const summary = s.entrySummary;
  const row = summary?.idleHistogram?.find((r) => r.key === short);
  if (!summary || !row) {
    return {
      freesNow: exactly(0),
      basis: 'no idle times in the entry summary',
      text: `frees nothing at once; how many entries are idle longer than ${formatInt(to)} s is not known (the on-host entry summary reads the idle times)`,
      notes: [rearm],
    };
  }
  const scale = scaleOf(summary, s.count);
  let low = 0;
  let high = 0;
  for (const b of row.buckets) {
    if (b.minSeconds >= to) {
      low += b.count;
      high += b.count;
    } else if (b.maxSeconds === undefined || b.maxSeconds > to) high += b.count; // straddles the new timeout
  }
  const idle = estimateCount(scale, low, high);
  const within = from - to;
  const notes = [
    `When: nothing is freed at once. ${rearm} The ${formatEstimate(idle)} entries idle longer than ${formatInt(to)} s are freed as their old timers run out, all within ${formatDurationShort(within)} (idle > ${formatInt(to)} s means less than ${formatInt(from)} − ${formatInt(to)} s left), or at once if deleted.`,
    `How idle is known: idle = the configured ${formatInt(row.configured)} s − the time left, valid for timers armed under the current setting. ${formatInt(row.armedEarlier)} entries have more time left than ${formatInt(row.configured)} s allows: armed under an earlier, longer setting, not counted. If the setting was raised less than ${formatDurationShort(row.configured)} ago, idle times are overestimated.`,
    `Deleting the idle entries is a separate step (delete-entries; conntrack selects by state, not by idle time, so it deletes active entries of that state too). ${deletionRisk(s)}`,
  ];
  if (row.configured !== from) notes.push(`The summary was taken with ${short} = ${formatInt(row.configured)} s, not ${formatInt(from)} s.`);
  if (short === 'tcp_timeout_established') notes.push('ESTABLISHED entries with unacknowledged data run on the shorter tcp_timeout_unacknowledged/max_retrans (300 s) and count as idle here; they expire within 5 minutes anyway.');
  return {
    freesNow: exactly(0),
    idleBeyond: idle,
    freedWithinSeconds: within,
    basis: scale.basis,
    text: `frees nothing at once; ${formatEstimate(idle)} ${short.replace(/_timeout/, '')} entries idle > ${formatInt(to)} s free as their old timers run out (within ${formatDurationShort(within)}), or now if deleted`,
    notes,
  };
}

// ---------------------------------------------------------------------------------------------

/** The summary's count for a filter the summary can answer (one source, destination, port or TCP state). */
function summaryHits(summary: EntrySummary, filter: NonNullable<Fix['filter']>): number | undefined {
  const f = validateEntryFilter(filter);
  const keys = Object.keys(f).filter((k) => k !== 'family');
  const fromTop = (t: EntrySummary['topSources'], key: string): number | undefined => {
    const item = t.items.find((i) => i.key === key);
    if (item) return item.count;
    // every distinct key is listed: not there means none
    return t.tracked <= t.items.length && !t.approximate ? 0 : undefined;
  };
  if (keys.length === 1 && f.src && f.src.prefix === undefined) return fromTop(summary.topSources, f.src.text);
  if (keys.length === 1 && f.dst && f.dst.prefix === undefined) return fromTop(summary.topDestinations, f.dst.text);
  if (keys.length === 2 && f.proto && f.dport !== undefined) return fromTop(summary.topDestinationPorts, `${f.proto.text}/${f.dport}`);
  if (keys.length === 2 && f.proto?.name === 'tcp' && f.state) return summary.byTcpState[f.state] ?? 0;
  if (keys.length === 1 && f.proto) return summary.byProtocol[f.proto.text] ?? 0;
  return undefined;
}

function deleteImpact(fix: Fix, facts: ImpactFacts): FixImpact | undefined {
  const s = facts.snapshot;
  if (!fix.filter) return undefined;
  const summary = s.entrySummary;
  const hits = summary ? summaryHits(summary, fix.filter) : undefined;
  let freesNow: EntryEstimate | undefined;
  let basis: string;
  if (facts.counted !== undefined) {
    freesNow = exactly(facts.counted);
    basis = `exact: counted on the host (conntrack -L with the filter)`;
  } else if (summary && hits !== undefined) {
    const scale = scaleOf(summary, s.count);
    freesNow = estimateCount(scale, hits);
    basis = scale.basis;
  } else basis = 'not in the entry summary: count the matching entries first';
  // Do they come back? The selection's net growth between two snapshots.
  let returnPerSecond: number | undefined;
  const prev = facts.previous?.entrySummary;
  if (summary && prev && hits !== undefined && facts.previous) {
    const before = summaryHits(prev, fix.filter);
    const dt = (s.takenAt - facts.previous.takenAt) / 1000;
    if (before !== undefined && dt > 0) {
      const now = estimateCount(scaleOf(summary, s.count), hits).value;
      const then = estimateCount(scaleOf(prev, facts.previous.count), before).value;
      returnPerSecond = (now - then) / dt;
    }
  }
  const insert = facts.rates?.perSecond['insert'];
  const comesBack = returnPerSecond === undefined
    ? `Whether they come back is not known from one snapshot: the table gains ${insert !== undefined ? `${formatRate(insert)} new entries/s in all (an upper bound)` : 'an unknown number of entries/s'}; watch the count after deleting (conntrack-doctor watch).`
    : returnPerSecond > 0
      ? `They come back: the selection grew by ${formatRate(returnPerSecond)} entries/s since the previous snapshot (still sending); block or rate-limit the sender as well.`
      : `The selection did not grow since the previous snapshot (${formatRate(returnPerSecond)}/s): the sender has slowed or stopped, so the slots should stay free.`;
  return {
    ...(freesNow ? { freesNow } : {}),
    ...(returnPerSecond !== undefined ? { returnPerSecond } : {}),
    basis,
    text: freesNow ? `frees ${formatEstimate(freesNow)} entries now${returnPerSecond !== undefined && returnPerSecond > 0 ? `; they come back at ${formatRate(returnPerSecond)}/s` : ''}` : 'frees the matching entries now (not counted yet)',
    notes: [comesBack, deletionRisk(s)],
  };
}

// ---------------------------------------------------------------------------------------------

function raiseMaxImpact(change: NonNullable<Fix['change']>, facts: ImpactFacts): FixImpact {
  const s = facts.snapshot;
  const headroomEntries = change.to - change.from;
  const notes: string[] = [];
  // Demand: the count's growth between snapshots; when the table is full the count cannot grow,
  // and the drop rate (each a new connection refused) stands in for what could not be inserted.
  let growth: number | undefined;
  const p = facts.previous;
  if (p?.count !== undefined && s.count !== undefined && s.takenAt > p.takenAt) growth = Math.max(0, (s.count - p.count) / ((s.takenAt - p.takenAt) / 1000));
  const drop = facts.rates?.perSecond['drop'];
  const full = s.count !== undefined && s.max !== undefined && s.max > 0 && s.count >= s.max * 0.98;
  if (full && drop !== undefined && drop > 0) {
    growth = (growth ?? 0) + drop;
    notes.push(`The table is full: the growth counts the ${formatRate(drop)}/s dropped packets as entries that could not be inserted (retries make that an overestimate).`);
  }
  const free = s.count !== undefined ? change.to - s.count : headroomEntries;
  const headroomSeconds = growth !== undefined && growth > 0 && free > 0 ? free / growth : undefined;
  const objSize = s.slabObjSize ?? ESTIMATED_OBJ_SIZE;
  const memoryBytes = tableMemoryBytes(change.to, Math.max(s.buckets ?? 0, change.to), objSize);
  const budgetPercent = facts.budgetPercent ?? DEFAULT_MEMORY_BUDGET_PERCENT;
  const memoryBudgetBytes = s.memTotalBytes !== undefined ? Math.floor((s.memTotalBytes * budgetPercent) / 100) : undefined;
  notes.push(`Memory: a full table of ${formatInt(change.to)} entries takes ${formatBytes(memoryBytes)} of unswappable kernel memory (${objSize} B per entry${s.slabObjSize ? ' from /proc/slabinfo' : ', estimated'} + 8 B per bucket)${memoryBudgetBytes !== undefined ? `, against a budget of ${formatBytes(memoryBudgetBytes)} (${budgetPercent} % of RAM): ${memoryBytes <= memoryBudgetBytes ? 'within it' : 'OVER it'}` : '; RAM unknown, no budget to check against'}.`);
  notes.push('When: at once (the new limit applies to the next insertion); it frees no entries.');
  const lasts = headroomSeconds !== undefined ? `, which last ${formatDurationShort(Math.round(headroomSeconds))} at the observed ${formatRate(growth ?? 0)} entries/s` : growth === 0 ? ' (the count did not grow between snapshots)' : ' (growth unknown from one snapshot)';
  return {
    freesNow: exactly(0),
    headroomEntries,
    ...(headroomSeconds !== undefined ? { headroomSeconds } : {}),
    memoryBytes,
    ...(memoryBudgetBytes !== undefined ? { memoryBudgetBytes } : {}),
    basis: 'count, max, counters, /proc/meminfo, /proc/slabinfo',
    text: `${headroomEntries >= 0 ? '+' : ''}${formatInt(headroomEntries)} slots (${formatInt(Math.max(0, free))} free)${lasts}; ${formatBytes(memoryBytes)} when full${memoryBudgetBytes !== undefined ? ` (budget ${formatBytes(memoryBudgetBytes)})` : ''}`,
    notes,
  };
}

function invalidRuleImpact(facts: ImpactFacts): FixImpact {
  const s = facts.snapshot;
  const rate = facts.rates?.perSecond['invalid'];
  const loose = tcpLoose(s);
  return {
    freesNow: exactly(0),
    basis: 'the kernel: INVALID packets are never tracked',
    text: `frees no entries (INVALID packets are not tracked); drops the packets conntrack marks INVALID${rate !== undefined ? ` (${formatRate(rate)}/s now)` : ''} before they reach services`,
    notes: [
      'What it does: out-of-window, malformed or otherwise untrackable packets are dropped at the firewall instead of reaching services (and the rule counts them).',
      `It does not stop a flood from filling the table: ${loose === '0' ? 'with nf_conntrack_tcp_loose=0 here' : 'with nf_conntrack_tcp_loose=1 (the default)'} ${loose === '0' ? 'mid-stream packets of unknown flows are INVALID and are dropped by it' : 'a mid-stream packet of an unknown flow creates an ESTABLISHED [UNREPLIED] entry instead of being INVALID'}; when the table is full, new packets count as drop, not invalid.`,
    ],
  };
}

function flushImpact(facts: ImpactFacts): FixImpact | undefined {
  const s = facts.snapshot;
  if (s.count === undefined) return undefined;
  return {
    freesNow: exactly(s.count),
    basis: 'nf_conntrack_count',
    text: `frees all ${formatInt(s.count)} entries now; live flows come back with their next packet`,
    notes: ['When: at once. Connections still in use are picked up again by their next packet (tcp_loose=1) or become INVALID (tcp_loose=0); NATed connections break.', deletionRisk(s)],
  };
}
