/**
 * memory: a full table at the current max would take more unswappable kernel memory than the
 * budget (a share of RAM) allows.
 */
import { ESTIMATED_OBJ_SIZE, maxWithinBudget, tableMemoryBytes } from '../../sizing';
import { formatBytes, formatInt, formatShare } from '../../format';
import type { Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function memory(s: HostSnapshot, ctx: CauseContext): Finding[] {
  if (s.max === undefined || s.max <= 0 || s.memTotalBytes === undefined) return [];
  const budget = ctx.thresholds.memoryBudgetPercent;
  const objSize = s.slabObjSize ?? ESTIMATED_OBJ_SIZE;
  const cap = maxWithinBudget(s.memTotalBytes, objSize, budget);
  if (s.max <= cap) return [];
  const need = tableMemoryBytes(s.max, s.buckets ?? s.max, objSize);
  return [{
    code: 'max-exceeds-memory', cause: 'memory', severity: need > s.memTotalBytes / 4 ? 'critical' : 'warning',
    title: `Full table takes ${formatBytes(need)} RAM`,
    detail: `Conntrack memory is unswappable slab. The budget is ${budget} % of RAM (${formatInt(cap)} entries here); above it a flood that fills the table takes memory the host's services need.`,
    evidence: [
      { label: 'nf_conntrack_max', value: formatInt(s.max) },
      { label: 'bytes per entry', value: s.slabObjSize ? `${objSize} (slabinfo)` : `~${objSize} (estimated)` },
      { label: 'MemTotal', value: formatBytes(s.memTotalBytes) },
      { label: 'full table', value: `${formatBytes(need)} = ${formatShare(need, s.memTotalBytes)} of RAM` },
    ],
    fixes: [],
  }];
}
