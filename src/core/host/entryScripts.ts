/**
 * Who fills the table, computed ON THE HOST in one streaming pass, so a 1M-entry table never
 * travels to the client: awk (the fastest on the host: PICK_AWK) reads /proc/net/nf_conntrack, or
 * `conntrack -L -o extended [filter]` through a pipe, and prints a few hundred bytes of counts. The same
 * shape as the client-side summariser (kernel/entrySummary.ts), so both are interchangeable.
 *
 * Run as `sh -s -- TOPN [conntrack filter args…]` with the script on stdin.
 */
import { IDLE_EDGES, MAX_IDLE_CLASSES, TIMEOUT_BUCKETS, entrySummarySchema, type EntrySummary } from '../kernel/entrySummary';
import { parseConntrackLine, type ConntrackEntry } from '../kernel/conntrackEntries';
import { filterArgs, type EntryFilter } from '../fix/entriesFixes';
import { REPORT_HOST_CPU } from './cpuBudget';
import { formatInt } from '../format';
import { UNAVAILABLE_CODES, type UnavailableCode } from './unavailable';

/** Listing and summarising may select everything; deleting may not (entriesFixes.ts refuses an empty filter). */
function listArgs(filter: EntryFilter): string[] {
  return Object.values(filter).some((v) => v !== undefined && v !== '') ? filterArgs(filter) : [];
}

/** Timeout classes are numbered 1..MAX_IDLE_CLASSES (0: none) and packed into one array key with the seconds: key = seconds × CLASS_SLOTS + class. */
const CLASS_SLOTS = 32;
if (MAX_IDLE_CLASSES >= CLASS_SLOTS || IDLE_EDGES.length >= CLASS_SLOTS) throw new Error('CLASS_SLOTS must exceed the number of timeout classes and idle buckets');
/** Remaining seconds below this pack into an integer key (mawk and busybox awk turn larger numbers into "9.6e+10" keys). */
const PACKED_SECONDS = 2 ** 31 / CLASS_SLOTS;

/**
 * One pass, cheap per line (measured by scripts/bench-entries.ts; awk's cost is the number of
 * operations per line, about 300 machine instructions each in mawk, so every one counts):
 * - lines in the kernel's layout (/proc/net/nf_conntrack and `conntrack -o extended` print the
 *   same: "L3 N L4 N TIMEOUT [STATE] src= dst= sport= dport= …") are read by field position, with
 *   the whole fields as keys ("src=10.0.0.1": the prefix is cut from the N printed); any other
 *   line (no ports, no L3 column, junk) the generic way, by splitting at " src=";
 * - flags are found with index() on the line;
 * - both histograms come from the counts per (remaining seconds, timeout class) — a few thousand
 *   keys for a table of millions — folded into buckets every 65,536 lines (bounds the memory) and
 *   at the end; the class of a TCP state is looked up once per state, its sysctl read once;
 * - the top N are kept in a sorted buffer of N in one pass over the keys, ties to the smaller
 *   key (as the client's summariser), so every awk prints the same.
 */
