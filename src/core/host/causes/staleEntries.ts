/**
 * stale-entries: many entries never got a reply, or one source holds a large share of the
 * table (scans, floods, a dead backend). Offers to delete the dominant source's entries.
 */
import { deleteEntries } from '../../fix/entriesFixes';
import { formatPercent } from '../../format';
import { describeEstimate, sampleLabel } from '../../sampling';
import { buildFixes } from '../adapters';
import type { Evidence, Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function staleEntries(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const t = ctx.thresholds;
  const est = ctx.entries;
  if (!est || est.sampleSize < t.minEntriesForShares) return [];
  const top = est.sources[0];
  const unreplied = est.flags.find((f) => f.key === 'UNREPLIED');
  const unrepliedShare = unreplied?.share ?? 0;
  const topShare = top?.share ?? 0;
  if (unrepliedShare < t.unrepliedShare && topShare < t.topSourceShare) return [];
  // A sample's shares are estimates: the evidence says of how many, with the bounds.
  const evidence: Evidence[] = [{ label: 'entries summarised', value: sampleLabel(est) }];
  if (unreplied) evidence.push({ label: 'UNREPLIED entries', value: describeEstimate(unreplied) });
  for (const item of est.sources.slice(0, 3)) evidence.push({ label: `source ${item.key}`, value: describeEstimate(item) });
  const topPort = est.ports[0];
  if (topPort) evidence.push({ label: `top destination port ${topPort.key}`, value: describeEstimate(topPort) });
  const dominant = top && topShare >= t.topSourceShare ? top : undefined;
  return [{
    code: 'stale-entries', cause: 'stale-entries', severity: ctx.pressure ? 'warning' : 'info',
    title: dominant ? `${est.exact ? '' : '≈'}${formatPercent(100 * topShare)} from ${dominant.key}` : `${est.exact ? '' : '≈'}${formatPercent(100 * unrepliedShare)} never got a reply`,
    detail: `${dominant ? `${dominant.key} holds ${est.exact ? '' : 'about '}${formatPercent(100 * topShare)} of the table${est.exact ? '' : ` (${sampleLabel(est)})`}. ` : ''}Unreplied entries (SYN or UDP that got no answer) are stale state: scans, floods, or a dead backend. They are early-drop candidates, but while they pile up they fill the table. Block or rate-limit the source; deleting its entries frees the slots now (they come back while it keeps sending).`,
    evidence,
    ...buildFixes(...(dominant ? [() => deleteEntries({ filter: { src: dominant.key }, expectedCount: dominant.entries, ...(s.host ? { host: s.host } : {}) })] : [])),
  }];
}
