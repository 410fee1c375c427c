/**
 * too-many-connections: the table is full or close to it (usage against the thresholds, drops
 * now, or table-full lines in the kernel log). Recommends a max sized from the peak, within
 * the memory budget, and a shorter established timeout when it is over a day.
 */
import { raiseMax, setConntrackTimeout } from '../../fix/sysctlFixes';
import { ESTABLISHED_KEY, KUBE_PROXY_ESTABLISHED_TIMEOUT } from '../../facts';
import { formatDuration, formatInt, formatPercent, formatRate } from '../../format';
import { describeEstimate, sampleLabel } from '../../sampling';
import { buildFixes, sysctlHost } from '../adapters';
import type { Evidence, Finding, FindingSeverity, Recommendation } from '../diagnosis';
import { recommendEstablishedTimeout, recommendMax } from '../recommend';
import type { HostSnapshot } from '../snapshot';
import { RECENT_SECONDS, type CauseContext } from './context';

export function tooManyConnections(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const { level, perSecond: r, totals, rates, percent, inNetns, thresholds: t, liveEstablished } = ctx;
  const evidence: Evidence[] = [];
  if (s.count !== undefined) evidence.push({ label: 'entries (this netns)', value: formatInt(s.count) });
  if (s.max !== undefined) evidence.push({ label: 'nf_conntrack_max (global)', value: s.max === 0 ? '0 (unlimited)' : formatInt(s.max) });
  if (percent !== undefined) evidence.push({ label: 'usage', value: formatPercent(percent) });
  const counterEvidence = (name: string, label: string): void => {
    const total = totals?.[name];
    if (total === undefined) return;
    const now = r[name];
    evidence.push({ label, value: `${formatInt(total)} total${now !== undefined ? `, ${formatRate(now)}/s now` : ''}` });
  };
  counterEvidence('drop', 'drop (new connection refused: table full)');
  counterEvidence('early_drop', 'early_drop (non-assured entry evicted to make room)');
  const mine = ctx.tableFull.mine;
  const lastMine = mine[mine.length - 1];
  const ageSeconds = lastMine?.uptimeSeconds !== undefined && s.uptimeSeconds !== undefined ? Math.max(0, s.uptimeSeconds - lastMine.uptimeSeconds) : undefined;
  const recentFull = mine.length > 0 && (ageSeconds === undefined || ageSeconds < RECENT_SECONDS);
  if (mine.length > 0) {
    const suppressed = ctx.tableFull.otherNetns.length === 0 ? (s.kernelLog?.summary.suppressedTotal ?? 0) : 0;
    const when = lastMine?.wallClock ?? (lastMine?.uptimeSeconds !== undefined ? `${lastMine.uptimeSeconds.toFixed(0)} s after boot` : undefined);
    const ago = ageSeconds !== undefined ? ` (${formatDuration(Math.round(ageSeconds))} ago)` : '';
    evidence.push({
      label: 'kernel log',
      value: `${formatInt(mine.length)} "table full, dropping packet" lines${inNetns && s.netnsInode !== undefined ? ` in netns ${s.netnsInode}` : ''}${suppressed > 0 ? ` (+${formatInt(suppressed)} suppressed by net_ratelimit)` : ''}${when ? `, last at ${when}${ago}` : ''}`,
    });
  }
  const assured = ctx.entries?.flags.find((f) => f.key === 'ASSURED');
  if (ctx.entries && ctx.entries.sampleSize > 0 && assured) {
    evidence.push({ label: 'ASSURED entries', value: `${describeEstimate(assured)}${ctx.entries.exact ? '' : `, ${sampleLabel(ctx.entries)}`}` });
  }
  const dropping = (r['drop'] ?? 0) > 0;
  const earlyDropping = (r['early_drop'] ?? 0) > 0;
  const filling = level === 'critical' || level === 'high' || level === 'elevated';
  if (!(dropping || filling || (!rates && (totals?.['drop'] ?? 0) > 0) || recentFull)) return [];

  let detail: string;
  let severity: FindingSeverity;
  let title: string;
  if (dropping) {
    severity = 'critical';
    title = `Table full: dropping ${formatRate(r['drop'] ?? 0)}/s`;
    detail = earlyDropping
      ? `Early drop is evicting non-assured entries (${formatRate(r['early_drop'] ?? 0)}/s) and still cannot keep up: a flood of new, unanswered connections (SYN or UDP). Find who sends them (top talkers) before raising max.`
      : 'early_drop is flat: the table is full of ASSURED entries, which early drop cannot evict. Raise max (within the memory budget) or shorten nf_conntrack_tcp_timeout_established.';
  } else if (filling) {
    severity = level === 'critical' ? 'critical' : 'warning';
    title = `Conntrack table ${formatPercent(percent ?? 0)} full`;
    detail = `At ${t.criticalPercent} % the kernel starts evicting and then refuses new connections ("table full, dropping packet"); new SSH logins to the host time out first.`;
  } else {
    severity = 'warning';
    title = 'The table was full earlier';
    detail = rates ? 'No drops since the previous snapshot.' : 'Drops or table-full lines were recorded recently; refresh to see whether it is still happening (rates need two snapshots).';
  }
  let recommendation: Recommendation | undefined;
  const builders: (() => ReturnType<typeof raiseMax>)[] = [];
  const max = s.max;
  if (max !== undefined && max > 0) {
    const peak = Math.max(s.count ?? 0, ctx.observedPeak ?? 0, dropping ? max : 0);
    const rec = recommendMax({ currentMax: max, observedPeak: peak, memTotalBytes: s.memTotalBytes, slabObjSize: s.slabObjSize, cpus: s.cpus, budgetPercent: t.memoryBudgetPercent });
    recommendation = rec;
    if (rec.value > max) {
      builders.push(() => raiseMax({ ...sysctlHost(s), value: rec.value, current: max, ...(s.slabObjSize ? { objsize: s.slabObjSize } : {}), ...(s.buckets ? { buckets: s.buckets } : {}) }));
    }
  }
  if (liveEstablished !== undefined && liveEstablished > KUBE_PROXY_ESTABLISHED_TIMEOUT) {
    const rec = recommendEstablishedTimeout(liveEstablished);
    builders.push(() => setConntrackTimeout({ ...sysctlHost(s), key: ESTABLISHED_KEY, value: rec.value, current: liveEstablished, tradeOff: rec.caveats[0] ?? '' }));
  }
  return [{
    code: dropping ? 'table-full' : 'table-usage', cause: 'too-many-connections', severity, title, detail: detail + ctx.hostNote, evidence,
    ...buildFixes(...builders), ...(recommendation ? { recommendation } : {}),
  }];
}