function awkProgram(): string {
  const bucket = TIMEOUT_BUCKETS.map((b, i) => (b.maxSeconds === undefined ? `b = ${i}` : `if (t < ${b.maxSeconds}) b = ${i}`)).join('; else ');
  return String.raw`BEGIN { total = 0; bad = 0; assured = 0; unrep = 0; off = 0; NE = split("${IDLE_EDGES.join(' ')}", E, " "); MAXC = ${MAX_IDLE_CLASSES}; NC = 0; NCI = 0; UDP = -1; UDPS = -1 }
{
  if (($1 == "ipv4" || $1 == "ipv6") && $5 ~ /^[0-9]+$/ && ($7 ~ /^src=./ ? $10 ~ /^dport=./ : $6 ~ /^src=./ && $9 ~ /^dport=./)) {
    total++; L[$1]++; proto = $3; t = $5
    if ($7 ~ /^src=./) { st = $6; SRC[$7]++; DST[$8]++; PORT[proto "/" $10]++ }
    else { st = ""; SRC[$6]++; DST[$7]++; PORT[proto "/" $9]++ }
  }
  else if (!slow()) next
  P[proto]++
  a = index($0, "[ASSURED]")
  if (a) assured++
  if (index($0, "[UNREPLIED]")) unrep++
  if (index($0, "OFFLOAD]")) off++
  # the timeout class: the sysctl that armed the timer of the entry
  if (proto == "tcp") {
    # once per state: its name in the summary ("" or not a state: NONE) and its timeout class
    if (!(st in TCI)) { TS[st] = (st == "" || st ~ /=/ || substr(st, 1, 1) == "[") ? "NONE" : st; TCI[st] = (st ~ /^[A-Z_]+$/) ? class("tcp_timeout_" tolower(st)) : 0 }
    S[TS[st]]++
    c = TCI[st]
  }
  else if (proto == "udp") {
    if (a) { if (UDPS < 0) UDPS = class("udp_timeout_stream"); c = UDPS }
    else { if (UDP < 0) UDP = class("udp_timeout"); c = UDP }
  }
  else if (proto == "icmp" || proto == "icmpv6") { if (!(proto in ICI)) ICI[proto] = class(proto "_timeout"); c = ICI[proto] }
  else c = 0
  if (t < ${PACKED_SECONDS}) T[t * ${CLASS_SLOTS} + c]++
  else add(t + 0, c, 1)
  if (++NT == 65536) flush()
}
# Any other line, the generic way: split at " src=" (header, original tuple, the rest). Sets
# proto, st (the TCP state or ""), t; 0 for a line that is not an entry.
function slow(    n, a, i, m, b, k, f, l3, src, dst, dport) {
  split($0, b, " src=")
  n = split(b[1], a, " ")
  i = 1; l3 = ""
  if (a[1] == "ipv4" || a[1] == "ipv6") { l3 = a[1]; i = 3 }
  proto = a[i]; t = a[i + 2]
  if (t !~ /^[0-9]+$/ || a[i + 1] !~ /^[0-9]+$/) { bad++; return 0 }
  total++
  if (l3 != "") L[l3]++
  st = a[i + 3]
  if (i + 3 > n || st ~ /=/ || substr(st, 1, 1) == "[") st = ""
  src = ""; dst = ""; dport = ""
  if (index($0, " src=")) {
    m = split(b[2], a, " "); src = a[1]
    for (k = 2; k <= m; k++) {
      f = a[k]
      if (dst == "" && substr(f, 1, 4) == "dst=") dst = substr(f, 5)
      else if (dport == "" && substr(f, 1, 6) == "dport=") dport = substr(f, 7)
    }
  }
  if (src != "") SRC["src=" src]++
  if (dst != "") DST["dst=" dst]++
  if (dport != "") PORT[proto "/dport=" dport]++
  t += 0
  return 1
}
# The number of timeout class c (0: none, unreadable, or past MAXC classes); its configured
# seconds in CV. One file read per class.
function class(c,    f, v) {
  if (CFGDIR == "" || NC >= MAXC) return 0
  NC++; f = CFGDIR "nf_conntrack_" c; v = ""
  if ((getline v < f) > 0) close(f)
  if (v !~ /^[0-9]+$/) return 0
  CV[++NCI] = v + 0; CN[NCI] = c; CFG[c] = v + 0
  return NCI
}
function flush(    k, c) {
  for (k in T) { c = k % ${CLASS_SLOTS}; add((k - c) / ${CLASS_SLOTS}, c, T[k]) }
  delete T; NT = 0
  # progress for a client that streams the output: lines read so far (every 65,536 and at the end)
  if (PGS) { printf "G %d\n", total + bad; fflush() }
}
# n entries with t seconds left, of class c: the timeout histogram H, and per class how long the
# timer has run, configured − t, in IDLE_EDGES buckets j (0: more left than configured = armed
# under an earlier, longer setting).
function add(t, c, n,    b, v, j) {
  ${bucket}
  H[b] += n
  if (!c) return
  v = CV[c] - t
  if (v < 0) j = 0
  else for (j = 1; j < NE && v >= E[j + 1]; j++) ;
  R[c * ${CLASS_SLOTS} + j] += n
}
# The N largest counts, ties to the smaller key; keys are whole fields, printed without their
# prefix (cut: its length; port keys "PROTO/dport=N").
function top(arr, tag, cut,    n, d, k, c, p, key) {
  n = 0; d = 0
  for (k in arr) {
    d++; c = arr[k]
    if (n == TOPN && (n == 0 || c < TC[n] || (c == TC[n] && k "" > TK[n] ""))) continue
    if (n < TOPN) n++
    for (p = n; p > 1 && (TC[p - 1] < c || (TC[p - 1] == c && TK[p - 1] "" > k "")); p--) { TC[p] = TC[p - 1]; TK[p] = TK[p - 1] }
    TC[p] = c; TK[p] = k
  }
  printf "D %s %d\n", tag, d
  for (p = 1; p <= n; p++) {
    key = TK[p]
    if (cut) key = substr(key, cut + 1); else sub(/\/dport=/, "/", key)
    printf "%s %d %s\n", tag, TC[p], key
  }
}
END {
  flush()
  printf "T %d\nM %d\nA %d\nU %d\nO %d\n", total, bad, assured, unrep, off
  for (k in L) printf "L %s %d\n", k, L[k]
  for (k in P) printf "P %s %d\n", k, P[k]
  for (k in S) printf "S %s %d\n", k, S[k]
  for (h = 0; h < NB; h++) printf "H %d %d\n", h, H[h] + 0
  for (k in CFG) printf "C %s %d\n", k, CFG[k]
  for (k in R) { j = k % ${CLASS_SLOTS}; printf "R %s %s %d\n", CN[(k - j) / ${CLASS_SLOTS}], j ? j : "x", R[k] }
  top(SRC, "src", 4); top(DST, "dst", 4); top(PORT, "port", 0)
}`;
}

