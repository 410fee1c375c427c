/**
 * stale-entries: many entries never got a reply, or one source holds a large share of the
 * table (scans, floods, a dead backend). Offers to delete the dominant source's entries.
 */
import { deleteEntries } from '../../fix/entriesFixes';
import { formatInt, formatPercent, formatShare } from '../../format';
import { buildFixes } from '../adapters';
import type { Evidence, Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function staleEntries(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const t = ctx.thresholds;
  const summary = s.entrySummary;
  if (!summary || summary.entries < t.minEntriesForShares) return [];
  const top = summary.topSources.items[0];
  const unrepliedShare = summary.unreplied / summary.entries;
  const topShare = top ? top.count / summary.entries : 0;
  if (unrepliedShare < t.unrepliedShare && topShare < t.topSourceShare) return [];
  const evidence: Evidence[] = [
    { label: 'entries summarised', value: formatInt(summary.entries) },
    { label: 'UNREPLIED entries', value: `${formatInt(summary.unreplied)} (${formatPercent(100 * unrepliedShare)})` },
  ];
  for (const item of summary.topSources.items.slice(0, 3)) {
    evidence.push({ label: `source ${item.key}`, value: `${formatInt(item.count)} entries (${formatShare(item.count, summary.entries)})${item.error > 0 ? ` ±${formatInt(item.error)}` : ''}` });
  }
  const topPort = summary.topDestinationPorts.items[0];
  if (topPort) evidence.push({ label: `top destination port ${topPort.key}`, value: formatInt(topPort.count) });
  const dominant = top && topShare >= t.topSourceShare ? top : undefined;
  return [{
    code: 'stale-entries', cause: 'stale-entries', severity: ctx.pressure ? 'warning' : 'info',
    title: dominant ? `${formatPercent(100 * topShare)} from ${dominant.key}` : `${formatPercent(100 * unrepliedShare)} never got a reply`,
    detail: `${dominant ? `${dominant.key} holds ${formatPercent(100 * topShare)} of the table. ` : ''}Unreplied entries (SYN or UDP that got no answer) are stale state: scans, floods, or a dead backend. They are early-drop candidates, but while they pile up they fill the table. Block or rate-limit the source; deleting its entries frees the slots now (they come back while it keeps sending).`,
    evidence,
    ...buildFixes(...(dominant ? [() => deleteEntries({ filter: { src: dominant.key }, expectedCount: dominant.count, ...(s.host ? { host: s.host } : {}) })] : [])),
  }];
}
