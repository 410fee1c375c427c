/**
 * Host snapshot(s) → diagnosis: each finding names its cause (one list, docs/findings.md), the
 * evidence it was decided on (the numbers), and the fixes that address it.
 */
import type { Fix } from '../fix/model';
import { raiseMax, setBuckets, setConntrackTimeout, loadModuleAtBoot, type ConntrackModuleState, type SysctlHost } from '../fix/sysctl-fixes';
import { deleteEntries } from '../fix/entries-fixes';
import { invalidDropRule, type FirewallPersistence, type FirewallTarget } from '../fix/invalid-rule';
import { lintFiles, type LintFinding } from '../sysctl/lint';
import { conntrackLoadedBy, MODULES_LOAD_FILE, MODPROBE_FILE } from '../sysctl/boot';
import { CATALOG, isNetfilterKey } from '../sysctl/catalog';
import { DEFAULT_MEMORY_BUDGET_PERCENT, ESTIMATED_OBJ_SIZE, formatBytes, formatDuration, formatInt, maxWithinBudget, tableMemoryBytes } from '../sizing';
import { recommendBuckets, recommendEstablishedTimeout, recommendMax, type Recommendation } from './recommend';
import { usagePercent, type HostSnapshot } from './snapshot';

/** Every cause a finding can name (docs/findings.md). */
export const CAUSES = [
  'too-many-connections', 'long-timeouts', 'stale-entries', 'invalid-packets', 'memory', 'hash-buckets', 'iptables-backend',
  'nat-race', 'boot-persistence', 'config-drift', 'netns-limits', 'external-owner',
] as const;
export type Cause = (typeof CAUSES)[number];

export type FindingSeverity = 'critical' | 'warning' | 'info';

export interface Evidence {
  readonly label: string;
  readonly value: string;
}

export interface Finding {
  readonly code: string;
  readonly cause: Cause;
  readonly severity: FindingSeverity;
  readonly title: string;
  readonly detail: string;
  readonly evidence: readonly Evidence[];
  readonly fixes: readonly Fix[];
  readonly recommendation?: Recommendation;
  /** Why a fix could not be built (e.g. an input failed validation). */
  readonly fixErrors?: readonly string[];
}

/** Usage thresholds (percent of max). Defaults follow the field: node-mixin warns at 75 %, netdata 90/95, GitLab 95. */
export interface Thresholds {
  readonly warnPercent: number;
  readonly highPercent: number;
  readonly criticalPercent: number;
  /** INVALID packets per second above which they are worth a finding. */
  readonly invalidPerSecond: number;
  /** Share of entries that are UNREPLIED above which they are stale-entry evidence. */
  readonly unrepliedShare: number;
  /** Share of entries from one source above which it is named a dominant talker. */
  readonly topSourceShare: number;
  /** Entries below which shares are not judged (a tiny table says nothing). */
  readonly minEntriesForShares: number;
  readonly memoryBudgetPercent: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  warnPercent: 75,
  highPercent: 90,
  criticalPercent: 95,
  invalidPerSecond: 1,
  unrepliedShare: 0.3,
  topSourceShare: 0.2,
  minEntriesForShares: 1000,
  memoryBudgetPercent: DEFAULT_MEMORY_BUDGET_PERCENT,
};

export type UsageLevel = 'unknown' | 'ok' | 'elevated' | 'high' | 'critical';

/** The one place a usage percentage becomes a level (host view, status bar, fleet view). */
export function usageLevel(percent: number | undefined, t: Pick<Thresholds, 'warnPercent' | 'highPercent' | 'criticalPercent'> = DEFAULT_THRESHOLDS): UsageLevel {
  return percent === undefined ? 'unknown' : percent >= t.criticalPercent ? 'critical' : percent >= t.highPercent ? 'high' : percent >= t.warnPercent ? 'elevated' : 'ok';
}

export interface TimeoutRow {
  readonly key: string;
  readonly value?: number;
  readonly defaultValue?: number;
  readonly differsFromDefault: boolean;
}

export interface Diagnosis {
  readonly host?: string;
  readonly usage: { readonly count?: number; readonly max?: number; readonly buckets?: number; readonly percent?: number; readonly level: UsageLevel };
  /** Counters summed over CPUs (by name). */
  readonly counters?: Readonly<Record<string, number>>;
  readonly counterSource?: string;
  /** Per-second rates between the previous snapshot and this one. */
  readonly rates?: { readonly intervalSeconds: number; readonly perSecond: Readonly<Record<string, number>> };
  readonly timeouts: readonly TimeoutRow[];
  readonly findings: readonly Finding[];
  readonly unavailable: readonly { what: string; why: string }[];
}