/**
 * Sets AWK to the fastest awk on the host (measured on a 240k-entry listing: gawk takes about
 * 2x mawk's CPU, BusyBox awk 5-6x): mawk, else gawk, else the one-true-awk, else plain `awk` —
 * on a BusyBox system its applet, which is slow but there.
 */
export const PICK_AWK = `AWK=awk
for a in mawk gawk nawk original-awk; do
  p=$(command -v "$a" 2>/dev/null) || continue
  case "$(readlink -f "$p" 2>/dev/null)" in */busybox) continue;; esac
  AWK="$a"; break
done`;

/**
 * Run as `sh -s -- TOPN [sample=K] [source=proc|conntrack] [low-priority] [progress] [conntrack filter args…]`. With `sample=K` only the first K
 * entries the kernel lists are read (the dump stops when head has them: conntrack gets SIGPIPE):
 * the kernel walks its hash table, whose order is unrelated to addresses and ports, so they are
 * a sample of the table whose shares carry binomial error bounds (sampling.ts).
 */
export function entrySummaryScript(): string {
  return `# conntrack-doctor entry summary (POSIX sh + awk)
TOPN="$1"; shift
case "$TOPN" in ''|*[!0-9]*) echo "bad top-N" >&2; exit 2;; esac
LIMIT=0; SOURCE=auto
case "$1" in sample=*) LIMIT="\${1#sample=}"; shift;; esac
case "$LIMIT" in ''|*[!0-9]*) echo "bad sample size" >&2; exit 2;; esac
case "$1" in source=proc|source=conntrack) SOURCE="\${1#source=}"; shift;; esac
# The full count on demand runs at the lowest CPU and I/O priority (inherited by the pipeline).
case "$1" in low-priority) shift
  if command -v renice >/dev/null 2>&1; then renice -n 19 -p $$ >/dev/null 2>&1; fi
  if command -v ionice >/dev/null 2>&1; then ionice -c3 -p $$ >/dev/null 2>&1; fi;; esac
# progress: awk prints "G LINES" (flushed) every 65,536 lines read, for a progress bar
PGS=0
case "$1" in progress) PGS=1; shift;; esac
${REPORT_HOST_CPU}
LC_ALL=C; export LC_ALL
PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"; export PATH
# Errors: "@@error CODE words" on stderr (CODE from core/host/unavailable.ts). The pipeline's
# status is awk's, so the caller looks for the line, not at the exit code.
src() {
  # Without nf_conntrack, conntrack -L would load it on a modular kernel: say so instead.
  if [ ! -e /proc/sys/net/netfilter/nf_conntrack_count ]; then echo "@@error conntrack-inactive connection tracking is not active on this host (no /proc/sys/net/netfilter/nf_conntrack_count)" >&2; return 1; fi
  # /proc/net/nf_conntrack (this netns's table) where the kernel has it and it is readable: no
  # netlink round trips per batch (scripts/bench-entries.ts measures it against conntrack -L).
  if [ "$#" -eq 0 ] && [ "$SOURCE" != conntrack ] && [ -r /proc/net/nf_conntrack ]; then cat /proc/net/nf_conntrack; return 0; fi
  if [ "$SOURCE" = proc ]; then echo "@@error unreadable /proc/net/nf_conntrack is not readable here" >&2; return 1; fi
  rc=-
  if command -v conntrack >/dev/null 2>&1; then conntrack -L -o extended "$@" 2>/dev/null; rc=$?
    # 0, or stopped by SIGPIPE after the sample (head had what it needed)
    if [ "$rc" -eq 0 ] || { [ "$LIMIT" -gt 0 ] && [ "$rc" -gt 128 ]; }; then return 0; fi
  fi
  if [ "$#" -eq 0 ] && [ -r /proc/net/nf_conntrack ]; then cat /proc/net/nf_conntrack; return 0; fi
  if [ "$(id -u)" != 0 ]; then echo "@@error needs-root listing the entries needs root (conntrack -L needs CAP_NET_ADMIN; /proc/net/nf_conntrack is readable by root only)" >&2
  elif [ "$rc" = - ] && [ "$#" -gt 0 ]; then echo "@@error program-missing selecting entries by a filter needs the conntrack program, which is not installed" >&2
  elif [ "$rc" = - ]; then echo "@@error program-missing the conntrack program is not installed and this kernel has no /proc/net/nf_conntrack (CONFIG_NF_CONNTRACK_PROCFS)" >&2
  else echo "@@error failed conntrack -L exited with status $rc" >&2; fi
  return 1
}
${PICK_AWK}
PROG='${entrySummaryAwk()}'
summarise() { "$AWK" -v TOPN="$TOPN" -v NB=${TIMEOUT_BUCKETS.length} -v CFGDIR=/proc/sys/net/netfilter/ -v PGS="$PGS" "$PROG" "$@"; }
# The table's size at the moment of the pass, for scaling a sample (read before the listing).
printf 'C %s\n' "$(cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null)"
# Cancel must stop the dump, not only this shell: the pipeline runs in the background so that
# TERM (the runner's kill by pid) interrupts wait, and the trap ends the whole process group.
trap 'trap - TERM HUP INT; kill 0' TERM HUP INT
# Every entry from /proc: awk reads the kernel's file itself (no cat, no pipe: scripts/bench-entries.ts).
if [ "$LIMIT" -eq 0 ] && [ "$#" -eq 0 ] && [ "$SOURCE" != conntrack ] && [ -e /proc/sys/net/netfilter/nf_conntrack_count ] && [ -r /proc/net/nf_conntrack ]; then summarise /proc/net/nf_conntrack &
elif [ "$LIMIT" -gt 0 ]; then src "$@" | head -n "$LIMIT" | summarise &
else src "$@" | summarise &
fi
wait $!
`;
}

