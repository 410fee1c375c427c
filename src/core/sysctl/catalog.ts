/**
 * Every net.netfilter.* sysctl key the kernel has (or had), with its default, unit, type,
 * accepted range, scope and meaning. Defaults from Documentation/networking/nf_conntrack-sysctl.rst
 * and nf_conntrack_standalone.c (see docs/kernel-facts.md). A live host's own key list is the
 * authority for "unknown key" on that host; this catalog is the offline fallback.
 */

import { editDistance, suggestionLimit } from './keyCatalog';

export const KERNEL_DOC_URL = 'https://docs.kernel.org/networking/nf_conntrack-sysctl.html';

/** The kernel documentation page that describes a key's directory. */
export function kernelDocUrl(key: string): string {
  const base = 'https://docs.kernel.org';
  if (key.startsWith('net.netfilter.') || key === MAX_ALIAS) return KERNEL_DOC_URL;
  if (/^net\.ipv[46]\.vs\./.test(key)) return `${base}/networking/ipvs-sysctl.html`;
  if (/^net\.(ipv4|ipv6|bridge|sctp)\./.test(key)) return `${base}/networking/ip-sysctl.html`;
  if (key.startsWith('net.mptcp.')) return `${base}/networking/mptcp-sysctl.html`;
  const top = key.split('.')[0] ?? '';
  return ['kernel', 'vm', 'fs', 'net', 'abi', 'user', 'sunrpc'].includes(top) ? `${base}/admin-guide/sysctl/${top}.html` : `${base}/admin-guide/sysctl/index.html`;
}

/** Where a key can be written. */
export type KeyScope =
  | 'netns' // per network namespace, writable in any netns
  | 'init' // one global value, writable only in the initial (host) netns; read-only elsewhere
  | 'read-only';

export type KeyUnit = 'seconds' | 'entries' | 'buckets' | 'bytes' | 'boolean' | 'enum' | 'count' | 'protocol';

export interface KeyInfo {
  readonly key: string;
  readonly unit: KeyUnit;
  /** Integer default; undefined when it is computed (see defaultNote). */
  readonly defaultValue?: number;
  readonly defaultNote?: string;
  readonly min: number;
  readonly max: number;
  readonly scope: KeyScope;
  readonly summary: string;
  /** Present when the key exists only on some kernels. */
  readonly availability?: string;
}

const NF = 'net.netfilter.';
const INT_MAX = 2147483647;
/**
 * Timeouts go through proc_dointvec_jiffies, which refuses values above INT_MAX / HZ.
 * HZ is 100..1000 depending on the build, so only values up to INT_MAX/1000 are safe everywhere.
 */
export const MAX_PORTABLE_TIMEOUT = Math.floor(INT_MAX / 1000);

function timeout(name: string, def: number, summary: string, availability?: string): KeyInfo {
  return {
    key: NF + name,
    unit: 'seconds',
    defaultValue: def,
    min: 0,
    max: INT_MAX / 100, // HZ=100 is the most permissive build; values above MAX_PORTABLE_TIMEOUT get a warning
    scope: 'netns',
    summary,
    ...(availability ? { availability } : {}),
  };
}

function flag(name: string, def: number, summary: string, scope: KeyScope = 'netns'): KeyInfo {
  return { key: NF + name, unit: 'boolean', defaultValue: def, min: 0, max: 1, scope, summary };
}

const DCCP = 'kernels built with DCCP conntrack (CONFIG_NF_CT_PROTO_DCCP)';

