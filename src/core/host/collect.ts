/**
 * One round trip per snapshot: a POSIX sh script (dash, bash, busybox ash) that prints framed
 * sections, and the pure code that turns its output into a HostSnapshot. The I/O layer runs
 * `sh -s -- NONCE` with the script on stdin (as root through sudo when it can) and hands the
 * output back here. The nonce frames every section, so a file whose content imitates a frame
 * cannot inject data.
 */
import { hostSnapshotSchema, type Firewall, type HostSnapshot } from './snapshot';
import { parseConntrackStats, parseProcConntrackStats } from '../kernel/conntrackStats';
import { parseSysctlOutput, procSysPathToKey } from '../kernel/sysctlOutput';
import { parseSlabinfoConntrack } from '../kernel/slabinfo';
import { parseMemInfo } from '../kernel/memory';
import { parseAlternativesDisplay, parseIpTablesNames, parseIptablesVersion } from '../kernel/iptablesBackend';
import { parseTableFullLog } from '../kernel/kernelLog';
import { parseIptablesSaveInvalidRules, parseNftInvalidRules, type InvalidRule as ParsedInvalidRule } from '../kernel/invalidRules';
import { ALL_SYSCTL_DIRS, SYSCTL_CONF } from '../sysctl/loaders';
import { ETC_MODULES, MODPROBE_DIRS, MODULES_LOAD_DIRS } from '../sysctl/boot';
import { REPORT_HOST_CPU } from './cpuBudget';
import type { InvalidRule } from './snapshot';
import { BUCKETS_KEY, COUNT_KEY, MAX_KEY } from '../facts';
import type { Unavailable } from './unavailable';
import { conntrackInstallAdvice, parseOsRelease } from './osRelease';

/** Nonces are hex, so they are safe inside the script's printf formats. */
export function isValidNonce(nonce: string): boolean {
  return /^[0-9a-f]{16,64}$/.test(nonce);
}

const dirs = (list: readonly string[]): string => list.join(' ');

/**
 * What one collection reads. `all`: everything the diagnosis needs (connect, Refresh, a file
 * saved). `frequent`: what changes every few seconds (count, max, the netfilter sysctls, the
 * counters) and a fingerprint of what changes rarely (the mtimes and sizes of the
 * files the full collection reads): the periodic refresh, whose cost must stay small and flat
 * on a host that is short of resources — no table dump, no /proc/sys walk, no firewall
 * listing, no kernel log.
 */
export type CollectionPart = 'all' | 'frequent';

/** The fields a `frequent` collection reads; the rest of a snapshot comes from the last full one. */
export const FREQUENT_FIELDS = ['takenAt', 'sysctl', 'count', 'max', 'buckets', 'counters', 'fingerprint'] as const;

/**
 * The last full snapshot with the frequent fields of a newer `frequent` one (a field the newer
 * one could not read is dropped, never kept stale).
 */
export function withFrequentFields(full: HostSnapshot, frequent: HostSnapshot): HostSnapshot {
  const out: Record<string, unknown> = { ...full };
  for (const k of FREQUENT_FIELDS) {
    if (frequent[k] === undefined) delete out[k];
    else out[k] = frequent[k];
  }
  return hostSnapshotSchema.parse(out);
}

/**
 * The collection script. Positional parameter $1 is the nonce, $2 the part (CollectionPart). Every command's stderr is kept in
 * its section (permission errors are evidence, not noise); a missing tool prints `@missing`.
 */
