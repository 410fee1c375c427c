/**
 * The two 10,000-line sysctl files the lint benchmark (npm run bench) measures and the unit
 * tests pin (test/unit/sysctl/largeFiles.test.ts): one test for speed, one for "the same
 * findings as before", on the same text.
 *
 * - realistic: keys of every subsystem, per-interface keys that make most lines unique,
 *   comments and blank lines, and the mistakes real files have (an inline comment per interface,
 *   a removed key, a typo);
 * - mistake-heavy: ten lines repeated, nearly every one a finding (duplicates, typos, a legacy
 *   key, a value with a unit, inline comments).
 */

export const LARGE_FILE_LINES = 10_000;
/** The path both are linted under: a loader directory, so precedence is judged too. */
export const LARGE_FILE_PATH = '/etc/sysctl.d/90-big.conf';

const REALISTIC = [
  '# node tuning',
  'net.ipv4.conf.eth{i}.rp_filter = 1',
  'net.ipv6.conf.eth{i}.accept_ra = 0',
  'net.ipv4.neigh.eth{i}.gc_stale_time = 120',
  'net.ipv4.conf.eth{i}.log_martians = 1 # audit',
  '',
  'net.core.somaxconn = 65535',
  'net.ipv4.tcp_tw_recycle = 1',
  'fs.file_max = 2097152',
  'vm.swappiness = 10',
  'kernel.pid_max = 4194304',
  'net.netfilter.nf_conntrack_max = 1048576',
  'net.netfilter.nf_conntrack_tcp_timeout_established = 86400 # kube-proxy',
  'net.ipv4.tcp_rmem = 4096 87380 16777216',
];

export function realisticSysctlFile(): string {
  const lines: string[] = [];
  for (let i = 0; lines.length < LARGE_FILE_LINES; i++) {
    for (const l of REALISTIC) {
      if (lines.length < LARGE_FILE_LINES && (i === 0 || l.includes('{i}') || l.startsWith('#') || l === '')) lines.push(l.replace('{i}', String(i)));
    }
  }
  return `${lines.join('\n')}\n`;
}

const MISTAKES = [
  'net.netfilter.nf_conntrack_max = 262144',
  'net.netfilter.nf_conntrack_tcp_timeout_established = 432000',
  'net.netfilter.nf_conntrack_udp_timeout = 30s',
  'net.netfilter.nf_conntrack_tcp_timeout_establised = 3600',
  'vm.swappiness = 10',
  '# a comment',
  'net.ipv4.netfilter.ip_conntrack_max = 65536',
  'net.core.somaxconn = 4096 # inline',
  '',
  'kernel.sysrq = 16',
];

export function mistakeHeavySysctlFile(): string {
  const lines: string[] = [];
  for (let i = 0; i < LARGE_FILE_LINES; i++) lines.push(MISTAKES[i % MISTAKES.length] ?? '');
  return `${lines.join('\n')}\n`;
}

/** JSON with object keys sorted, so a snapshot does not depend on the order a finding's fields were built in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Sorted line numbers as arithmetic runs (`first+step×count`): the periodic files above stay a few lines each. */
function runs(lines: readonly number[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] ?? 0;
    const step = (lines[i + 1] ?? first) - first;
    let n = 1;
    while (i + n < lines.length && step > 0 && (lines[i + n] ?? 0) - (lines[i + n - 1] ?? 0) === step) n++;
    out.push(n === 1 ? String(first) : `${first}+${step}×${n}`);
    i += n;
  }
  return out;
}

export interface FindingsSnapshot {
  /** sha256 of every finding in full (message, range, severity, fixes, related, doc), in order. */
  readonly sha256: string;
  readonly total: number;
  /** Per code and per kind of line (its text with numbers as `#`), the 0-based lines reported. */
  readonly lines: Record<string, Record<string, string[]>>;
}

export function findingsSnapshot(findings: readonly { code: string; range: { startLine: number } }[], text: string, sha256: (text: string) => string): FindingsSnapshot {
  const source = text.split('\n');
  const byCode = new Map<string, Map<string, number[]>>();
  for (const f of findings) {
    const kinds = byCode.get(f.code) ?? new Map<string, number[]>();
    byCode.set(f.code, kinds);
    const kind = (source[f.range.startLine] ?? '').replace(/\d+/g, '#');
    kinds.set(kind, [...(kinds.get(kind) ?? []), f.range.startLine]);
  }
  const lines: Record<string, Record<string, string[]>> = {};
  for (const code of [...byCode.keys()].sort()) {
    const kinds = byCode.get(code) ?? new Map<string, number[]>();
    const out: Record<string, string[]> = {};
    for (const kind of [...kinds.keys()].sort()) out[kind] = runs([...(kinds.get(kind) ?? [])].sort((a, b) => a - b));
    lines[code] = out;
  }
  return { sha256: sha256(canonicalJson(findings)), total: findings.length, lines };
}

/**
 * Files next to the realistic one as a host has them (a vendor default it overrides, a later
 * file and /etc/sysctl.conf that override it under one loader or both) and live values for drift:
 * what the editor lints a host's file with.
 */
export const LARGE_FILE_SIBLINGS: readonly { path: string; content: string }[] = [
  { path: '/usr/lib/sysctl.d/50-default.conf', content: 'net.ipv4.conf.eth3.rp_filter = 2\nkernel.pid_max = 32768\nvm.swappiness = 60\n' },
  { path: '/etc/sysctl.d/99-override.conf', content: 'net.ipv4.conf.eth7.rp_filter = 0\nnet.core.somaxconn = 1024\nnet.ipv4.neigh.eth9.gc_stale_time = 120\n' },
  { path: '/etc/sysctl.conf', content: 'vm.swappiness = 1\nnet.netfilter.nf_conntrack_max = 262144\n' },
];
export const LARGE_FILE_LIVE_VALUES: ReadonlyMap<string, string> = new Map([
  ['net.ipv4.conf.eth1.rp_filter', '0'],
  ['net.ipv4.tcp_rmem', '4096\t131072\t6291456'],
  ['kernel.pid_max', '4194304'],
]);