const entries: KeyInfo[] = [
  {
    key: `${NF}nf_conntrack_max`,
    unit: 'entries',
    defaultNote: 'kernel ≥ 5.15: equal to nf_conntrack_buckets; before 5.15: 4 × buckets; with an explicit hashsize= option: 8 × hashsize',
    min: 0,
    max: INT_MAX,
    scope: 'init',
    summary: 'Maximum number of entries in a conntrack table. One global value; each network namespace is full when its own count reaches it. 0 means unlimited.',
  },
  {
    key: `${NF}nf_conntrack_count`,
    unit: 'entries',
    min: 0,
    max: INT_MAX,
    scope: 'read-only',
    summary: 'Number of entries currently in this network namespace\'s table (read-only).',
  },
  {
    key: `${NF}nf_conntrack_buckets`,
    unit: 'buckets',
    defaultNote: 'from RAM at boot: 262144 above 4 GiB, 65536 (16384 before 5.15) for 1–4 GiB, RAM/16384/8 below',
    min: 1,
    max: INT_MAX,
    scope: 'init',
    summary: 'Size of the hash table (one global value). Writable only in the initial netns; persist it with `options nf_conntrack hashsize=N` in /etc/modprobe.d.',
  },
  flag('nf_conntrack_checksum', 1, 'Verify the checksum of incoming packets; packets with a bad checksum are INVALID and do not change connection state.'),
  flag('nf_conntrack_acct', 0, 'Count packets and bytes per entry (adds an extension to every entry).'),
  flag('nf_conntrack_timestamp', 0, 'Record the start time of every entry (adds an extension to every entry).'),
  {
    key: `${NF}nf_conntrack_events`,
    unit: 'enum',
    defaultValue: 2,
    min: 0,
    max: 2,
    scope: 'netns',
    summary: 'Connection tracking events for ctnetlink listeners: 0 off, 1 on, 2 (default) on only while a listener exists.',
  },
  {
    key: `${NF}nf_conntrack_log_invalid`,
    unit: 'protocol',
    defaultValue: 0,
    min: 0,
    max: 255,
    scope: 'netns',
    summary: 'Log INVALID packets of one IP protocol (1 icmp, 6 tcp, 17 udp, 33 dccp, 41 icmpv6, 136 udplite, 255 any; 0 off). In a non-initial netns logging also needs net.netfilter.nf_log_all_netns=1.',
  },
  {
    key: `${NF}nf_conntrack_expect_max`,
    unit: 'entries',
    defaultNote: 'nf_conntrack_buckets / 256 (minimum 1)',
    min: 1,
    max: INT_MAX,
    scope: 'init',
    summary: 'Maximum number of expectations (related connections announced by helpers such as FTP/SIP).',
  },
  {
    key: `${NF}nf_conntrack_frag6_high_thresh`,
    unit: 'bytes',
    defaultValue: 4194304,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    scope: 'netns',
    summary: 'Memory above which IPv6 reassembly in conntrack starts dropping fragments.',
  },
  {
    key: `${NF}nf_conntrack_frag6_low_thresh`,
    unit: 'bytes',
    defaultValue: 3145728,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    scope: 'netns',
    summary: 'Memory IPv6 conntrack reassembly shrinks back to once high_thresh was hit.',
  },
  timeout('nf_conntrack_frag6_timeout', 60, 'How long IPv6 fragments are kept for reassembly.'),
  timeout('nf_conntrack_generic_timeout', 600, 'Timeout for protocols conntrack does not track in detail.'),
  timeout('nf_conntrack_icmp_timeout', 30, 'Timeout for ICMP entries.'),
  timeout('nf_conntrack_icmpv6_timeout', 30, 'Timeout for ICMPv6 entries.'),
  flag('nf_conntrack_tcp_be_liberal', 0, 'Only mark out-of-window RST segments INVALID; accept every other out-of-window packet.'),
  flag('nf_conntrack_tcp_ignore_invalid_rst', 0, 'Do not mark out-of-window RST segments INVALID.'),
  flag('nf_conntrack_tcp_loose', 1, 'Pick up already established connections (mid-stream packets create entries). With 0, connections that existed before a flush, reboot of the firewall or failover are INVALID.'),
  {
    key: `${NF}nf_conntrack_tcp_max_retrans`,
    unit: 'count',
    defaultValue: 3,
    min: 0,
    max: 255,
    scope: 'netns',
    summary: 'Retransmissions without an ACK from the destination after which tcp_timeout_max_retrans applies.',
  },
  timeout('nf_conntrack_tcp_timeout_close', 10, 'Timeout for TCP entries in CLOSE.'),
  timeout('nf_conntrack_tcp_timeout_close_wait', 60, 'Timeout for TCP entries in CLOSE_WAIT.'),
  timeout('nf_conntrack_tcp_timeout_established', 432000, 'Idle timeout for ESTABLISHED TCP entries (default 5 days).'),
  timeout('nf_conntrack_tcp_timeout_fin_wait', 120, 'Timeout for TCP entries in FIN_WAIT.'),
  timeout('nf_conntrack_tcp_timeout_last_ack', 30, 'Timeout for TCP entries in LAST_ACK.'),
  timeout('nf_conntrack_tcp_timeout_max_retrans', 300, 'Timeout for TCP entries once tcp_max_retrans retransmissions went unanswered.'),
  timeout('nf_conntrack_tcp_timeout_syn_recv', 60, 'Timeout for TCP entries in SYN_RECV.'),
  timeout('nf_conntrack_tcp_timeout_syn_sent', 120, 'Timeout for TCP entries in SYN_SENT (capped by tcp_timeout_unacknowledged while data is unacknowledged).'),
  timeout('nf_conntrack_tcp_timeout_time_wait', 120, 'Timeout for TCP entries in TIME_WAIT.'),
  timeout('nf_conntrack_tcp_timeout_unacknowledged', 300, 'Cap for entries with unacknowledged data.'),
  timeout('nf_conntrack_udp_timeout', 30, 'Timeout for UDP entries seen in one direction only (or not yet a stream).'),
  timeout('nf_conntrack_udp_timeout_stream', 120, 'Timeout for UDP entries that saw traffic both ways (a stream).'),
  timeout('nf_conntrack_gre_timeout', 30, 'Timeout for GRE entries (needs nf_conntrack_proto_gre).'),
  timeout('nf_conntrack_gre_timeout_stream', 180, 'Timeout for GRE entries that saw traffic both ways.'),
  timeout('nf_conntrack_sctp_timeout_closed', 10, 'Timeout for SCTP entries in CLOSED.'),
  timeout('nf_conntrack_sctp_timeout_cookie_wait', 3, 'Timeout for SCTP entries in COOKIE_WAIT.'),
  timeout('nf_conntrack_sctp_timeout_cookie_echoed', 3, 'Timeout for SCTP entries in COOKIE_ECHOED.'),
  timeout('nf_conntrack_sctp_timeout_established', 210, 'Timeout for SCTP entries in ESTABLISHED.'),
  timeout('nf_conntrack_sctp_timeout_shutdown_sent', 3, 'Timeout for SCTP entries in SHUTDOWN_SENT.'),
  timeout('nf_conntrack_sctp_timeout_shutdown_recd', 3, 'Timeout for SCTP entries in SHUTDOWN_RECD.'),
  timeout('nf_conntrack_sctp_timeout_shutdown_ack_sent', 3, 'Timeout for SCTP entries in SHUTDOWN_ACK_SENT.'),
  timeout('nf_conntrack_sctp_timeout_heartbeat_sent', 30, 'Timeout for SCTP entries in HEARTBEAT_SENT.'),
  timeout('nf_conntrack_sctp_timeout_heartbeat_acked', 210, 'Timeout for SCTP entries in HEARTBEAT_ACKED.', 'older kernels only (merged into established in Linux 5.x)'),
  timeout('nf_conntrack_dccp_timeout_request', 240, 'Timeout for DCCP entries in REQUEST.', DCCP),
  timeout('nf_conntrack_dccp_timeout_respond', 480, 'Timeout for DCCP entries in RESPOND.', DCCP),
  timeout('nf_conntrack_dccp_timeout_partopen', 480, 'Timeout for DCCP entries in PARTOPEN.', DCCP),
  timeout('nf_conntrack_dccp_timeout_open', 43200, 'Timeout for DCCP entries in OPEN.', DCCP),
  timeout('nf_conntrack_dccp_timeout_closereq', 64, 'Timeout for DCCP entries in CLOSEREQ.', DCCP),
  timeout('nf_conntrack_dccp_timeout_closing', 64, 'Timeout for DCCP entries in CLOSING.', DCCP),
  timeout('nf_conntrack_dccp_timeout_timewait', 240, 'Timeout for DCCP entries in TIMEWAIT.', DCCP),
  { ...flag('nf_conntrack_dccp_loose', 1, 'Pick up already established DCCP connections.'), availability: DCCP },
  timeout('nf_flowtable_tcp_timeout', 30, 'Idle timeout of offloaded (flowtable) TCP flows.', 'kernels with flowtable support (CONFIG_NF_FLOW_TABLE)'),
  timeout('nf_flowtable_udp_timeout', 30, 'Idle timeout of offloaded (flowtable) UDP flows.', 'kernels with flowtable support (CONFIG_NF_FLOW_TABLE)'),
  {
    ...flag('nf_hooks_lwtunnel', 0, 'Run netfilter hooks for lightweight tunnels. Cannot be turned off again once enabled.', 'init'),
    availability: 'Linux 5.15 and later',
  },
  flag('nf_log_all_netns', 0, 'Allow netfilter logging (LOG target, log_invalid) from every network namespace, not only the initial one.', 'init'),
];