/** The awk program alone (run with -v TOPN=… -v NB=…); exported for tests on recorded listings. */
export function entrySummaryAwk(): string {
  return awkProgram();
}

/** The argv tail for `sh -s --`: top N, the sample size (none: every entry), then the conntrack filter (validated by filterArgs). */
export function entrySummaryArgs(topN: number, filter: EntryFilter = {}, sample?: number, opts: { source?: EntrySource; lowPriority?: boolean; progress?: boolean } = {}): string[] {
  if (!Number.isInteger(topN) || topN < 1 || topN > 1000) throw new Error('top N must be an integer from 1 to 1000');
  if (sample !== undefined && (!Number.isInteger(sample) || sample < 1)) throw new Error('the sample size must be a positive integer');
  return [String(topN), ...(sample !== undefined ? [`sample=${sample}`] : []), ...(opts.source ? [`source=${opts.source}`] : []), ...(opts.lowPriority ? ['low-priority'] : []), ...(opts.progress ? ['progress'] : []), ...listArgs(filter)];
}

/**
 * Where the entries are read from: `proc` (/proc/net/nf_conntrack, unfiltered only) or the
 * `conntrack` program; by default /proc when it exists and is readable, else conntrack.
 */
export type EntrySource = 'proc' | 'conntrack';

/**
 * What a streamed summary has read so far, from its output: `C N` (the table's count when the pass
 * began, printed first) and the last `G LINES` awk printed. Feed it complete lines.
 */
export function summaryProgressLine(line: string): { tableCount: number } | { read: number } | undefined {
  const c = /^C (\d+)$/.exec(line);
  if (c) return { tableCount: Number(c[1]) };
  const g = /^G (\d+)$/.exec(line);
  return g ? { read: Number(g[1]) } : undefined;
}

/**
 * A progress bar's position for a streamed pass: the share read of the table's count when it
 * began (held below 100 % until the summary arrives: the table may have grown meanwhile) and
 * the words beside it.
 */
