/**
 * netns-limits: network namespaces have their own count against the one global max: files in
 * a namespace that set global keys, other namespaces that filled their table, and this host
 * being a namespace itself.
 */
import { formatDuration, formatInt } from '../../format';
import type { Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import { RECENT_SECONDS, type CauseContext } from './context';

export function netnsLimits(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const out: Finding[] = [];
  const globalKeys = ctx.lint().filter((f) => f.code === 'global-key-in-netns');
  if (globalKeys.length > 0) {
    out.push({
      code: 'global-key-in-netns', cause: 'netns-limits', severity: 'warning',
      title: 'Netns files set global keys',
      detail: globalKeys[0]?.message ?? '',
      evidence: globalKeys.map((f) => ({ label: 'line', value: `${f.path}:${f.range.startLine + 1}` })),
      fixes: [],
    });
  }
  const other = ctx.tableFull.otherNetns;
  // Without nf_conntrack no namespace has a table: such lines predate the module's removal.
  if (other.length > 0 && s.conntrackModule !== 'absent') {
    const ids = [...new Set(other.map((e) => e.netns))].filter((x): x is number => x !== undefined);
    const last = other[other.length - 1];
    const age = last?.uptimeSeconds !== undefined && s.uptimeSeconds !== undefined ? s.uptimeSeconds - last.uptimeSeconds : undefined;
    out.push({
      code: 'netns-table-full', cause: 'netns-limits', severity: age !== undefined && age > RECENT_SECONDS ? 'info' : 'warning',
      title: `Table full in ${ids.length} namespace${ids.length > 1 ? 's' : ''}`,
      detail: `Containers and pods have their own conntrack table, each full when its count reaches the global nf_conntrack_max (${s.max !== undefined ? formatInt(s.max) : '?'}) set here. Connect to the namespace (or the container) to see who fills it; raising max here raises it for all of them.`,
      evidence: [
        { label: 'namespaces (inode)', value: ids.join(', ') },
        { label: 'kernel log', value: `${formatInt(other.length)} "table full in netns" lines${last?.uptimeSeconds !== undefined ? `, last at ${last.uptimeSeconds.toFixed(0)} s after boot${age !== undefined ? ` (${formatDuration(Math.round(age))} ago)` : ''}` : ''}` },
      ],
      fixes: [],
    });
  }
  if (ctx.inNetns) {
    out.push({
      code: 'not-initial-netns', cause: 'netns-limits', severity: ctx.pressure ? 'warning' : 'info',
      title: 'In a netns: max is global',
      detail: 'This namespace is full when its own count reaches the global nf_conntrack_max. Timeouts and flags can be set here; max and buckets only on the host (initial namespace) — a `sysctl -w` of them here prints "Invalid argument" and still exits 0.',
      evidence: [
        ...(s.netnsInode !== undefined ? [{ label: 'netns inode', value: String(s.netnsInode) }] : []),
        ...(s.count !== undefined ? [{ label: 'entries here', value: formatInt(s.count) }] : []),
        ...(s.max !== undefined ? [{ label: 'global max', value: formatInt(s.max) }] : []),
      ],
      fixes: [],
    });
  }
  return out;
}