export function collectionScript(): string {
  return `# conntrack-doctor collection script (POSIX sh): $1 nonce, $2 all|frequent
N="$1"
case "$N" in *[!0-9a-f]*|'') echo "bad nonce" >&2; exit 2;; esac
${REPORT_HOST_CPU}
LC_ALL=C; export LC_ALL
PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"; export PATH
have() { command -v "$1" >/dev/null 2>&1; }
begin() { printf '@@%s begin %s\\n' "$N" "$1"; }
end() { printf '\\n@@%s end %s %s\\n' "$N" "$1" "$2"; }
sec() { s_name="$1"; shift; begin "$s_name"; "$@" 2>&1; s_rc=$?; end "$s_name" "$s_rc"; }
tool() { if have "$1"; then "$@"; else echo "@missing $1"; return 127; fi; }
dumpfile() {
  [ -e "$2" ] || [ -L "$2" ] || return 0
  case "$2" in *'
'*) return 0;; esac
  printf '@@%s file %s %s\\n' "$N" "$1" "$2"
  if [ -L "$2" ]; then printf '@@%s link %s\\n' "$N" "$(readlink "$2")"; fi
  if [ -d "$2" ]; then printf '@@%s unreadable directory\\n' "$N"; elif [ ! -e "$2" ]; then printf '@@%s unreadable dangling-link\\n' "$N"; elif [ -r "$2" ]; then cat "$2" 2>/dev/null; else printf '@@%s unreadable permission\\n' "$N"; fi
  printf '\\n@@%s endfile\\n' "$N"
}
meta() {
  printf 'kernel=%s\\n' "$(uname -r)"
  printf 'hostname=%s\\n' "$(cat /proc/sys/kernel/hostname 2>/dev/null)"
  printf 'uid=%s\\n' "$(id -u)"
  printf 'cpus=%s\\n' "$(getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c '^processor' /proc/cpuinfo)"
  printf 'uptime=%s\\n' "$(cut -d' ' -f1 /proc/uptime)"
  printf 'netns=%s\\n' "$(readlink /proc/self/ns/net 2>/dev/null)"
  if [ -e /proc/sys/net/nf_conntrack_max ]; then echo 'max_alias=yes'; else echo 'max_alias=no'; fi
  if [ -d /run/systemd/system ]; then echo 'systemd=yes'; else echo 'systemd=no'; fi
  if [ -d /sys/module/nf_conntrack ]; then
    if [ -e /sys/module/nf_conntrack/initstate ]; then echo 'conntrack=module'; else echo 'conntrack=builtin'; fi
  else echo 'conntrack=absent'; fi
}
netfilter_sysctls() {
  # One fork for every file at once (a fork per file cost ~270 ms of host CPU on dash for the
  # 43 files of a 6.1 kernel: this runs on every periodic refresh). grep prints path:value and an
  # unreadable file's error on the same stream; the client turns both into "key = value"
  # (grepSysctlLines). Without grep: the same path:value lines, a fork per file at most (\`read\` where the shell reads whole
  # lines; dash and busybox read byte by byte, which a sysctl file answers with its first byte,
  # then EOF without a newline: cat then).
  set --
  for f in /proc/sys/net/netfilter/* /proc/sys/net/nf_conntrack_max; do [ -e "$f" ] && set -- "$@" "$f"; done
  # nothing to read without nf_conntrack (and grep without a file would read this script's stdin)
  [ "$#" -gt 0 ] || return 0
  if have grep; then
    grep -H '' "$@" 2>&1
  else
    for f in "$@"; do
      [ -f "$f" ] || continue
      if [ -r "$f" ] && IFS= read -r v <"$f" 2>/dev/null; then :; else v=$(cat "$f" 2>&1); fi
      printf '%s:%s\\n' "$f" "$v"
    done
  fi
  return 0
}
owners() {
  for p in kube-proxy cilium-agent calico-node firewalld; do
    if pgrep -x "$p" >/dev/null 2>&1; then echo "$p=running"; fi
  done
  if ls /sys/fs/bpf/tc/globals 2>/dev/null | grep -q '^cali_v4_ct'; then echo 'calico-ebpf=maps'; fi
}
persistence() {
  [ -f /etc/nftables.conf ] && echo 'nftables-conf'
  [ -d /etc/iptables ] && echo 'netfilter-persistent'
  [ -f /etc/sysconfig/iptables ] && echo 'iptables-services'
  pgrep -x firewalld >/dev/null 2>&1 && echo 'firewalld'
  [ -f /etc/ufw/ufw.conf ] && grep -q '^ENABLED=yes' /etc/ufw/ufw.conf && echo 'ufw'
  return 0
}
tools() {
  for t in conntrack nft iptables iptables-nft iptables-legacy ip6tables sysctl sudo awk sha256sum dmesg journalctl; do
    printf '%s=%s\\n' "$t" "$(command -v "$t" 2>/dev/null || echo -)"
  done
}
nft_invalid() { tool nft -a list ruleset | grep -E '^[[:space:]]*(table|chain) |invalid|^[[:space:]]*}|^# Warning'; return 0; }
ipt_invalid() { tool "$1" -c | grep -E '^(\\*|# Generated|# Warning|COMMIT)|INVALID'; return 0; }
klog() {
  if dmesg >/dev/null 2>&1; then dmesg | grep -E 'nf_conntrack: .*table full|net_ratelimit' | tail -n 200
  elif have journalctl; then journalctl -k --no-pager -o short-iso 2>&1 | grep -E 'nf_conntrack: .*table full|net_ratelimit|^-- No entries|Permission|denied' | tail -n 200
  else echo '@unavailable dmesg restricted and no journalctl'; return 1; fi
}
# The files the full collection reads and the firewall's saved rules: their mtimes, sizes and
# inodes (stat where it exists: coreutils, busybox). A change means the rarely changing part has
# to be read again.
fingerprint() {
  set --
  for p in ${SYSCTL_CONF} ${dirs(ALL_SYSCTL_DIRS)} ${ETC_MODULES} /etc/nftables.conf ${dirs(MODULES_LOAD_DIRS)} ${dirs(MODPROBE_DIRS)} /etc/iptables /etc/sysconfig/iptables /etc/ufw/ufw.conf; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    set -- "$@" "$p"
    if [ -d "$p" ]; then for f in "$p"/*; do [ -e "$f" ] || [ -L "$f" ] && set -- "$@" "$f"; done; fi
  done
  # One stat (coreutils, busybox) for every path, ls where there is none; the client hashes the
  # lines (fingerprintOf). No names: a file added, removed or renamed changes its directory's
  # mtime, which is listed.
  # (A dangling link's error line is part of the fingerprint, so the status is not the measure.)
  if have stat; then stat -L -c '%Y %s %i' "$@" 2>&1; else ls -ldL "$@" 2>&1; fi
  return 0
}
sec sysctl netfilter_sysctls
# netlink first; the procfs table only when it failed (the client prefers netlink: one of them is enough)
sec stats_netlink tool conntrack -S
[ "$s_rc" = 0 ] || sec stats_procfs cat /proc/net/stat/nf_conntrack
sec fingerprint fingerprint
# The periodic refresh stops here: what follows changes rarely (the entry size, the RAM) or costs more.
[ "$2" = frequent ] && exit 0
sec slabinfo grep -E '^(slabinfo|# name|nf_conntrack )' /proc/slabinfo
sec meminfo grep -E '^(MemTotal|MemAvailable|SUnreclaim):' /proc/meminfo
sec meta meta
sec keys sh -c 'find /proc/sys -type f 2>/dev/null | sed "s#^/proc/sys/##"'
sec iptables_version tool iptables -V
sec alternatives tool update-alternatives --display iptables
sec ip_tables_names cat /proc/net/ip_tables_names
sec nft_tables tool nft list tables
sec nft_invalid nft_invalid
sec iptables_save ipt_invalid iptables-save
sec ip6tables_save ipt_invalid ip6tables-save
if [ -s /proc/net/ip_tables_names ] && have iptables-legacy-save; then sec iptables_legacy_save ipt_invalid iptables-legacy-save; fi
sec kernel_log klog
sec owners owners
sec persistence persistence
sec tools tools
sec os_release cat /etc/os-release
# Directories that are the same place (merged /usr: /lib -> /usr/lib) are read once.
seen=' '
uniqdirs() {
  for d in "$@"; do
    [ -d "$d" ] || continue
    r=$(readlink -f "$d" 2>/dev/null || echo "$d")
    case "$seen" in *" $r "*) continue;; esac
    seen="$seen$r "
    printf '%s\\n' "$d"
  done
}
begin files
dumpfile sysctl ${SYSCTL_CONF}
for d in $(uniqdirs ${dirs(ALL_SYSCTL_DIRS)}); do for f in "$d"/*; do dumpfile sysctl "$f"; done; done
dumpfile modules-load ${ETC_MODULES}
dumpfile nftables /etc/nftables.conf
for d in $(uniqdirs ${dirs(MODULES_LOAD_DIRS)}); do for f in "$d"/*; do dumpfile modules-load "$f"; done; done
for d in $(uniqdirs ${dirs(MODPROBE_DIRS)}); do for f in "$d"/*; do dumpfile modprobe "$f"; done; done
end files 0
`;
}