export function summaryProgress(read: number, tableCount: number | undefined): { percent: number | undefined; message: string } {
  if (tableCount === undefined || tableCount <= 0) return { percent: undefined, message: `${formatInt(read)} entries read` };
  return { percent: Math.min(99, Math.floor((100 * read) / tableCount)), message: `${formatInt(read)} of ~${formatInt(tableCount)} entries read` };
}

/** Parses the awk output into the same EntrySummary shape the client-side summariser produces (`sample`: the K it was run with). */
export function parseEntrySummaryOutput(text: string, sample?: number): EntrySummary {
  const rec: Record<string, Record<string, number>> = { L: {}, P: {}, S: {} };
  const scalars: Record<string, number> = {};
  const hist: number[] = TIMEOUT_BUCKETS.map(() => 0);
  const tops: Record<string, { key: string; count: number }[]> = { src: [], dst: [], port: [] };
  const distinct: Record<string, number> = {};
  const configured = new Map<string, number>();
  const idle = new Map<string, Map<string, number>>();
  for (const line of text.split('\n')) {
    const parts = line.split(' ');
    const tag = parts[0] ?? '';
    if (['T', 'M', 'A', 'U', 'O'].includes(tag)) scalars[tag] = Number(parts[1]);
    else if (tag === 'C' && /^\d+$/.test(parts[1] ?? '')) scalars[tag] = Number(parts[1]);
    else if (tag === 'L' || tag === 'P' || tag === 'S') {
      const bucket = rec[tag];
      if (bucket && parts[1]) bucket[parts[1]] = Number(parts[2]);
    } else if (tag === 'H') hist[Number(parts[1])] = Number(parts[2]);
    else if (tag === 'D' && parts[1]) distinct[parts[1]] = Number(parts[2]);
    else if (tag === 'C' && parts[1]) configured.set(parts[1], Number(parts[2]));
    else if (tag === 'R' && parts[1] && parts[2]) {
      const row = idle.get(parts[1]) ?? new Map<string, number>();
      row.set(parts[2], Number(parts[3]));
      idle.set(parts[1], row);
    }
    else if ((tag === 'src' || tag === 'dst' || tag === 'port') && parts.length >= 3) tops[tag]?.push({ count: Number(parts[1]), key: parts.slice(2).join(' ') });
  }
  if (scalars['T'] === undefined) throw new Error(`the entry summary printed no totals: ${text.slice(0, 200)}`);
  const total = scalars['T'];
  const topK = (tag: 'src' | 'dst' | 'port'): EntrySummary['topSources'] => {
    const items = (tops[tag] ?? []).map((i) => ({ key: i.key, count: i.count, error: 0 }));
    const d = distinct[tag] ?? items.length;
    return { approximate: false, capacity: Math.max(1, d), total, tracked: d, items };
  };
  let min = 0;
  const timeoutHistogram = TIMEOUT_BUCKETS.map((b, i) => {
    const row = { label: b.label, minSeconds: min, ...(b.maxSeconds === undefined ? {} : { maxSeconds: b.maxSeconds }), count: hist[i] ?? 0 };
    min = b.maxSeconds ?? min;
    return row;
  });
  return entrySummarySchema.parse({
    entries: total,
    ...(sample !== undefined ? { sample: { limit: sample, ...(scalars['C'] !== undefined ? { tableCount: scalars['C'] } : {}) } } : {}),
    malformedLines: scalars['M'] ?? 0,
    byL3: rec['L'],
    byProtocol: rec['P'],
    byTcpState: rec['S'],
    assured: scalars['A'] ?? 0,
    unreplied: scalars['U'] ?? 0,
    offloaded: scalars['O'] ?? 0,
    timeoutHistogram,
    topSources: topK('src'),
    topDestinations: topK('dst'),
    topDestinationPorts: topK('port'),
    ...(configured.size > 0 ? { idleHistogram: idleRows(configured, idle) } : {}),
  });
}

function idleRows(configured: ReadonlyMap<string, number>, idle: ReadonlyMap<string, ReadonlyMap<string, number>>): NonNullable<EntrySummary['idleHistogram']> {
  return [...configured].sort(([a], [b]) => a.localeCompare(b)).map(([key, seconds]) => {
    const row = idle.get(key);
    return {
      key,
      configured: seconds,
      armedEarlier: row?.get('x') ?? 0,
      // awk's bucket j (1-based) is [IDLE_EDGES[j-1], IDLE_EDGES[j])
      buckets: IDLE_EDGES.map((min, i) => ({ minSeconds: min, ...(i + 1 < IDLE_EDGES.length ? { maxSeconds: IDLE_EDGES[i + 1] } : {}), count: row?.get(String(i + 1)) ?? 0 })),
    };
  });
}

