/**
 * The Hosts tree: per host its connection state, and under a connected host Usage, Counters,
 * Timeouts, Top talkers, Entries (grouped, paged, filterable: the EntryBrowser it is given owns
 * those nodes), Findings (by cause, evidence in the tooltip, fixes inline, fixes that could not
 * be built named) and sysctl files (in precedence order, which file wins for each conntrack key).
 */
import * as vscode from 'vscode';
import { rootLimit, type HostEntry, type HostManager } from './hosts';
import { remoteUri } from './remoteFs';
import type { Fix } from '../core/fix/model';
import { warnings, worstSeverity, type Finding } from '../core/host/diagnosis';
import { tableMemoryBytes, ESTIMATED_OBJ_SIZE } from '../core/sizing';
import { formatBytes, formatDuration, formatInt, formatPercent, formatRate, formatUsage } from '../core/format';
import { computePrecedence, parseFiles, LOADERS, loaderLabel, winner } from '../core/sysctl/loaders';
import { CATALOG } from '../core/sysctl/catalog';
import { describeEstimate, entryEstimates, sampleLabel, type EstimateRow } from '../core/sampling';
import { INACTIVE_TEXT } from '../core/host/report';
import { describeDeferredRead } from '../core/host/cpuBudget';
import type { EntryBrowser, EntryNode, LeafSpec } from './entryBrowser';

export type Group = 'usage' | 'counters' | 'timeouts' | 'talkers' | 'findings' | 'unavailable' | 'files';

/** A plain row: a value, a message. */
export type LeafNode = { readonly kind: 'leaf' } & LeafSpec;

export type Node =
  | { kind: 'host'; host: HostEntry }
  | { kind: 'group'; host: HostEntry; group: Group }
  | { kind: 'cause'; host: HostEntry; cause: string; findings: Finding[] }
  | { kind: 'finding'; host: HostEntry; finding: Finding }
  /** a fix of a finding: its command (and the inline action) applies it after a preview */
  | { kind: 'fix'; host: HostEntry; fix: Fix }
  | { kind: 'file'; host: HostEntry; path: string; detail: string }
  | LeafNode
  | EntryNode;

/** The tree's leaf for a LeafSpec (the EntryBrowser's messages become leaves of this tree). */
export function leafNode(spec: LeafSpec): LeafNode {
  return { kind: 'leaf', ...spec };
}

/** Where `host` sits in the host list's order of groups (Entries between Top talkers and sysctl files). */
const GROUPS: readonly (Group | 'entries')[] = ['usage', 'findings', 'unavailable', 'counters', 'timeouts', 'talkers', 'entries', 'files'];

const SEVERITY_ICON: Record<Finding['severity'], vscode.ThemeIcon> = {
  critical: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')),
  warning: new vscode.ThemeIcon('warning', new vscode.ThemeColor('editorWarning.foreground')),
  info: new vscode.ThemeIcon('info'),
};

/** The tree's clock: 24-hour local time, as the usage chart shows it. */
function timeOfDay(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB');
}

/** A first row under the host while a changed file's re-read is put off by the CPU budget (gone after the re-read). */
function deferredReadRow(h: HostEntry): Node[] {
  if (!h.deferredRead) return [];
  const text = describeDeferredRead(h.deferredRead, timeOfDay);
  const [label, ...rest] = text.description.split(' · ');
  return [leafNode({ label: label ?? '', description: rest.join(' · '), tooltip: text.tooltip.replace(/\*\*/g, ''), icon: new vscode.ThemeIcon('history'), command: { command: 'conntrack-doctor.refresh', title: 'Refresh', arguments: [h] } })];
}