/**
 * grep -H's `path:value` lines (and `grep: path: error` for a file it could not read) as
 * `key = value` lines for the sysctl parser; a directory (nf_log) is not a value. Lines in the
 * `key = value` form already pass through.
 */
export function grepSysctlLines(body: string): string {
  const out: string[] = [];
  for (const line of body.split('\n')) {
    const err = /^grep: (\/proc\/sys\/[^:]+): (.*)$/.exec(line);
    const val = err ? undefined : /^(\/proc\/sys\/[^:]+):(.*)$/.exec(line);
    const m = err ?? val;
    if (!m) {
      out.push(line);
      continue;
    }
    if (err && /Is a directory$/.test(line)) continue;
    const key = procSysPathToKey(m[1] ?? '');
    if (key) out.push(`${key} = ${m[2] ?? ''}`);
  }
  return out.join('\n');
}

/** A short, stable name for the fingerprint lines (cyrb53: 53 bits, plenty to notice a change). */
export function fingerprintOf(lines: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < lines.length; i++) {
    const c = lines.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

export interface Section {
  readonly body: string;
  readonly exitCode: number;
}

export interface CollectedFile {
  readonly kind: 'sysctl' | 'modules-load' | 'modprobe' | 'nftables';
  readonly path: string;
  readonly linkTarget?: string;
  /** undefined when unreadable (then `unreadable` says why). */
  readonly content?: string;
  readonly unreadable?: string;
}

export interface CollectionOutput {
  readonly sections: ReadonlyMap<string, Section>;
  readonly files: readonly CollectedFile[];
}

/** Splits the script's output into sections and files using the nonce frames. */
export function parseCollectionOutput(stdout: string, nonce: string): CollectionOutput {
  if (!isValidNonce(nonce)) throw new Error('invalid nonce');
  const marker = `@@${nonce} `;
  const sections = new Map<string, Section>();
  const files: CollectedFile[] = [];
  let pos = 0;
  while (pos < stdout.length) {
    const start = stdout.indexOf(`${marker}begin `, pos);
    if (start === -1) break;
    const nameEnd = stdout.indexOf('\n', start);
    if (nameEnd === -1) break;
    const name = stdout.slice(start + marker.length + 'begin '.length, nameEnd);
    const endRe = `\n${marker}end ${name} `;
    const endAt = stdout.indexOf(endRe, nameEnd);
    if (endAt === -1) {
      sections.set(name, { body: stdout.slice(nameEnd + 1), exitCode: -1 }); // cut off (timeout, dropped connection)
      break;
    }
    const rcEnd = stdout.indexOf('\n', endAt + endRe.length);
    const exitCode = Number(stdout.slice(endAt + endRe.length, rcEnd === -1 ? undefined : rcEnd));
    const body = stdout.slice(nameEnd + 1, endAt);
    if (name === 'files') files.push(...parseFiles(body, marker));
    else sections.set(name, { body, exitCode: Number.isFinite(exitCode) ? exitCode : -1 });
    pos = rcEnd === -1 ? stdout.length : rcEnd + 1;
  }
  return { sections, files };
}

function parseFiles(body: string, marker: string): CollectedFile[] {
  const out: CollectedFile[] = [];
  let pos = 0;
  const fileTag = `${marker}file `;
  const endTag = `\n${marker}endfile\n`;
  while (true) {
    const start = body.indexOf(fileTag, pos);
    if (start === -1) break;
    const headEnd = body.indexOf('\n', start);
    if (headEnd === -1) break;
    const head = body.slice(start + fileTag.length, headEnd);
    const sp = head.indexOf(' ');
    const kind = head.slice(0, sp);
    const path = head.slice(sp + 1);
    let cursor = headEnd + 1;
    let linkTarget: string | undefined;
    const linkTag = `${marker}link `;
    if (body.startsWith(linkTag, cursor)) {
      const e = body.indexOf('\n', cursor);
      linkTarget = body.slice(cursor + linkTag.length, e);
      cursor = e + 1;
    }
    const end = body.indexOf(endTag, cursor - 1);
    const stop = end === -1 ? body.length : end;
    const raw = body.slice(cursor, Math.max(cursor, stop));
    const unreadableTag = `${marker}unreadable `;
    const file: CollectedFile = raw.startsWith(unreadableTag)
      ? { kind: kind as CollectedFile['kind'], path, ...(linkTarget !== undefined ? { linkTarget } : {}), unreadable: raw.slice(unreadableTag.length).trim() }
      : { kind: kind as CollectedFile['kind'], path, ...(linkTarget !== undefined ? { linkTarget } : {}), content: raw };
    if (kind === 'sysctl' || kind === 'modules-load' || kind === 'modprobe' || kind === 'nftables') out.push(file);
    pos = end === -1 ? body.length : end + endTag.length - 1;
  }
  return out;
}

function kv(body: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of body.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

function okSection(s: Section | undefined): s is Section {
  return s !== undefined && s.exitCode === 0 && !s.body.startsWith('@missing');
}

/** The one unavailable item of a host without connection tracking (nf_conntrack not loaded). */
export const CONNTRACK_INACTIVE: Unavailable = {
  code: 'conntrack-inactive',
  what: 'connection tracking',
  why: 'connection tracking is not active on this host: nf_conntrack is not loaded (no /sys/module/nf_conntrack, no /proc/sys/net/netfilter/nf_conntrack_*), so there is no table, no counters and no entries',
};

export interface SnapshotMeta {
  readonly takenAt: number;
  readonly host?: string;
}

/** Builds a validated HostSnapshot; what could not be read is listed in `unavailable`. */
export function buildSnapshot(out: CollectionOutput, meta: SnapshotMeta): HostSnapshot {
  const sec = (name: string): Section | undefined => out.sections.get(name);
  const unavailable: Unavailable[] = [];
  // Typed as the snapshot it becomes: a mistyped field is a compile error, and the strict
  // schema below refuses any field it does not know.
  const snap: HostSnapshot = { takenAt: meta.takenAt, ...(meta.host ? { host: meta.host } : {}) };

  const m = kv(sec('meta')?.body ?? '');
  const uid = m.get('uid');
  const root = uid === '0';
  if (m.get('kernel')) snap.kernelRelease = m.get('kernel');
  if (!meta.host && m.get('hostname')) snap.host = m.get('hostname');
  const cpus = Number(m.get('cpus'));
  if (Number.isInteger(cpus) && cpus > 0) snap.cpus = cpus;
  const up = Number(m.get('uptime'));
  if (Number.isFinite(up) && up > 0) snap.uptimeSeconds = up;
  const netns = /net:\[(\d+)\]/.exec(m.get('netns') ?? '');
  if (netns?.[1]) snap.netnsInode = Number(netns[1]);
  if (m.get('max_alias') === 'yes') snap.initialNetns = true;
  else if (m.get('max_alias') === 'no' && m.get('conntrack') !== 'absent') snap.initialNetns = false;
  const ct = m.get('conntrack');
  if (ct === 'module' || ct === 'builtin' || ct === 'absent') snap.conntrackModule = ct;
  const osr = sec('os_release');
  if (okSection(osr)) snap.osRelease = parseOsRelease(osr.body);
  if (m.get('systemd') === 'yes') snap.loader = 'systemd';
  else if (m.get('systemd') === 'no') snap.loader = 'procps';

  // sysctl values, count/max/buckets
  const sys = sec('sysctl');
  if (sys) {
    const parsed = parseSysctlOutput(grepSysctlLines(sys.body));
    if (parsed.ok) {
      const values: Record<string, string> = {};
      for (const [k, v] of parsed.value.values) values[k] = v;
      snap.sysctl = values;
      const int = (k: string): number | undefined => (values[k] !== undefined && /^\d+$/.test(values[k]) ? Number(values[k]) : undefined);
      const count = int(COUNT_KEY);
      const max = int(MAX_KEY);
      const buckets = int(BUCKETS_KEY);
      if (count !== undefined) snap.count = count;
      if (max !== undefined) snap.max = max;
      if (buckets !== undefined) snap.buckets = buckets;
    }
    if (!snap.sysctl || Object.keys(snap.sysctl).length === 0) unavailable.push({ code: 'conntrack-inactive', what: 'net.netfilter sysctls', why: 'nf_conntrack is not loaded (no /proc/sys/net/netfilter)' });
  }
  const fp = sec('fingerprint');
  if (fp && fp.exitCode === 0 && fp.body.trim()) snap.fingerprint = fingerprintOf(fp.body.trim());
  const keys = sec('keys');
  if (keys && keys.body.trim().length > 0) {
    const list: string[] = [];
    for (const line of keys.body.split('\n')) {
      const k = line.trim() ? procSysPathToKey(`/proc/sys/${line.trim()}`) : undefined;
      if (k) list.push(k);
    }
    if (list.length > 0) snap.liveKeys = list;
  }

  // counters: netlink first, procfs fallback
  const nl = sec('stats_netlink');
  const nlParsed = nl && !nl.body.startsWith('@missing') ? parseConntrackStats(nl.body) : undefined;
  if (nlParsed?.ok && nlParsed.value.source === 'netlink') snap.counters = nlParsed.value;
  else {
    const pf = sec('stats_procfs');
    const pfParsed = okSection(pf) ? parseProcConntrackStats(pf.body) : undefined;
    if (pfParsed?.ok) snap.counters = pfParsed.value;
    else if (nlParsed?.ok) snap.counters = nlParsed.value;
    const missing = nl?.body.startsWith('@missing') === true;
    const code = missing ? 'program-missing' : root ? 'failed' : 'needs-root';
    const why = missing ? 'the conntrack tool is not installed' : root ? 'conntrack -S failed' : 'conntrack -S needs root (CAP_NET_ADMIN)';
    const remedy = missing ? { remedy: conntrackInstallAdvice(snap.osRelease) } : {};
    if (!snap.counters) unavailable.push({ code: m.get('conntrack') === 'absent' ? 'conntrack-inactive' : code, what: 'per-CPU counters (drop, early_drop, insert_failed, invalid…)', why: `${why}, and /proc/net/stat/nf_conntrack is absent (kernel without CONFIG_NF_CONNTRACK_PROCFS)`, ...remedy });
    else if (!(nlParsed?.ok && nlParsed.value.source === 'netlink')) unavailable.push({ code, what: 'netlink counters (conntrack -S)', why: `${why}: counters read from /proc/net/stat/nf_conntrack instead`, ...remedy });
  }

  const slab = sec('slabinfo');
  const slabParsed = okSection(slab) ? parseSlabinfoConntrack(slab.body) : undefined;
  if (slabParsed?.ok && slabParsed.value) snap.slabObjSize = slabParsed.value.objSize;
  else unavailable.push({ code: root ? 'not-in-kernel' : 'needs-root', what: 'entry size (/proc/slabinfo)', why: root ? 'no nf_conntrack slab cache listed' : '/proc/slabinfo is readable by root only: ~320 B per entry is assumed (estimated)' });

  const mem = sec('meminfo');
  const memParsed = mem ? parseMemInfo(mem.body) : undefined;
  if (memParsed?.ok && memParsed.value.bytes['MemTotal'] !== undefined) snap.memTotalBytes = memParsed.value.bytes['MemTotal'];

  // firewall
  const fw: Firewall = {};
  const v = sec('iptables_version');
  const vParsed = okSection(v) ? parseIptablesVersion(v.body) : undefined;
  if (vParsed?.ok) {
    fw.iptablesVersion = vParsed.value.version;
    fw.iptablesBackend = vParsed.value.backend ?? 'legacy';
  }
  const alt = sec('alternatives');
  const altParsed = okSection(alt) ? parseAlternativesDisplay(alt.body) : undefined;
  if (altParsed?.ok) fw.alternativesMode = altParsed.value.mode;
  const names = sec('ip_tables_names');
  if (names && names.exitCode === 0) {
    const p = parseIpTablesNames(names.body);
    if (p.ok) fw.legacyTables = p.value;
  }
  const nftT = sec('nft_tables');
  if (okSection(nftT)) {
    fw.nftTables = nftT.body.split('\n').map((l) => /^table (\S+) (\S+)/.exec(l.trim())).filter((x): x is RegExpExecArray => x !== null).map((x) => `${x[1]} ${x[2]}`);
    const inet = fw.nftTables.find((t) => t === 'inet filter');
    if (inet) fw.nftInputChain = { family: 'inet', table: 'filter', chain: 'input' };
  }
  const rules: InvalidRule[] = [];
  const addRules = (list: readonly ParsedInvalidRule[], via: InvalidRule['backend']): void => {
    for (const r of list) {
      if (r.negated) continue;
      rules.push({
        backend: via, table: r.table, chain: r.chain, verdict: r.verdict, text: r.text,
        ...(r.family ? { family: r.family } : {}),
        ...(r.counter ? { packets: r.counter.packets, bytes: r.counter.bytes } : {}),
      });
    }
  };
  const nftInv = sec('nft_invalid');
  if (nftInv && !nftInv.body.includes('@missing')) {
    const p = parseNftInvalidRules(nftInv.body);
    if (p.ok) addRules(p.value.rules.filter((r) => !r.managedByIptablesNft), 'nft');
  }
  for (const [name, via] of [['iptables_save', fw.iptablesBackend === 'legacy' ? 'iptables-legacy' : 'iptables-nft'], ['ip6tables_save', fw.iptablesBackend === 'legacy' ? 'iptables-legacy' : 'iptables-nft'], ['iptables_legacy_save', 'iptables-legacy']] as const) {
    const s = sec(name);
    if (!s || s.body.includes('@missing')) continue;
    const p = parseIptablesSaveInvalidRules(s.body);
    if (p.ok) addRules(p.value.rules, via);
  }
  if (nftInv || sec('iptables_save')) fw.invalidRules = rules;
  if (!root) unavailable.push({ code: 'needs-root', what: 'firewall rules (nft list ruleset, iptables-save)', why: 'reading rules needs root: INVALID drop rules could not be checked' });
  const persist = sec('persistence')?.body.split('\n').map((l) => l.trim()).filter(Boolean) ?? [];
  const order = ['firewalld', 'ufw', 'nftables-conf', 'netfilter-persistent', 'iptables-services'] as const;
  const chosen = order.find((o) => persist.includes(o));
  fw.persistence = chosen ?? 'none';
  // nftables.service's file: the invalid-drop-rule fix edits it (checked against this content).
  const nftConf = out.files.find((f) => f.kind === 'nftables' && f.path === '/etc/nftables.conf' && f.linkTarget === undefined);
  if (nftConf?.content !== undefined) fw.nftablesConf = nftConf.content;
  if (Object.keys(fw).length > 0) snap.firewall = fw;

  const klog = sec('kernel_log');
  if (klog && !klog.body.startsWith('@unavailable')) {
    const p = parseTableFullLog(klog.body);
    if (p.ok) snap.kernelLog = p.value;
  } else unavailable.push({ code: root ? 'failed' : 'needs-root', what: 'kernel log', why: 'dmesg is restricted and journalctl is missing: table-full lines not checked' });

  const own = kv(sec('owners')?.body ?? '');
  snap.externalOwners = {
    kubeProxy: own.has('kube-proxy'),
    cilium: own.has('cilium-agent'),
    calicoEbpf: own.has('calico-ebpf'),
  };

  // files
  const sysctlFiles = out.files.filter((f) => f.kind === 'sysctl');
  snap.sysctlFiles = sysctlFiles.map((f) => ({ path: f.path, ...(f.content !== undefined ? { content: f.content } : {}), ...(f.linkTarget !== undefined ? { linkTarget: f.linkTarget } : {}) }));
  for (const f of out.files) if (f.unreadable && f.unreadable !== 'dangling-link') unavailable.push({ code: !root && f.unreadable === 'permission' ? 'needs-root' : 'unreadable', what: f.path, why: `unreadable (${f.unreadable})` });
  snap.modulesLoad = out.files.filter((f) => f.kind === 'modules-load' && f.content !== undefined).map((f) => ({ path: f.path, content: f.content ?? '' }));
  snap.modprobe = out.files.filter((f) => f.kind === 'modprobe' && f.content !== undefined).map((f) => ({ path: f.path, content: f.content ?? '' }));

  const tools = kv(sec('tools')?.body ?? '');
  const missing = [...tools].filter(([, path]) => path === '-').map(([name]) => name);
  if (tools.size > 0) snap.missingPrograms = missing;
  if (missing.includes('conntrack')) {
    unavailable.push({
      code: 'program-missing',
      what: 'conntrack tool',
      why: 'the conntrack program is not installed: counters come from /proc/net/stat/nf_conntrack and entries from /proc/net/nf_conntrack where the kernel has them (CONFIG_NF_CONNTRACK_PROCFS); deleting entries and flushing the table need the program',
      remedy: conntrackInstallAdvice(snap.osRelease),
    });
  }
  const cut = [...out.sections.values()].some((s) => s.exitCode === -1);
  if (cut) unavailable.push({ code: 'cut-off', what: 'part of the snapshot', why: 'the output was cut off (timeout or dropped connection)' });
  // Without nf_conntrack there is no table: one item says so, instead of one per thing it implies.
  snap.unavailable = snap.conntrackModule === 'absent' ? [CONNTRACK_INACTIVE, ...unavailable.filter((u) => u.code !== 'conntrack-inactive' && !u.what.startsWith('entry size'))] : unavailable;
  return hostSnapshotSchema.parse(snap);
}
