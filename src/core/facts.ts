/**
 * Named facts about conntrack keys and the values the field uses, shared by the lint rules
 * (sysctl/lint.ts), the diagnosis (host/causes/) and the recommendations (host/recommend.ts):
 * one place each, so a number means the same everywhere. Sizing and memory facts live in
 * sizing.ts, the key catalogue in sysctl/catalog.ts. Sources: docs/kernel-facts.md.
 */

/** The keys the diagnosis reads by name (dotted, as `sysctl -a` prints them). */
export const MAX_KEY = 'net.netfilter.nf_conntrack_max';
export const BUCKETS_KEY = 'net.netfilter.nf_conntrack_buckets';
export const COUNT_KEY = 'net.netfilter.nf_conntrack_count';
export const ESTABLISHED_KEY = 'net.netfilter.nf_conntrack_tcp_timeout_established';

export const SECONDS_PER_DAY = 86_400;

/**
 * kube-proxy's nf_conntrack_tcp_timeout_established (1 day): the longest value the product
 * calls reasonable; above it, entries of vanished peers hold slots for days.
 */
export const KUBE_PROXY_ESTABLISHED_TIMEOUT = SECONDS_PER_DAY;

/** The shorter established timeout many ops guides use (2 h, Linux's default tcp_keepalive_time). */
export const OPS_GUIDE_ESTABLISHED_TIMEOUT = 7_200;

/** kube-proxy sizes max as max(KUBE_PROXY_MAX_PER_CPU × CPUs, KUBE_PROXY_MIN_MAX). */
export const KUBE_PROXY_MAX_PER_CPU = 32_768;
export const KUBE_PROXY_MIN_MAX = 131_072;

/**
 * Average hash-chain length of a full table (each entry hashed twice) above which lookups slow
 * down and inserts near the kernel's refusal at MAX_CHAIN_LENGTH (sizing.ts).
 */
export const LONG_CHAIN_AVERAGE = 16;
