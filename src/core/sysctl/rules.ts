/**
 * The lint rules' stable codes and metadata. docs/rules.md documents each code with an
 * example and its fix (test/unit/sysctl/rulesDoc.test.ts keeps the two in step).
 */
import type { DocRef, Severity } from '../types';

export interface RuleMeta {
  readonly code: string;
  /** Default severity; some rules raise or lower it with the evidence (stated in the doc). */
  readonly severity: Severity;
  readonly title: string;
}

const rules = [
  { code: 'invalid-syntax', severity: 'error', title: 'Line is not a comment, `key = value` or `-key`' },
  { code: 'value-too-long', severity: 'error', title: 'Value longer than 4096 characters' },
  { code: 'empty-value', severity: 'warning', title: 'Key set to an empty value' },
  { code: 'inline-comment', severity: 'warning', title: 'Text after the value looks like a comment; sysctl files have no inline comments' },
  { code: 'not-an-integer', severity: 'error', title: 'Integer key with a value the kernel cannot parse' },
  { code: 'octal-value', severity: 'warning', title: 'Leading zero: the kernel reads the number as octal' },
  { code: 'out-of-range', severity: 'error', title: 'Value outside the range the kernel accepts' },
  { code: 'timeout-not-portable', severity: 'warning', title: 'Timeout too large for kernels built with HZ=1000' },
  { code: 'max-unlimited', severity: 'warning', title: 'nf_conntrack_max = 0 means no limit' },
  { code: 'unknown-key', severity: 'warning', title: 'Key does not exist' },
  { code: 'removed-key', severity: 'warning', title: 'Key removed from the kernel, moved elsewhere, or never in mainline Linux' },
  { code: 'tcp-tw-recycle', severity: 'warning', title: 'tcp_tw_recycle = 1 drops connections from clients behind NAT' },
  { code: 'legacy-key', severity: 'error', title: 'Removed ip_conntrack name' },
  { code: 'key-alias', severity: 'info', title: 'net.nf_conntrack_max exists only in the initial network namespace' },
  { code: 'read-only-key', severity: 'error', title: 'Key is read-only' },
  { code: 'duplicate-key', severity: 'warning', title: 'Key set again later in the same file' },
  { code: 'overridden', severity: 'warning', title: 'Another file sets this key and wins' },
  { code: 'file-not-loaded', severity: 'warning', title: 'A boot-time loader does not read this file' },
  { code: 'file-unreadable', severity: 'warning', title: 'Not a file whose settings can be read' },
  { code: 'established-timeout-long', severity: 'warning', title: 'Established TCP entries live for days' },
  { code: 'timeout-too-short', severity: 'warning', title: 'Timeout so short it cuts idle connections' },
  { code: 'max-below-default', severity: 'warning', title: 'nf_conntrack_max below the kernel default' },
  { code: 'max-exceeds-memory', severity: 'warning', title: 'A full table would need more memory than the budget' },
  { code: 'hash-chains-long', severity: 'warning', title: 'Too few hash buckets for nf_conntrack_max' },
  { code: 'tcp-loose-off', severity: 'warning', title: 'nf_conntrack_tcp_loose = 0 breaks pickup of existing connections' },
  { code: 'checksum-off', severity: 'warning', title: 'nf_conntrack_checksum = 0 tracks packets with bad checksums' },
  { code: 'buckets-via-sysctl', severity: 'warning', title: 'Hash size set through sysctl instead of modprobe.d' },
  { code: 'global-key-in-netns', severity: 'warning', title: 'Global key cannot be set from this network namespace' },
  { code: 'module-not-loaded-at-boot', severity: 'warning', title: 'net.netfilter keys are applied before nf_conntrack is loaded' },
  { code: 'drift', severity: 'warning', title: 'Live value differs from the value the files set' },
  { code: 'pages-not-bytes', severity: 'warning', title: 'Memory limit counted in pages given what looks like bytes' },
  { code: 'unrendered-template', severity: 'info', title: 'Unrendered template: render it first' },
] as const satisfies readonly RuleMeta[];

export type RuleCode = (typeof rules)[number]['code'];

export const RULES: ReadonlyMap<RuleCode, RuleMeta> = new Map(rules.map((r) => [r.code, r]));

export function ruleDoc(code: RuleCode): DocRef {
  return { page: 'rules.md', anchor: code };
}
