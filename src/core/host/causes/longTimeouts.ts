/**
 * long-timeouts: established entries live for days (over kube-proxy's one day) while the table
 * is under pressure: entries of peers that vanished without FIN/RST hold slots that long.
 */
import { setConntrackTimeout } from '../../fix/sysctlFixes';
import { ESTABLISHED_KEY, KUBE_PROXY_ESTABLISHED_TIMEOUT, SECONDS_PER_DAY } from '../../facts';
import { formatInt, formatShare } from '../../format';
import { describeEstimate, sampleLabel } from '../../sampling';
import { buildFixes, sysctlHost } from '../adapters';
import type { Evidence, Finding } from '../diagnosis';
import { recommendEstablishedTimeout } from '../recommend';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function longTimeouts(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const established = ctx.liveEstablished;
  if (!ctx.pressure || established === undefined || established <= KUBE_PROXY_ESTABLISHED_TIMEOUT) return [];
  const evidence: Evidence[] = [{ label: 'nf_conntrack_tcp_timeout_established', value: `${formatInt(established)} s (${(established / SECONDS_PER_DAY).toFixed(1)} days)` }];
  const summary = s.entrySummary;
  const entries = ctx.entries;
  if (summary && entries && entries.sampleSize > 0) {
    const est = entries.states.find((r) => r.key === 'ESTABLISHED');
    evidence.push({ label: 'ESTABLISHED entries', value: `${est ? describeEstimate(est) : '0'} of the table, ${sampleLabel(entries)}` });
    const old = summary.timeoutHistogram.filter((b) => b.minSeconds >= SECONDS_PER_DAY).reduce((a, b) => a + b.count, 0);
    evidence.push({ label: 'entries with more than 1 day left', value: entries.exact ? formatInt(old) : `${formatInt(old)} of the ${formatInt(entries.sampleSize)} sampled (${formatShare(old, entries.sampleSize)})` });
  }
  const rec = recommendEstablishedTimeout(established);
  return [{
    code: 'established-timeout-long', cause: 'long-timeouts', severity: 'warning',
    title: `ESTABLISHED kept ${(established / SECONDS_PER_DAY).toFixed(0)} days`,
    detail: 'The table is under pressure. Entries of connections whose peers vanished without FIN/RST stay for the whole established timeout, holding slots the table needs.',
    evidence,
    ...buildFixes(() => setConntrackTimeout({ ...sysctlHost(s), key: ESTABLISHED_KEY, value: rec.value, current: established, tradeOff: rec.caveats[0] ?? '' })),
    recommendation: rec,
  }];
}
