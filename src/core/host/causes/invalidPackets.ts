/**
 * invalid-packets: INVALID packets arrive (a rate over the threshold, or any since boot with one
 * snapshot) and no rule drops them. Offers a drop rule for the host's firewall backend.
 */
import { invalidDropRule } from '../../fix/invalidRule';
import { formatInt, formatRate } from '../../format';
import { buildFixes, firewallPersistence, firewallTarget, noFirewallTool } from '../adapters';
import type { Evidence, Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function invalidPackets(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const invalidRate = ctx.perSecond['invalid'];
  const invalidTotal = ctx.totals?.['invalid'];
  // A burst that has passed still shows in the counter since boot: said at info level, as not current.
  if (!((invalidRate !== undefined && invalidRate >= ctx.thresholds.invalidPerSecond) || (invalidTotal ?? 0) > 0)) return [];
  const dropRules = (s.firewall?.invalidRules ?? []).filter((x) => /drop|reject/i.test(x.verdict));
  const evidence: Evidence[] = [{ label: 'invalid counter', value: `${formatInt(invalidTotal ?? 0)} total${invalidRate !== undefined ? `, ${formatRate(invalidRate)}/s now` : ''}` }];
  for (const rule of dropRules) evidence.push({ label: `rule (${rule.backend}) ${rule.table}/${rule.chain}`, value: `${rule.text}${rule.packets !== undefined ? ` — ${formatInt(rule.packets)} packets` : ''}` });
  if (dropRules.length === 0) evidence.push({ label: 'INVALID drop rule', value: s.firewall?.invalidRules ? 'none found' : 'firewall rules not readable' });
  const target = firewallTarget(s);
  const live = invalidRate !== undefined && invalidRate >= ctx.thresholds.invalidPerSecond;
  const noTool = noFirewallTool(s);
  return [{
    code: 'invalid-packets', cause: 'invalid-packets',
    severity: dropRules.length > 0 ? 'info' : live ? 'warning' : 'info',
    title: dropRules.length > 0 ? 'INVALID dropped by a rule' : live ? `${formatRate(invalidRate)}/s INVALID, not dropped` : `${formatInt(invalidTotal ?? 0)} INVALID since boot${invalidRate === undefined ? '' : invalidRate > 0 ? `, ${formatRate(invalidRate)}/s now` : ', none now'}`,
    detail: 'INVALID is a verdict on a packet, not a table state: INVALID packets never create entries (so `conntrack -L | grep INVALID` finds nothing) and do not fill the table. They are out-of-window, malformed or bad-checksum packets; without a drop rule they reach the services. Watch the rate; `nf_conntrack_log_invalid` shows why each one was invalid.',
    evidence,
    ...buildFixes(...(dropRules.length === 0 && target ? [() => invalidDropRule({ target, persistence: firewallPersistence(s) })] : [])),
    ...(dropRules.length === 0 && !target && noTool ? { fixErrors: [noTool] } : {}),
  }];
}