/** Paged, filtered listing for browsing: `conntrack -L -o extended [filter]`, lines offset+1..offset+limit. */
export function entryPageScript(): string {
  return `# conntrack-doctor entry page
OFF="$1"; LIM="$2"; shift 2
case "$OFF$LIM" in *[!0-9]*|'') echo "bad page" >&2; exit 2;; esac
LC_ALL=C; export LC_ALL
PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"; export PATH
# What stops a listing before it starts: "@@error CODE words" on stderr, as the summary says it.
if [ ! -e /proc/sys/net/netfilter/nf_conntrack_count ]; then echo "@@error conntrack-inactive connection tracking is not active on this host (no /proc/sys/net/netfilter/nf_conntrack_count)" >&2; exit 3; fi
if ! command -v conntrack >/dev/null 2>&1; then echo "@@error program-missing browsing the entries needs the conntrack program, which is not installed" >&2; exit 3; fi
if [ "$(id -u)" != 0 ]; then echo "@@error needs-root listing the entries needs root (conntrack -L needs CAP_NET_ADMIN)" >&2; exit 3; fi
# conntrack's own exit status travels through the pipe as a last line (POSIX sh has no pipefail);
# its stderr (the "N flow entries" summary, or the error) stays on stderr.
{ conntrack -L -o extended "$@"; echo "@@rc $?"; } | awk -v o="$OFF" -v l="$LIM" '/^@@rc / { rc = $2; next } { n++ } n > o && n <= o + l { print } END { printf "@@total %d\\n@@rc %d\\n", n, rc }'
`;
}

export function entryPageArgs(offset: number, limit: number, filter: EntryFilter = {}): string[] {
  if (!Number.isInteger(offset) || offset < 0) throw new Error('offset must be a non-negative integer');
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new Error('limit must be an integer from 1 to 10000');
  return [String(offset), String(limit), ...listArgs(filter)];
}

/** One page of entries, and how many matched in all. */
export interface EntryPage {
  readonly entries: ConntrackEntry[];
  readonly total: number;
  /** lines of the page that could not be parsed */
  readonly unparsed: number;
}

/**
 * Reads what entryPageScript printed: the page's entry lines, then `@@total N` and conntrack's
 * own exit status `@@rc N`. A failure says why in conntrack's words (its stderr, without the
 * "N flow entries have been shown" summary).
 */
export function parseEntryPageOutput(stdout: string, stderr: string, exitCode: number): { ok: true; page: EntryPage } | { ok: false; why: string; code?: UnavailableCode } {
  const stopped = parseEntrySourceError(stderr);
  if (stopped) return { ok: false, why: stopped.why, code: stopped.code };
  const entries: ConntrackEntry[] = [];
  let total = 0;
  let unparsed = 0;
  let rc: number | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^@@total (\d+)$/.exec(line);
    if (m) {
      total = Number(m[1]);
      continue;
    }
    const code = /^@@rc (\d+)$/.exec(line);
    if (code) {
      rc = Number(code[1]);
      continue;
    }
    if (!line.trim()) continue;
    const parsed = parseConntrackLine(line);
    if (parsed.kind === 'entry') entries.push(parsed.entry);
    else unparsed++;
  }
  if (exitCode !== 0 || rc === undefined || rc !== 0) {
    const why = stderr.split('\n').filter((l) => l.trim() && !/flow entries have been shown/.test(l)).join(' ').trim();
    return { ok: false, why: `${rc !== undefined ? `conntrack exit ${rc}` : `exit ${exitCode}`}${why ? `: ${why.slice(0, 300)}` : ''}` };
  }
  return { ok: true, page: { entries, total, unparsed } };
}

/** The entry source's `@@error CODE words` line on stderr (the pipeline exits 0 even then). */
export function parseEntrySourceError(stderr: string): { code: UnavailableCode; why: string } | undefined {
  const m = /^@@error (\S+) (.*)$/m.exec(stderr);
  if (!m) return undefined;
  const code = UNAVAILABLE_CODES.find((c) => c === m[1]);
  return code ? { code, why: (m[2] ?? '').trim() } : { code: 'failed', why: `${m[1] ?? ''} ${m[2] ?? ''}`.trim() };
}
