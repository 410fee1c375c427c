/**
 * The diagnosis as a person reads it (CLI `diagnose`, the extension's report document), the
 * entry summary, and the overview of many hosts. Pure formatting; the JSON is diagnosis.ts's.
 */
import { SEVERITY_ORDER, warnings, worstSeverity, type Diagnosis, type Finding } from './diagnosis';
import type { EntrySummary } from '../kernel/entrySummary';
import { describeEstimate, entryEstimates, sampleLabel, type EntryEstimates, type EstimateRow } from '../sampling';
import { ESTABLISHED_KEY } from '../facts';
import { formatDuration, formatInt, formatPercent, formatRate, formatShare, formatUsage } from '../format';

const LABEL: Record<Finding['severity'], string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'info' };

/** What the report, the sidebar and the status bar say for a host without connection tracking. */
export const INACTIVE_TEXT = 'connection tracking is not active on this host';

export function renderDiagnosis(d: Diagnosis): string {
  const out: string[] = [];
  const u = d.usage;
  out.push(`Conntrack on ${d.host ?? 'host'}`);
  const pct = u.percent !== undefined ? ` (${formatPercent(u.percent)}, ${u.level})` : '';
  if (u.active === false) out.push(`  usage     ${INACTIVE_TEXT}`);
  else out.push(`  usage     ${formatUsage(u)}${pct}${u.buckets !== undefined ? `, ${formatInt(u.buckets)} buckets` : ''}`);
  if (d.counters) {
    const names = ['drop', 'early_drop', 'insert_failed', 'invalid', 'clash_resolve', 'chaintoolong', 'error', 'search_restart', 'found', 'insert'];
    const shown = names.filter((n) => d.counters?.[n] !== undefined);
    const rate = (n: string): string => {
      const r = d.rates?.perSecond[n];
      // a rate is shown when it moves, and always for the counters that tell the story
      if (r === undefined || (r === 0 && !['drop', 'early_drop', 'invalid', 'insert_failed'].includes(n))) return '';
      return ` (${formatRate(r)}/s)`;
    };
    out.push(`  counters  ${shown.map((n) => `${n}=${formatInt(d.counters?.[n] ?? 0)}${rate(n)}`).join('  ')}${d.counterSource ? `  [${d.counterSource}]` : ''}`);
  } else if (u.active !== false) out.push('  counters  unavailable'); // without a table the usage line said why
  const changed = d.timeouts.filter((t) => t.differsFromDefault);
  if (u.active !== false || d.timeouts.length > 0) out.push(`  timeouts  ${changed.length === 0 ? 'all at kernel defaults' : changed.map((t) => `${t.key.replace('net.netfilter.nf_conntrack_', '')}=${t.value ?? '?'} (default ${t.defaultValue ?? '?'})`).join(', ')}`);
  const est = d.timeouts.find((t) => t.key === ESTABLISHED_KEY);
  if (est?.value !== undefined) out.push(`            tcp_timeout_established = ${formatInt(est.value)} s (${formatDuration(est.value)})`);
  if (d.entries) out.push(...renderEstimates(d.entries));
  out.push('');
  if (d.findings.length === 0) out.push(u.active === false ? 'No findings: nothing is tracked, so no table can fill.' : 'No findings: the table is healthy.');
  for (const f of d.findings) {
    out.push(`${LABEL[f.severity]} [${f.cause}] ${f.title}`);
    out.push(wrap(f.detail, '    '));
    for (const e of f.evidence) out.push(`    · ${e.label}: ${e.value}`);
    if (f.recommendation) {
      out.push(`    recommended ${f.recommendation.key.replace('net.netfilter.', '')} = ${formatInt(f.recommendation.value)}:`);
      for (const s of f.recommendation.steps) out.push(`      ${s}`);
      for (const c of f.recommendation.caveats) out.push(`      ! ${c}`);
    }
    for (const x of f.fixes) {
      out.push(`    fix: ${x.id}${x.destructive ? ' (destructive)' : ''} — ${x.title}`);
      if (x.impact) out.push(`      impact: ${x.impact.text} [${x.impact.basis}]`);
    }
    for (const e of f.fixErrors ?? []) out.push(`    (fix not built: ${e})`);
    out.push('');
  }
  if (d.unavailable.length > 0) {
    out.push('Not available:');
    for (const u2 of d.unavailable) out.push(`  - ${u2.what}: ${u2.why} [${u2.code}]`, ...(u2.remedy ? [`      how: ${u2.remedy}`] : []));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export function wrap(text: string, indent: string, width = 100): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur.length + w.length + 1 > width - indent.length && cur) {
      lines.push(indent + cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(indent + cur);
  return lines.join('\n');
}

/** Who fills the table, as estimates with bounds when sampled (the lines of the diagnosis). */
function renderEstimates(e: EntryEstimates): string[] {
  const out = [`  entries   ${sampleLabel(e)}${e.exact ? '' : ' (estimates with 95 % bounds; the exact count: entries TARGET --exact)'}`];
  const rows = (title: string, r: readonly EstimateRow[], n: number): void => {
    if (r.length > 0) out.push(`  ${title.padEnd(9)} ${r.slice(0, n).map((x) => `${x.key} ${describeEstimate(x)}`).join(', ')}`);
  };
  rows('sources', e.sources, 3);
  rows('dst ports', e.ports, 3);
  rows('tcp', e.states, 4);
  return out;
}

export function renderEntrySummary(s: EntrySummary, host?: string): string {
  const e = entryEstimates(s, undefined);
  // A sample's counts are of the entries read: its rows are estimates scaled to the table.
  if (!e.exact) return renderSampledSummary(s, e, host);
  const out: string[] = [];
  out.push(`Entries on ${host ?? 'host'}: ${formatInt(s.entries)} (${formatInt(s.assured)} assured, ${formatInt(s.unreplied)} unreplied${s.malformedLines ? `, ${s.malformedLines} unparsed lines` : ''})`);
  const rec = (r: Record<string, number>): string => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${formatInt(v)}`).join(', ');
  out.push(`  protocols  ${rec(s.byProtocol) || '-'}`);
  out.push(`  tcp states ${rec(s.byTcpState) || '-'}`);
  out.push(`  timeouts   ${s.timeoutHistogram.map((h) => `${h.label} ${formatInt(h.count)}`).join(', ')}`);
  const top = (title: string, t: EntrySummary['topSources']): void => {
    out.push(`  ${title}${t.approximate ? ' (approximate)' : ''}:`);
    for (const i of t.items) out.push(`    ${formatInt(i.count).padStart(10)}  ${formatShare(i.count, s.entries).padStart(7)}  ${i.key}`);
  };
  top('top sources', s.topSources);
  top('top destinations', s.topDestinations);
  top('top destination ports', s.topDestinationPorts);
  return `${out.join('\n')}\n`;
}

function renderSampledSummary(s: EntrySummary, e: EntryEstimates, host?: string): string {
  const out: string[] = [];
  out.push(`Entries on ${host ?? 'host'}: ${sampleLabel(e)} (estimates with 95 % bounds; the exact count: --exact)`);
  const flags = e.flags.map((f) => `${f.key.toLowerCase()} ${describeEstimate(f)}`).join(', ');
  out.push(`  ${flags}`);
  const rows = (title: string, r: readonly EstimateRow[]): void => {
    out.push(`  ${title}:`);
    for (const x of r) out.push(`    ${`≈${formatInt(x.entries)}`.padStart(11)}  ${formatPercent(100 * x.share).padStart(7)}  ${`${formatPercent(100 * (x.low ?? 0))}–${formatPercent(100 * (x.high ?? 0))}`.padStart(17)}  ${x.key}`);
  };
  rows('tcp states', e.states);
  out.push(`  timeouts (of the sample)   ${s.timeoutHistogram.map((h) => `${h.label} ${formatInt(h.count)}`).join(', ')}`);
  rows('top sources', e.sources);
  rows('top destinations', e.destinations);
  rows('top destination ports', e.ports);
  return `${out.join('\n')}\n`;
}

/** One line of `diagnose HOST…` (many hosts): a diagnosis, or why there is none. */
export type FleetRow = { readonly target: string; readonly diagnosis: Diagnosis } | { readonly target: string; readonly error: string };

/** The overview table of many hosts, worst first (then in the order given). */
export function renderFleetSummary(rows: readonly FleetRow[]): string {
  // unreachable hosts first, then by their worst finding
  const rank = (r: FleetRow): number => ('error' in r ? 0 : 1 + SEVERITY_ORDER.indexOf(worstSeverity(r.diagnosis.findings)));
  const sorted = rows.map((r, i) => ({ r, i })).sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i).map((x) => x.r);
  const cells = sorted.map((r) => {
    if ('error' in r) return [r.target, '-', '-', `not diagnosed: ${r.error.split('\n')[0] ?? ''}`];
    const u = r.diagnosis.usage;
    const counts = SEVERITY_ORDER.map((s) => [s, r.diagnosis.findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
    const causes = [...new Set(r.diagnosis.findings.filter((f) => f.severity !== 'info').map((f) => f.cause))];
    return [
      r.target,
      u.percent !== undefined ? formatPercent(u.percent) : '?',
      formatUsage(u),
      counts.some(([s]) => s !== 'info') ? `${counts.filter(([s]) => s !== 'info').map(([s, n]) => `${n} ${s}`).join(', ')}: ${causes.join(', ')}` : 'ok',
    ];
  });
  const header = ['HOST', 'USAGE', 'ENTRIES / MAX', 'FINDINGS'];
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]): string => row.map((cell, c) => (c === row.length - 1 ? cell : c === 1 || c === 2 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd();
  const failed = rows.filter((r) => 'error' in r).length;
  const warned = rows.filter((r) => !('error' in r) && warnings(r.diagnosis.findings) > 0).length;
  return `${[line(header), ...cells.map(line)].join('\n')}\n${rows.length} host(s): ${warned} with findings, ${failed} not diagnosed, ${rows.length - warned - failed} ok\n`;
}
