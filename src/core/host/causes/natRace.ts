/**
 * nat-race: inserts fail because two packets of a new flow race for the same tuple (NAT of
 * UDP/DNS in Kubernetes or Docker); raising max does not help.
 */
import { formatInt, formatRate } from '../../format';
import type { Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function natRace(_s: HostSnapshot, ctx: CauseContext): Finding[] {
  const { totals, perSecond: r } = ctx;
  const insertFailedRate = r['insert_failed'];
  const clashRate = r['clash_resolve'];
  if (!((insertFailedRate ?? 0) > 0 || (clashRate ?? 0) > 0 || (!ctx.rates && (totals?.['insert_failed'] ?? 0) > 0))) return [];
  const live = (insertFailedRate ?? 0) > 0 || (clashRate ?? 0) > 0;
  const clash = totals?.['clash_resolve'];
  return [{
    code: 'nat-race', cause: 'nat-race', severity: (insertFailedRate ?? 0) > 0 ? 'warning' : 'info',
    title: live ? 'Inserts race for NAT ports' : `${formatInt(totals?.['insert_failed'] ?? 0)} failed inserts since boot`,
    detail: 'insert_failed / clash_resolve rise when two packets of a new flow race to insert the same tuple, typically SNAT/DNAT of UDP (DNS) in Kubernetes or Docker. Use `--random-fully` on MASQUERADE/SNAT rules and a current kernel; this is not fixed by raising max.',
    evidence: [
      { label: 'insert_failed', value: `${formatInt(totals?.['insert_failed'] ?? 0)}${insertFailedRate !== undefined ? `, ${formatRate(insertFailedRate)}/s now` : ''}` },
      ...(clash !== undefined ? [{ label: 'clash_resolve', value: `${formatInt(clash)}${clashRate !== undefined ? `, ${formatRate(clashRate)}/s now` : ''}` }] : []),
    ],
    fixes: [],
  }];
}