export interface DiagnoseOptions {
  readonly previous?: HostSnapshot | undefined;
  readonly thresholds?: Partial<Thresholds>;
  /** Highest count seen in earlier snapshots (the extension keeps polling history). */
  readonly observedPeak?: number;
}

const ESTABLISHED = 'net.netfilter.nf_conntrack_tcp_timeout_established';

function num(v: string | undefined): number | undefined {
  if (v === undefined || !/^-?\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

function pct(n: number): string {
  return `${n.toFixed(1)} %`;
}

function rate(n: number): string {
  return `${n >= 10 ? Math.round(n) : n.toFixed(2)}/s`;
}

export function computeRates(previous: HostSnapshot, current: HostSnapshot): Diagnosis['rates'] {
  const a = previous.counters?.totals;
  const b = current.counters?.totals;
  if (!a || !b) return undefined;
  const dt = (current.takenAt - previous.takenAt) / 1000;
  if (!(dt > 0)) return undefined;
  if (previous.uptimeSeconds !== undefined && current.uptimeSeconds !== undefined && current.uptimeSeconds < previous.uptimeSeconds) return undefined; // rebooted
  const perSecond: Record<string, number> = {};
  for (const [name, value] of Object.entries(b)) {
    const before = a[name];
    if (before === undefined || value < before) continue; // new counter, or reset (module reload)
    perSecond[name] = (value - before) / dt;
  }
  return { intervalSeconds: dt, perSecond };
}

export function moduleState(s: HostSnapshot): ConntrackModuleState {
  const loaded = conntrackLoadedBy({ modulesLoad: s.modulesLoad ?? [], modprobe: s.modprobe ?? [] });
  const existing = s.modulesLoad?.find((f) => f.path === MODULES_LOAD_FILE)?.content;
  return {
    conntrack: s.conntrackModule === 'builtin' ? 'builtin' : 'module',
    moduleLoadedAtBoot: loaded !== undefined,
    ...(existing !== undefined ? { modulesLoadContent: existing } : {}),
  };
}

export function sysctlHost(s: HostSnapshot): SysctlHost {
  return { ...moduleState(s), files: s.sysctlFiles ?? [], ...(s.loader ? { loadersInUse: [s.loader] } : {}) };
}

function tryFix(build: () => Fix, errors: string[]): Fix[] {
  try {
    return [build()];
  } catch (err) {
    errors.push(err instanceof Error ? err.message : String(err));
    return [];
  }
}

export function firewallTarget(s: HostSnapshot): FirewallTarget | undefined {
  const fw = s.firewall;
  if (!fw) return undefined;
  const legacyPresent = (fw.legacyTables?.length ?? 0) > 0;
  const iptablesNftTables = (fw.nftTables ?? []).some((t) => t === 'ip filter' || t === 'ip6 filter');
  // A native nft input chain takes the rule unless iptables-nft manages the ip filter table;
  // legacy tables next to it are a separate firewall (reported as iptables-backend).
  if (fw.nftInputChain && !iptablesNftTables) {
    return { kind: 'nft', family: fw.nftInputChain.family, table: fw.nftInputChain.table, chain: fw.nftInputChain.chain };
  }
  if (fw.iptablesBackend === undefined) return undefined;
  return {
    kind: 'iptables',
    backend: fw.iptablesBackend,
    coexisting: legacyPresent && fw.iptablesBackend === 'nf_tables',
    ambiguous: fw.alternativesMode === undefined,
  };
}

export function firewallPersistence(s: HostSnapshot): FirewallPersistence {
  const p = s.firewall?.persistence;
  if (p === 'nftables-conf') return { kind: 'nftables-conf', content: s.firewall?.nftablesConf };
  if (p === 'netfilter-persistent' || p === 'iptables-services' || p === 'firewalld' || p === 'ufw') return { kind: p };
  return { kind: 'none' };
}

/** Diagnoses one snapshot (and the previous one, for rates). */
export function diagnose(s: HostSnapshot, options: DiagnoseOptions = {}): Diagnosis {
  const t: Thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const findings: Finding[] = [];
  const percent = usagePercent(s);
  const rates = options.previous ? computeRates(options.previous, s) : undefined;
  const r = rates?.perSecond ?? {};
  const totals = s.counters?.totals;
  const level = usageLevel(percent, t);
  const inNetns = s.initialNetns === false;
  const hostNote = inNetns ? ' This is not the initial network namespace: max and buckets are global and can only be changed on the host (initial namespace).' : '';
  const summary = s.entrySummary;
  const pressure = level === 'elevated' || level === 'high' || level === 'critical' || (r['drop'] ?? 0) > 0;
  const liveEstablished = num(s.sysctl?.[ESTABLISHED]);

  // --- too-many-connections -------------------------------------------------------------------
  const usageEvidence: Evidence[] = [];
  if (s.count !== undefined) usageEvidence.push({ label: 'entries (this netns)', value: formatInt(s.count) });
  if (s.max !== undefined) usageEvidence.push({ label: 'nf_conntrack_max (global)', value: s.max === 0 ? '0 (unlimited)' : formatInt(s.max) });
  if (percent !== undefined) usageEvidence.push({ label: 'usage', value: pct(percent) });
  const counterEvidence = (name: string, label: string): void => {
    if (totals?.[name] === undefined) return;
    const rr = r[name];
    usageEvidence.push({ label, value: `${formatInt(totals[name])} total${rr !== undefined ? `, ${rate(rr)} now` : ''}` });
  };
  counterEvidence('drop', 'drop (new connection refused: table full)');
  counterEvidence('early_drop', 'early_drop (non-assured entry evicted to make room)');
  // The kernel log is global: `in netns N` lines belong to namespace N, the plain form to the initial one.
  const events = s.kernelLog?.events ?? [];
  let mine = events.filter((e) => (inNetns ? s.netnsInode === undefined || e.netns === s.netnsInode : e.netns === undefined));
  // Counters are per namespace: with drop = 0 here, matching lines belong to an earlier namespace
  // that had the same inode (inodes are reused), not to this one.
  if (totals?.['drop'] === 0) mine = [];
  const otherNetns = inNetns ? [] : events.filter((e) => e.netns !== undefined);
  const lastMine = mine[mine.length - 1];
  const ageSeconds = lastMine?.uptimeSeconds !== undefined && s.uptimeSeconds !== undefined ? Math.max(0, s.uptimeSeconds - lastMine.uptimeSeconds) : undefined;
  const recentFull = mine.length > 0 && (ageSeconds === undefined || ageSeconds < 3600);
  if (mine.length > 0) {
    const suppressed = otherNetns.length === 0 ? (s.kernelLog?.summary.suppressedTotal ?? 0) : 0;
    const when = lastMine?.wallClock ?? (lastMine?.uptimeSeconds !== undefined ? `${lastMine.uptimeSeconds.toFixed(0)} s after boot` : undefined);
    const ago = ageSeconds !== undefined ? ` (${formatDuration(Math.round(ageSeconds))} ago)` : '';
    usageEvidence.push({
      label: 'kernel log',
      value: `${formatInt(mine.length)} "table full, dropping packet" lines${inNetns && s.netnsInode !== undefined ? ` in netns ${s.netnsInode}` : ''}${suppressed > 0 ? ` (+${formatInt(suppressed)} suppressed by net_ratelimit)` : ''}${when ? `, last at ${when}${ago}` : ''}`,
    });
  }
  if (summary && summary.entries > 0) {
    usageEvidence.push({ label: 'ASSURED entries', value: `${formatInt(summary.assured)} (${pct((100 * summary.assured) / summary.entries)})` });
  }
  const dropping = (r['drop'] ?? 0) > 0;
  const earlyDropping = (r['early_drop'] ?? 0) > 0;
  if (dropping || level === 'critical' || level === 'high' || level === 'elevated' || (!rates && (totals?.['drop'] ?? 0) > 0) || recentFull) {
    const errors: string[] = [];
    let detail: string;
    let severity: FindingSeverity;
    let title: string;
    if (dropping) {
      severity = 'critical';
      title = `Table full: dropping ${rate(r['drop'] ?? 0)} new connections`;
      detail = earlyDropping
        ? `Early drop is evicting non-assured entries (${rate(r['early_drop'] ?? 0)}) and still cannot keep up: a flood of new, unanswered connections (SYN or UDP). Find who sends them (top talkers) before raising max.`
        : 'early_drop is flat: the table is full of ASSURED entries, which early drop cannot evict. Raise max (within the memory budget) or shorten nf_conntrack_tcp_timeout_established.';
    } else if (level === 'critical' || level === 'high' || level === 'elevated') {
      severity = level === 'critical' ? 'critical' : 'warning';
      title = `Conntrack table ${pct(percent ?? 0)} full`;
      detail = `At ${t.criticalPercent} % the kernel starts evicting and then refuses new connections ("table full, dropping packet"); new SSH logins to the host time out first.`;
    } else {
      severity = 'warning';
      title = 'The table was full earlier';
      detail = rates ? 'No drops since the previous snapshot.' : 'Drops or table-full lines were recorded recently; refresh to see whether it is still happening (rates need two snapshots).';
    }
    let recommendation: Recommendation | undefined;
    const fixes: Fix[] = [];
    if (s.max !== undefined && s.max > 0) {
      const peak = Math.max(s.count ?? 0, options.observedPeak ?? 0, dropping ? s.max : 0);
      recommendation = recommendMax({ currentMax: s.max, observedPeak: peak, memTotalBytes: s.memTotalBytes, slabObjSize: s.slabObjSize, cpus: s.cpus, budgetPercent: t.memoryBudgetPercent });
      const rec = recommendation;
      if (rec.value > s.max) {
        fixes.push(...tryFix(() => raiseMax({ ...sysctlHost(s), value: rec.value, current: s.max ?? 0, ...(s.slabObjSize ? { objsize: s.slabObjSize } : {}), ...(s.buckets ? { buckets: s.buckets } : {}) }), errors));
      }
    }
    if (liveEstablished !== undefined && liveEstablished > 86400) {
      const rec = recommendEstablishedTimeout(liveEstablished);
      fixes.push(...tryFix(() => setConntrackTimeout({ ...sysctlHost(s), key: ESTABLISHED, value: rec.value, current: liveEstablished, tradeOff: rec.caveats[0] ?? '' }), errors));
    }
    findings.push({ code: dropping ? 'table-full' : 'table-usage', cause: 'too-many-connections', severity, title, detail: detail + hostNote, evidence: usageEvidence, fixes, ...(recommendation ? { recommendation } : {}), ...(errors.length ? { fixErrors: errors } : {}) });
  }

  // --- long-timeouts ---------------------------------------------------------------------------
  if (pressure && liveEstablished !== undefined && liveEstablished > 86400) {
    const ev: Evidence[] = [{ label: 'nf_conntrack_tcp_timeout_established', value: `${formatInt(liveEstablished)} s (${(liveEstablished / 86400).toFixed(1)} days)` }];
    if (summary && summary.entries > 0) {
      const est = summary.byTcpState['ESTABLISHED'] ?? 0;
      ev.push({ label: 'ESTABLISHED entries', value: `${formatInt(est)} (${pct((100 * est) / summary.entries)} of the table)` });
      const old = summary.timeoutHistogram.filter((b) => b.minSeconds >= 86400).reduce((a, b) => a + b.count, 0);
      ev.push({ label: 'entries with more than 1 day left', value: formatInt(old) });
    }
    const rec = recommendEstablishedTimeout(liveEstablished);
    const errors: string[] = [];
    const fixes = tryFix(() => setConntrackTimeout({ ...sysctlHost(s), key: ESTABLISHED, value: rec.value, current: liveEstablished, tradeOff: rec.caveats[0] ?? '' }), errors);
    findings.push({
      code: 'established-timeout-long', cause: 'long-timeouts', severity: 'warning',
      title: `Established entries live ${(liveEstablished / 86400).toFixed(0)} days while the table is under pressure`,
      detail: 'Entries of connections whose peers vanished without FIN/RST stay for the whole established timeout, holding slots the table needs.',
      evidence: ev, fixes, recommendation: rec, ...(errors.length ? { fixErrors: errors } : {}),
    });
  }

  // --- stale-entries ---------------------------------------------------------------------------
  if (summary && summary.entries >= t.minEntriesForShares) {
    const top = summary.topSources.items[0];
    const unrepliedShare = summary.unreplied / summary.entries;
    const topShare = top ? top.count / summary.entries : 0;
    if (unrepliedShare >= t.unrepliedShare || topShare >= t.topSourceShare) {
      const ev: Evidence[] = [
        { label: 'entries summarised', value: formatInt(summary.entries) },
        { label: 'UNREPLIED entries', value: `${formatInt(summary.unreplied)} (${pct(100 * unrepliedShare)})` },
      ];
      for (const item of summary.topSources.items.slice(0, 3)) {
        ev.push({ label: `source ${item.key}`, value: `${formatInt(item.count)} entries (${pct((100 * item.count) / summary.entries)})${item.error > 0 ? ` ±${formatInt(item.error)}` : ''}` });
      }
      const topPort = summary.topDestinationPorts.items[0];
      if (topPort) ev.push({ label: `top destination port ${topPort.key}`, value: formatInt(topPort.count) });
      const errors: string[] = [];
      const fixes = top && topShare >= t.topSourceShare ? tryFix(() => deleteEntries({ filter: { src: top.key }, expectedCount: top.count, ...(s.host ? { host: s.host } : {}) }), errors) : [];
      findings.push({
        code: 'stale-entries', cause: 'stale-entries', severity: pressure ? 'warning' : 'info',
        title: top && topShare >= t.topSourceShare ? `${top.key} holds ${pct(100 * topShare)} of the table` : `${pct(100 * unrepliedShare)} of the entries never got a reply`,
        detail: 'Unreplied entries (SYN or UDP that got no answer) are stale state: scans, floods, or a dead backend. They are early-drop candidates, but while they pile up they fill the table. Block or rate-limit the source; deleting its entries frees the slots now (they come back while it keeps sending).',
        evidence: ev, fixes, ...(errors.length ? { fixErrors: errors } : {}),
      });
    }
  }

  // --- invalid-packets -------------------------------------------------------------------------
  const invalidRate = r['invalid'];
  const invalidTotal = totals?.['invalid'];
  const dropRules = (s.firewall?.invalidRules ?? []).filter((x) => /drop|reject/i.test(x.verdict));
  if ((invalidRate !== undefined && invalidRate >= t.invalidPerSecond) || (!rates && (invalidTotal ?? 0) > 0)) {
    const ev: Evidence[] = [{ label: 'invalid counter', value: `${formatInt(invalidTotal ?? 0)} total${invalidRate !== undefined ? `, ${rate(invalidRate)} now` : ''}` }];
    for (const rule of dropRules) ev.push({ label: `rule (${rule.backend}) ${rule.table}/${rule.chain}`, value: `${rule.text}${rule.packets !== undefined ? ` — ${formatInt(rule.packets)} packets` : ''}` });
    if (dropRules.length === 0) ev.push({ label: 'INVALID drop rule', value: s.firewall?.invalidRules ? 'none found' : 'firewall rules not readable' });
    const errors: string[] = [];
    const target = firewallTarget(s);
    const fixes = dropRules.length === 0 && target ? tryFix(() => invalidDropRule({ target, persistence: firewallPersistence(s) }), errors) : [];
    const live = invalidRate !== undefined;
    findings.push({
      code: 'invalid-packets', cause: 'invalid-packets',
      severity: dropRules.length > 0 ? 'info' : live ? 'warning' : 'info',
      title: dropRules.length > 0 ? 'INVALID packets are being dropped by a rule' : live ? `${rate(invalidRate ?? 0)} INVALID packets and no rule drops them` : `${formatInt(invalidTotal ?? 0)} INVALID packets since boot`,
      detail: 'INVALID is a verdict on a packet, not a table state: INVALID packets never create entries (so `conntrack -L | grep INVALID` finds nothing) and do not fill the table. They are out-of-window, malformed or bad-checksum packets; without a drop rule they reach the services. Watch the rate; `nf_conntrack_log_invalid` shows why each one was invalid.',
      evidence: ev, fixes, ...(errors.length ? { fixErrors: errors } : {}),
    });
  }

  // --- memory ----------------------------------------------------------------------------------
  if (s.max !== undefined && s.max > 0 && s.memTotalBytes !== undefined) {
    const objSize = s.slabObjSize ?? ESTIMATED_OBJ_SIZE;
    const cap = maxWithinBudget(s.memTotalBytes, objSize, t.memoryBudgetPercent);
    if (s.max > cap) {
      const need = tableMemoryBytes(s.max, s.buckets ?? s.max, objSize);
      findings.push({
        code: 'max-exceeds-memory', cause: 'memory', severity: need > s.memTotalBytes / 4 ? 'critical' : 'warning',
        title: `A full table would take ${formatBytes(need)} of kernel memory`,
        detail: `Conntrack memory is unswappable slab. The budget is ${t.memoryBudgetPercent} % of RAM (${formatInt(cap)} entries here); above it a flood that fills the table takes memory the host's services need.`,
        evidence: [
          { label: 'nf_conntrack_max', value: formatInt(s.max) },
          { label: 'bytes per entry', value: s.slabObjSize ? `${objSize} (slabinfo)` : `~${objSize} (estimated)` },
          { label: 'MemTotal', value: formatBytes(s.memTotalBytes) },
          { label: 'full table', value: `${formatBytes(need)} = ${pct((100 * need) / s.memTotalBytes)} of RAM` },
        ],
        fixes: [],
      });
    }
  }

  // --- hash-buckets ----------------------------------------------------------------------------
  const chainTooLong = totals?.['chaintoolong'];
  if (s.max !== undefined && s.buckets !== undefined && s.buckets > 0 && s.max > 0) {
    const avg = (2 * s.max) / s.buckets;
    const refused = (r['chaintoolong'] ?? 0) > 0 || (!rates && (chainTooLong ?? 0) > 0);
    if (avg > 16 || refused) {
      const rec = recommendBuckets(s.max, s.buckets);
      const errors: string[] = [];
      const fixes = tryFix(() => setBuckets({ ...moduleState(s), value: rec.value, current: s.buckets ?? 0, modprobeContent: s.modprobe?.find((f) => f.path === MODPROBE_FILE)?.content, files: s.sysctlFiles ?? [] }), errors);
      findings.push({
        code: 'hash-chains-long', cause: 'hash-buckets', severity: refused ? 'warning' : 'info',
        title: refused ? 'Inserts refused because hash chains are too long' : `Hash chains average ${avg.toFixed(0)} when the table is full`,
        detail: `Each entry is hashed twice; chains past 64 refuse inserts (chaintoolong). ${rec.steps.join('; ')}.${hostNote}`,
        evidence: [
          { label: 'nf_conntrack_max', value: formatInt(s.max) },
          { label: 'nf_conntrack_buckets', value: formatInt(s.buckets) },
          { label: 'chaintoolong', value: chainTooLong === undefined ? 'not reported by this kernel' : `${formatInt(chainTooLong)}${r['chaintoolong'] !== undefined ? `, ${rate(r['chaintoolong'])} now` : ''}` },
        ],
        fixes, recommendation: rec, ...(errors.length ? { fixErrors: errors } : {}),
      });
    }
  }

  // --- iptables-backend ------------------------------------------------------------------------
  const fw = s.firewall;
  if (fw && (fw.legacyTables?.length ?? 0) > 0 && (fw.iptablesBackend === 'nf_tables' || (fw.nftTables?.length ?? 0) > 0)) {
    findings.push({
      code: 'iptables-mixed-backends', cause: 'iptables-backend', severity: 'warning',
      title: 'Legacy iptables tables and nftables rules are both active',
      detail: 'Two firewalls run at once: rules made with iptables-legacy are invisible to iptables-nft and nft, and the other way round. A chain created by one backend and used with the other gives "iptables: No chain/target/match by that name." Move every rule to one backend (iptables-legacy-save | iptables-nft-restore) and keep the alternatives link on it.',
      evidence: [
        { label: 'iptables', value: `${fw.iptablesVersion ?? '?'} (${fw.iptablesBackend ?? 'backend unknown'}${fw.alternativesMode ? `, alternatives ${fw.alternativesMode}` : ''})` },
        { label: 'legacy tables (/proc/net/ip_tables_names)', value: (fw.legacyTables ?? []).join(', ') },
        { label: 'nft tables', value: (fw.nftTables ?? []).join(', ') || 'none' },
      ],
      fixes: [],
    });
  }

  // --- nat-race --------------------------------------------------------------------------------
  const insertFailedRate = r['insert_failed'];
  const clashRate = r['clash_resolve'];
  if ((insertFailedRate ?? 0) > 0 || (clashRate ?? 0) > 0 || (!rates && ((totals?.['insert_failed'] ?? 0) > 0))) {
    const live = (insertFailedRate ?? 0) > 0 || (clashRate ?? 0) > 0;
    findings.push({
      code: 'nat-race', cause: 'nat-race', severity: (insertFailedRate ?? 0) > 0 ? 'warning' : 'info',
      title: live ? 'Inserts race for the same tuple (NAT port allocation)' : `${formatInt(totals?.['insert_failed'] ?? 0)} failed inserts since boot`,
      detail: 'insert_failed / clash_resolve rise when two packets of a new flow race to insert the same tuple, typically SNAT/DNAT of UDP (DNS) in Kubernetes or Docker. Use `--random-fully` on MASQUERADE/SNAT rules and a current kernel; this is not fixed by raising max.',
      evidence: [
        { label: 'insert_failed', value: `${formatInt(totals?.['insert_failed'] ?? 0)}${insertFailedRate !== undefined ? `, ${rate(insertFailedRate)} now` : ''}` },
        ...(totals?.['clash_resolve'] !== undefined ? [{ label: 'clash_resolve', value: `${formatInt(totals['clash_resolve'])}${clashRate !== undefined ? `, ${rate(clashRate)} now` : ''}` }] : []),
      ],
      fixes: [],
    });
  }

  // --- files: boot persistence, drift, settings not applied (the linter with host context) ----
  if (s.sysctlFiles && s.sysctlFiles.length > 0) {
    const lint = lintFiles(s.sysctlFiles, {
      ...(s.loader ? { loaders: [s.loader] } : {}),
      context: {
        ...(s.liveKeys ? { liveKeys: new Set(s.liveKeys) } : {}),
        ...(s.sysctl ? { liveValues: new Map(Object.entries(s.sysctl)) } : {}),
        ...(s.memTotalBytes ? { memTotalBytes: s.memTotalBytes } : {}),
        ...(s.slabObjSize ? { slabObjSize: s.slabObjSize } : {}),
        ...(s.kernelRelease ? { kernelRelease: s.kernelRelease } : {}),
        ...(s.initialNetns !== undefined ? { initialNetns: s.initialNetns } : {}),
        ...(percent !== undefined ? { usagePercent: percent } : {}),
        ...(s.buckets ? { liveBuckets: s.buckets } : {}),
      },
      ...(s.modulesLoad && s.modprobe ? { boot: { modulesLoad: s.modulesLoad, modprobe: s.modprobe, conntrackBuiltin: s.conntrackModule === 'builtin' } } : {}),
    });
    findings.push(...fileFindings(lint, s));
  }

  // --- netns-limits ----------------------------------------------------------------------------
  if (otherNetns.length > 0) {
    const ids = [...new Set(otherNetns.map((e) => e.netns))].filter((x): x is number => x !== undefined);
    const last = otherNetns[otherNetns.length - 1];
    const age = last?.uptimeSeconds !== undefined && s.uptimeSeconds !== undefined ? s.uptimeSeconds - last.uptimeSeconds : undefined;
    findings.push({
      code: 'netns-table-full', cause: 'netns-limits', severity: age !== undefined && age > 3600 ? 'info' : 'warning',
      title: `${ids.length} network namespace${ids.length > 1 ? 's' : ''} on this host filled the table`,
      detail: `Containers and pods have their own conntrack table, each full when its count reaches the global nf_conntrack_max (${s.max !== undefined ? formatInt(s.max) : '?'}) set here. Connect to the namespace (or the container) to see who fills it; raising max here raises it for all of them.`,
      evidence: [
        { label: 'namespaces (inode)', value: ids.join(', ') },
        { label: 'kernel log', value: `${formatInt(otherNetns.length)} "table full in netns" lines${last?.uptimeSeconds !== undefined ? `, last at ${last.uptimeSeconds.toFixed(0)} s after boot${age !== undefined ? ` (${formatDuration(Math.round(age))} ago)` : ''}` : ''}` },
      ],
      fixes: [],
    });
  }
  if (inNetns) {
    findings.push({
      code: 'not-initial-netns', cause: 'netns-limits', severity: pressure ? 'warning' : 'info',
      title: 'Inside a network namespace: count is this namespace\'s, max is global',
      detail: 'This namespace is full when its own count reaches the global nf_conntrack_max. Timeouts and flags can be set here; max and buckets only on the host (initial namespace) — a `sysctl -w` of them here prints "Invalid argument" and still exits 0.',
      evidence: [
        ...(s.netnsInode !== undefined ? [{ label: 'netns inode', value: String(s.netnsInode) }] : []),
        ...(s.count !== undefined ? [{ label: 'entries here', value: formatInt(s.count) }] : []),
        ...(s.max !== undefined ? [{ label: 'global max', value: formatInt(s.max) }] : []),
      ],
      fixes: [],
    });
  }

  // --- external-owner --------------------------------------------------------------------------
  const owners = s.externalOwners;
  if (owners?.kubeProxy) {
    findings.push({
      code: 'kube-proxy-owns-conntrack', cause: 'external-owner', severity: pressure ? 'warning' : 'info',
      title: 'kube-proxy sets conntrack max and timeouts on this node',
      detail: 'kube-proxy writes nf_conntrack_max (max(32768 × CPUs, 131072), capped), tcp_timeout_established (86400) and close_wait (3600) when it starts, over whatever the sysctl files say. Change them in kube-proxy\'s configuration (conntrack.maxPerCore, conntrack.min, conntrack.tcpEstablishedTimeout, conntrack.tcpCloseWaitTimeout) or they are reverted.',
      evidence: [{ label: 'kube-proxy', value: `running${owners.kubeProxyMode ? ` (mode ${owners.kubeProxyMode})` : ''}` }],
      fixes: [],
    });
  }
  if (owners?.cilium || owners?.calicoEbpf) {
    const who = owners.cilium ? 'Cilium' : 'Calico eBPF';
    findings.push({
      code: 'ebpf-conntrack', cause: 'external-owner', severity: 'info',
      title: `${who} keeps its own connection tracking`,
      detail: `${who}'s eBPF datapath tracks connections in BPF maps, not (only) in nf_conntrack: the kernel table can look healthy while the BPF CT map is full. Check ${owners.cilium ? '`cilium status` and `cilium bpf ct list global | wc -l` against `bpf-ct-global-tcp-max`' : "Calico's `calico-node -bpf conntrack dump` and its map sizes"}.`,
      evidence: [{ label: who, value: 'detected' }],
      fixes: [],
    });
  }

  const order: Record<FindingSeverity, number> = { critical: 0, warning: 1, info: 2 };
  findings.sort((a, b) => order[a.severity] - order[b.severity]);
  return {
    ...(s.host ? { host: s.host } : {}),
    usage: {
      ...(s.count !== undefined ? { count: s.count } : {}),
      ...(s.max !== undefined ? { max: s.max } : {}),
      ...(s.buckets !== undefined ? { buckets: s.buckets } : {}),
      ...(percent !== undefined ? { percent } : {}),
      level,
    },
    ...(totals ? { counters: totals } : {}),
    ...(s.counters ? { counterSource: s.counters.source } : {}),
    ...(rates ? { rates } : {}),
    timeouts: timeoutRows(s),
    findings,
    unavailable: s.unavailable ?? [],
  };
}

function timeoutRows(s: HostSnapshot): TimeoutRow[] {
  const rows: TimeoutRow[] = [];
  for (const info of CATALOG.values()) {
    if (info.unit !== 'seconds') continue;
    const value = num(s.sysctl?.[info.key]);
    if (value === undefined && s.sysctl !== undefined) continue; // key absent on this kernel
    rows.push({
      key: info.key,
      ...(value !== undefined ? { value } : {}),
      ...(info.defaultValue !== undefined ? { defaultValue: info.defaultValue } : {}),
      differsFromDefault: value !== undefined && info.defaultValue !== undefined && value !== info.defaultValue,
    });
  }
  return rows;
}

/** The file findings that matter for the diagnosis, with their cause. */
function fileFindings(lint: readonly LintFinding[], s: HostSnapshot): Finding[] {
  const out: Finding[] = [];
  const boot = lint.filter((f) => f.code === 'module-not-loaded-at-boot');
  if (boot.length > 0) {
    const errors: string[] = [];
    const fixes = tryFix(() => loadModuleAtBoot(moduleState(s)), errors);
    out.push({
      code: 'module-not-loaded-at-boot', cause: 'boot-persistence', severity: 'warning',
      title: 'net.netfilter settings are lost at every reboot',
      detail: boot[0]?.message ?? '',
      evidence: boot.map((f) => ({ label: 'file', value: `${f.path}:${f.range.startLine + 1}` })),
      fixes, ...(errors.length ? { fixErrors: errors } : {}),
    });
  }
  const drift = lint.filter((f) => f.code === 'drift');
  if (drift.length > 0) {
    out.push({
      code: 'drift', cause: 'config-drift', severity: 'warning',
      title: `${drift.length} conntrack setting${drift.length > 1 ? 's differ' : ' differs'} from the files`,
      detail: 'The value the files set (the line that wins at boot) is not the live value: never applied, changed at runtime, or overwritten by another program.',
      evidence: drift.map((f) => ({ label: `${f.path}:${f.range.startLine + 1}`, value: f.message })),
      fixes: [],
    });
  }
  const broken = lint.filter((f) => f.severity === 'error' && ['inline-comment', 'not-an-integer', 'out-of-range', 'legacy-key', 'invalid-syntax', 'empty-value'].includes(f.code) || (f.code === 'unknown-key' && f.severity !== 'info'));
  const relevant = broken.filter((f) => f.key !== undefined && isNetfilterKey(f.key));
  if (relevant.length > 0) {
    out.push({
      code: 'setting-not-applied', cause: 'config-drift', severity: 'warning',
      title: `${relevant.length} conntrack line${relevant.length > 1 ? 's are' : ' is'} refused by the kernel`,
      detail: 'These lines never take effect: the loaders skip or fail them at boot. Open the file for the exact problem and its quick fix.',
      evidence: relevant.map((f) => ({ label: `${f.path}:${f.range.startLine + 1} (${f.code})`, value: f.message })),
      fixes: [],
    });
  }
  const notLoaded = lint.filter((f) => f.code === 'file-not-loaded');
  for (const f of notLoaded) {
    out.push({ code: 'file-not-loaded', cause: 'config-drift', severity: 'warning', title: `${f.path} is not read at boot`, detail: f.message, evidence: [{ label: 'file', value: f.path }], fixes: [] });
  }
  const netns = lint.filter((f) => f.code === 'global-key-in-netns');
  if (netns.length > 0) {
    out.push({
      code: 'global-key-in-netns', cause: 'netns-limits', severity: 'warning',
      title: 'Files in this namespace set global keys',
      detail: netns[0]?.message ?? '',
      evidence: netns.map((f) => ({ label: 'line', value: `${f.path}:${f.range.startLine + 1}` })),
      fixes: [],
    });
  }
  return out;
}