export class HostsTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly hosts: HostManager,
    /** The Entries group's per-host filter and paged listings. */
    readonly entries: EntryBrowser<LeafNode>,
  ) {
    this.subscriptions = [hosts.onDidChange(() => this.changed.fire(undefined)), entries.onDidChange((node) => this.changed.fire(node))];
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }

  getTreeItem(n: Node): vscode.TreeItem {
    switch (n.kind) {
      case 'host': {
        const h = n.host;
        const d = h.diagnosis;
        const limit = h.status === 'connected' ? rootLimit(h) : undefined;
        const state = h.status !== 'connected' ? h.status
          : d?.usage.active === false ? 'not tracking'
          : `${d?.usage.percent !== undefined ? formatPercent(d.usage.percent) : h.status}${limit ? ' · limited' : ''}`;
        const item = new vscode.TreeItem(h.label, h.status === 'connected' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        // The id changes with the connection: VS Code keeps a row's collapsed state per id, and a
        // host first shown disconnected (not expandable) would otherwise stay collapsed once connected.
        item.id = `host:${h.id}:${h.status === 'connected' ? 'connected' : 'not-connected'}`;
        item.description = h.status === 'connected' && h.deferredRead ? `${state} · files changed` : state;
        const tooltip = new vscode.MarkdownString(`**${h.label}** (${h.target})\n\n${h.error ? `Error: ${h.error}` : h.status}`);
        if (d?.usage.active === false) tooltip.appendMarkdown(`\n\n${INACTIVE_TEXT}`);
        // A limited host is still a host: the marker says what was not read and how to get it.
        if (limit) tooltip.appendMarkdown(`\n\n**Limited**: ${limit.why}${limit.remedy ? `\n\nHow: ${limit.remedy}` : ''}`);
        const gaps = (d?.unavailable ?? []).filter((u) => u !== limit);
        if (h.status === 'connected' && h.deferredRead) tooltip.appendMarkdown(`\n\n${describeDeferredRead(h.deferredRead, timeOfDay).tooltip}`);
        if (gaps.length > 0) tooltip.appendMarkdown(`\n\n**Not available**\n\n${gaps.map((u) => `- ${u.what}: ${u.why} \`${u.code}\``).join('\n')}`);
        item.tooltip = tooltip;
        const level = d?.usage.level;
        item.iconPath = h.status === 'error' ? new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('errorForeground'))
          : h.status === 'connecting' ? new vscode.ThemeIcon('sync~spin')
          : h.status === 'disconnected' ? new vscode.ThemeIcon('vm-outline')
          : level === 'critical' ? new vscode.ThemeIcon('vm', new vscode.ThemeColor('errorForeground'))
          : level === 'high' || level === 'elevated' ? new vscode.ThemeIcon('vm', new vscode.ThemeColor('editorWarning.foreground'))
          : new vscode.ThemeIcon('vm-active');
        item.contextValue = h.status === 'connected' ? (limit ? 'host.connected.limited' : 'host.connected') : 'host.disconnected';
        if (h.status !== 'connected') item.command = { command: 'conntrack-doctor.connect', title: 'Connect', arguments: [h] };
        return item;
      }
      case 'group': {
        const titles = { usage: 'Usage', counters: 'Counters', timeouts: 'Timeouts', talkers: 'Top talkers', findings: 'Findings', unavailable: 'Not available', files: 'sysctl files' } as const;
        const item = new vscode.TreeItem(titles[n.group], n.group === 'findings' || n.group === 'usage' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `group:${n.host.id}:${n.group}`;
        if (n.group === 'findings') {
          const f = n.host.diagnosis?.findings ?? [];
          item.description = `${warnings(f)} warning(s), ${f.length} in all`;
        }
        if (n.group === 'talkers') {
          const e = n.host.diagnosis?.entries;
          if (e) item.description = sampleLabel(e);
          item.contextValue = 'group.talkers';
        }
        if (n.group === 'unavailable') item.description = `${n.host.diagnosis?.unavailable.length ?? 0}`;
        item.iconPath = new vscode.ThemeIcon({ usage: 'dashboard', counters: 'pulse', timeouts: 'watch', talkers: 'organization', findings: 'checklist', unavailable: 'circle-slash', files: 'files' }[n.group]);
        return item;
      }
      case 'cause': {
        const item = new vscode.TreeItem(n.cause, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `cause:${n.host.id}:${n.cause}`;
        item.iconPath = SEVERITY_ICON[worstSeverity(n.findings)];
        return item;
      }
      case 'finding': {
        const f = n.finding;
        const item = new vscode.TreeItem(f.title, f.fixes.length > 0 || (f.fixErrors?.length ?? 0) > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.id = `finding:${n.host.id}:${f.code}:${f.title}`;
        item.iconPath = SEVERITY_ICON[f.severity];
        const md = new vscode.MarkdownString(`**${f.title}** — ${f.severity}, cause \`${f.cause}\`\n\n${f.detail}\n\n${f.evidence.map((e) => `- ${e.label}: ${e.value}`).join('\n')}`);
        if (f.recommendation) md.appendMarkdown(`\n\n**Recommended** \`${f.recommendation.key}\` = ${formatInt(f.recommendation.value)}\n\n${f.recommendation.steps.map((s) => `- ${s}`).join('\n')}`);
        for (const e of f.fixErrors ?? []) md.appendMarkdown(`\n\nA fix could not be built: ${e}`);
        item.tooltip = md;
        item.contextValue = f.fixes.length > 0 ? 'finding.fixable' : 'finding';
        return item;
      }
      case 'fix': {
        const item = new vscode.TreeItem(n.fix.title, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(n.fix.destructive ? 'trash' : 'wrench');
        // what it frees, in a few words beside the title (the whole impact is in the tooltip)
        if (n.fix.impact) item.description = n.fix.impact.text.split(/[;(]/)[0]?.trim() ?? '';
        item.tooltip = `${n.fix.summary}${n.fix.impact ? `\n\nImpact: ${n.fix.impact.text} [${n.fix.impact.basis}]` : ''}\n\n${n.fix.notes.join('\n')}`;
        item.contextValue = 'fix';
        item.command = { command: 'conntrack-doctor.applyFix', title: 'Preview and apply', arguments: [n] };
        return item;
      }
      case 'file': {
        const item = new vscode.TreeItem(n.path, vscode.TreeItemCollapsibleState.None);
        item.description = n.detail;
        item.tooltip = n.detail ? `${n.path}\n${n.detail.split(' · ').join('\n')}` : n.path;
        item.iconPath = vscode.ThemeIcon.File;
        item.resourceUri = remoteUri(n.host.id, n.path);
        item.command = { command: 'vscode.open', title: 'Open', arguments: [item.resourceUri] };
        return item;
      }
      case 'leaf': {
        const item = new vscode.TreeItem(n.label, vscode.TreeItemCollapsibleState.None);
        if (n.description !== undefined) item.description = n.description;
        if (n.tooltip !== undefined) item.tooltip = n.tooltip;
        if (n.icon) item.iconPath = n.icon;
        if (n.contextValue) item.contextValue = n.contextValue;
        if (n.command) item.command = n.command;
        return item;
      }
      case 'entries':
      case 'entryGrouping':
      case 'entryValue':
      case 'entry':
      case 'entryMore':
        return this.entries.treeItem(n);
    }
  }

  getChildren(n?: Node): Node[] {
    if (!n) return this.hosts.list().map((host) => ({ kind: 'host', host }));
    switch (n.kind) {
      case 'host':
        if (n.host.status !== 'connected' || !n.host.diagnosis) return n.host.error ? [leafNode({ label: n.host.error, icon: new vscode.ThemeIcon('error') })] : [];
        return [
          ...deferredReadRow(n.host),
          ...GROUPS.filter((group) => group !== 'unavailable' || (n.host.diagnosis?.unavailable.length ?? 0) > 0).map((group): Node => (group === 'entries' ? this.entries.root(n.host) : { kind: 'group', host: n.host, group })),
        ];
      case 'group':
        return this.groupChildren(n.host, n.group);
      case 'cause':
        return n.findings.map((finding) => ({ kind: 'finding', host: n.host, finding }));
      case 'finding':
        return [
          ...n.finding.fixes.map((fix): Node => ({ kind: 'fix', host: n.host, fix })),
          ...(n.finding.fixErrors ?? []).map((e) => leafNode({ label: `fix not built: ${e}`, tooltip: e, icon: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')) })),
        ];
      case 'entries':
      case 'entryGrouping':
      case 'entryValue':
      case 'entry':
      case 'entryMore':
        return this.entries.children(n);
      case 'fix':
      case 'file':
      case 'leaf':
        return [];
    }
  }

  private groupChildren(h: HostEntry, group: Group): Node[] {
    const d = h.diagnosis;
    const s = h.snapshot;
    if (!d || !s) return [];
    const leaf = (label: string, description?: string, tooltip?: string, icon?: vscode.ThemeIcon): Node => leafNode({ label, ...(description !== undefined ? { description } : {}), ...(tooltip !== undefined ? { tooltip } : {}), ...(icon ? { icon } : {}) });
    switch (group) {
      case 'usage': {
        const u = d.usage;
        const mem = s.max !== undefined ? tableMemoryBytes(s.max, s.buckets ?? s.max, s.slabObjSize ?? ESTIMATED_OBJ_SIZE) : undefined;
        if (u.active === false) return [leaf('entries', INACTIVE_TEXT, 'nf_conntrack is not loaded: no table, no counters, no entries', new vscode.ThemeIcon('pass'))];
        return [
          leaf('entries', `${formatUsage(u)}${u.percent !== undefined ? ` (${formatPercent(u.percent)})` : ''}`, `count is this network namespace's; max is global`, new vscode.ThemeIcon(u.level === 'critical' ? 'error' : u.level === 'high' || u.level === 'elevated' ? 'warning' : 'pass')),
          leaf('buckets', u.buckets !== undefined ? formatInt(u.buckets) : '?'),
          leaf('memory when full', mem !== undefined ? `${formatBytes(mem)}${s.slabObjSize ? '' : ' (estimated)'}` : '?', `objsize ${s.slabObjSize ?? `~${ESTIMATED_OBJ_SIZE} (estimated)`} B × max + 8 B × buckets`),
          leaf('network namespace', s.initialNetns === false ? `not initial (inode ${s.netnsInode ?? '?'})` : s.initialNetns ? 'initial (host)' : 'unknown'),
        ];
      }
      case 'counters': {
        const out: Node[] = [];
        for (const [name, v] of Object.entries(d.counters ?? {})) {
          const r = d.rates?.perSecond[name];
          out.push(leaf(name, `${formatInt(v)}${r !== undefined ? `  (${formatRate(r)}/s)` : ''}`));
        }
        for (const c of s.counters?.perCpu ?? []) out.push(leaf(`cpu ${c.cpu}`, Object.entries(c.counters).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ') || 'all zero'));
        if (out.length === 0) out.push(leaf('unavailable', d.unavailable.find((x) => /counter/.test(x.what))?.why ?? ''));
        return out;
      }
      case 'timeouts':
        return d.timeouts.map((t) => leaf(t.key.replace('net.netfilter.nf_conntrack_', ''), `${t.value !== undefined ? `${formatInt(t.value)} s (${formatDuration(t.value)})` : '?'}${t.differsFromDefault ? `  default ${t.defaultValue ?? '?'}` : ''}`, CATALOG.get(t.key)?.summary, t.differsFromDefault ? new vscode.ThemeIcon('edit') : undefined));
      case 'talkers': {
        const e = s.entrySummary;
        if (!e) return [leaf('entry summary unavailable', d.unavailable.find((x) => x.what === 'entry summary')?.why ?? '')];
        const est = d.entries ?? entryEstimates(e, s.count);
        // A sample's rows are estimates: the first row says of how many, each row has its bounds.
        const how = est.exact ? 'Every entry was read: the counts are exact.' : `The first ${formatInt(est.sampleSize)} entries the kernel listed (hash order, unrelated to addresses): shares with their 95 % Wilson bounds, scaled to the table. Full Count reads every entry (at the lowest priority).`;
        const row = (label: string, r: EstimateRow, icon?: vscode.ThemeIcon): Node => leaf(label, describeEstimate(r), how, icon);
        const out: Node[] = [leaf(est.exact ? 'exact' : 'sampled', sampleLabel(est), how, new vscode.ThemeIcon(est.exact ? 'pass' : 'graph-scatter'))];
        for (const f of est.flags) out.push(row(f.key.toLowerCase(), f));
        for (const i of est.sources.slice(0, 10)) out.push(row(`src ${i.key}`, i, new vscode.ThemeIcon('arrow-right')));
        for (const i of est.ports.slice(0, 5)) out.push(row(`port ${i.key}`, i, new vscode.ThemeIcon('plug')));
        for (const i of est.states) out.push(row(`tcp ${i.key}`, i));
        return out;
      }
      case 'findings': {
        const byCause = new Map<string, Finding[]>();
        for (const f of d.findings) byCause.set(f.cause, [...(byCause.get(f.cause) ?? []), f]);
        if (byCause.size === 0) return [leaf(d.usage.active === false ? 'No findings: nothing is tracked, so no table can fill' : 'No findings: the table is healthy', undefined, undefined, new vscode.ThemeIcon('pass'))];
        return [...byCause].map(([cause, findings]) => ({ kind: 'cause', host: h, cause, findings }));
      }
      case 'unavailable': {
        const limit = rootLimit(h);
        return d.unavailable.map((u) => {
          const tooltip = `${u.why}${u.remedy ? `\n\nHow: ${u.remedy}` : ''}`;
          // The root row carries the way to get root: the password action.
          if (u === limit) return leafNode({ label: u.what, description: `${u.code} — Provide sudo password…`, tooltip, icon: new vscode.ThemeIcon('lock'), contextValue: 'unavailable.root', command: { command: 'conntrack-doctor.provideSudoPassword', title: 'Provide sudo password…', arguments: [h] } });
          return leaf(u.what, u.code, tooltip, new vscode.ThemeIcon('circle-slash'));
        });
      }
      case 'files': {
        const files = parseFiles(s.sysctlFiles ?? []);
        const out: Node[] = [];
        const loaders = s.loader ? [s.loader] : LOADERS;
        const prec = loaders.map((l) => computePrecedence(l, files));
        const first = prec[0];
        if (!first) return [];
        // One row per file that holds lines: /etc/sysctl.d/99-sysctl.conf → ../sysctl.conf (every
        // Debian host) is /etc/sysctl.conf once, with where it is linked from, its keys counted once.
        const linkedFrom = new Map<string, string[]>();
        for (const a of first.plan.applied) {
          const links = linkedFrom.get(a.contentPath) ?? [];
          if (a.path !== a.contentPath && !links.includes(a.path)) links.push(a.path);
          linkedFrom.set(a.contentPath, links);
        }
        for (const [contentPath, links] of linkedFrom) {
          const wins: string[] = [];
          for (const key of CATALOG.keys()) {
            const w = prec.map((p) => winner(p, key)?.contentPath);
            if (w.some((x) => x === contentPath)) wins.push(`${key.replace('net.netfilter.nf_conntrack_', '')}${w.every((x) => x === contentPath) ? '' : ` (${loaders.filter((_, i) => w[i] === contentPath).map((l) => loaderLabel[l]).join(', ')})`}`);
          }
          const detail = [links.length > 0 ? `linked from ${links.join(', ')}` : '', wins.length > 0 ? `wins: ${wins.join(', ')}` : ''].filter((x) => x !== '').join(' · ');
          out.push({ kind: 'file', host: h, path: contentPath, detail });
        }
        return out;
      }
    }
  }
}
