/**
 * hash-buckets: too few buckets for max, so a full table has long hash chains, or inserts are
 * already refused for a chain too long (`chaintoolong`). Recommends buckets = max.
 */
import { setBuckets } from '../../fix/sysctlFixes';
import { LONG_CHAIN_AVERAGE } from '../../facts';
import { averageChainWhenFull } from '../../sizing';
import { formatInt, formatRate } from '../../format';
import { buildFixes, modprobeContent, moduleState } from '../adapters';
import type { Finding } from '../diagnosis';
import { recommendBuckets } from '../recommend';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function hashBuckets(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const { max, buckets } = s;
  if (max === undefined || buckets === undefined || buckets <= 0 || max <= 0) return [];
  const chainTooLong = ctx.totals?.['chaintoolong'];
  const rate = ctx.perSecond['chaintoolong'];
  const avg = averageChainWhenFull(max, buckets);
  const refused = (rate ?? 0) > 0 || (!ctx.rates && (chainTooLong ?? 0) > 0);
  if (avg <= LONG_CHAIN_AVERAGE && !refused) return [];
  const rec = recommendBuckets(max, buckets);
  return [{
    code: 'hash-chains-long', cause: 'hash-buckets', severity: refused ? 'warning' : 'info',
    title: refused ? 'Long chains refuse inserts' : `Hash chains of ${avg.toFixed(0)} when full`,
    detail: `Each entry is hashed twice; chains past 64 refuse inserts (chaintoolong). ${rec.steps.join('; ')}.${ctx.hostNote}`,
    evidence: [
      { label: 'nf_conntrack_max', value: formatInt(max) },
      { label: 'nf_conntrack_buckets', value: formatInt(buckets) },
      { label: 'chaintoolong', value: chainTooLong === undefined ? 'not reported by this kernel' : `${formatInt(chainTooLong)}${rate !== undefined ? `, ${formatRate(rate)}/s now` : ''}` },
    ],
    ...buildFixes(() => setBuckets({ ...moduleState(s), value: rec.value, current: buckets, modprobeContent: modprobeContent(s), files: s.sysctlFiles ?? [] })),
    recommendation: rec,
  }];
}