export const CATALOG: ReadonlyMap<string, KeyInfo> = new Map(entries.map((e) => [e.key, e]));

/** The initial-netns-only alias of nf_conntrack_max. */
export const MAX_ALIAS = 'net.nf_conntrack_max';

/**
 * Removed names and where their meaning lives today. The `net.ipv4.netfilter.ip_conntrack_*`
 * compatibility sysctls (CONFIG_NF_CONNTRACK_PROC_COMPAT) no longer exist on current kernels.
 */
export const LEGACY_KEYS: ReadonlyMap<string, string> = new Map(
  [
    ['max', 'nf_conntrack_max'],
    ['count', 'nf_conntrack_count'],
    ['buckets', 'nf_conntrack_buckets'],
    ['checksum', 'nf_conntrack_checksum'],
    ['log_invalid', 'nf_conntrack_log_invalid'],
    ['generic_timeout', 'nf_conntrack_generic_timeout'],
    ['icmp_timeout', 'nf_conntrack_icmp_timeout'],
    ['udp_timeout', 'nf_conntrack_udp_timeout'],
    ['udp_timeout_stream', 'nf_conntrack_udp_timeout_stream'],
    ['tcp_loose', 'nf_conntrack_tcp_loose'],
    ['tcp_be_liberal', 'nf_conntrack_tcp_be_liberal'],
    ['tcp_max_retrans', 'nf_conntrack_tcp_max_retrans'],
    ['tcp_timeout_syn_sent', 'nf_conntrack_tcp_timeout_syn_sent'],
    ['tcp_timeout_syn_sent2', 'nf_conntrack_tcp_timeout_syn_sent'],
    ['tcp_timeout_syn_recv', 'nf_conntrack_tcp_timeout_syn_recv'],
    ['tcp_timeout_established', 'nf_conntrack_tcp_timeout_established'],
    ['tcp_timeout_fin_wait', 'nf_conntrack_tcp_timeout_fin_wait'],
    ['tcp_timeout_close_wait', 'nf_conntrack_tcp_timeout_close_wait'],
    ['tcp_timeout_last_ack', 'nf_conntrack_tcp_timeout_last_ack'],
    ['tcp_timeout_time_wait', 'nf_conntrack_tcp_timeout_time_wait'],
    ['tcp_timeout_close', 'nf_conntrack_tcp_timeout_close'],
    ['tcp_timeout_max_retrans', 'nf_conntrack_tcp_timeout_max_retrans'],
    ['sctp_timeout_closed', 'nf_conntrack_sctp_timeout_closed'],
    ['sctp_timeout_cookie_wait', 'nf_conntrack_sctp_timeout_cookie_wait'],
    ['sctp_timeout_cookie_echoed', 'nf_conntrack_sctp_timeout_cookie_echoed'],
    ['sctp_timeout_established', 'nf_conntrack_sctp_timeout_established'],
    ['sctp_timeout_shutdown_sent', 'nf_conntrack_sctp_timeout_shutdown_sent'],
    ['sctp_timeout_shutdown_recd', 'nf_conntrack_sctp_timeout_shutdown_recd'],
    ['sctp_timeout_shutdown_ack_sent', 'nf_conntrack_sctp_timeout_shutdown_ack_sent'],
  ].map(([old, now]) => [`net.ipv4.netfilter.ip_conntrack_${old ?? ''}`, NF + (now ?? '')]),
);

/** True for keys the catalog is responsible for (everything under net.netfilter. plus the alias). */
export function isNetfilterKey(key: string): boolean {
  return key.startsWith(NF) || key === MAX_ALIAS || key.startsWith('net.ipv4.netfilter.');
}

/** The key a dotted name writes to: the alias net.nf_conntrack_max is nf_conntrack_max. */
export function canonicalKey(key: string): string {
  return key === MAX_ALIAS ? `${NF}nf_conntrack_max` : key;
}

export function lookupKey(key: string): KeyInfo | undefined {
  return CATALOG.get(canonicalKey(key));
}

/** The closest known key within a small edit distance, for "did you mean". */
export function suggestKey(key: string, known: Iterable<string> = CATALOG.keys()): string | undefined {
  const limit = suggestionLimit(key);
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(key, candidate, bestDistance - 1);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
