/**
 * What `sysctl -a` / `sysctl KEY…` (procps) prints, and an `ls` of a /proc/sys directory.
 *
 * Values are kept as raw strings: the meaning of a value belongs to the sysctl catalog, not to
 * this parser. Error lines are collected with the key they name, so "could not read" is never
 * confused with "absent". Formats seen (procps-ng 4.0.2 in samples/, older forms from procps 3.3):
 *   sysctl: permission denied on key 'kernel.cad_pid'
 *   sysctl: cannot stat /proc/sys/net/nf_conntrack_max: No such file or directory
 *   sysctl: reading key "net.ipv6.conf.all.stable_secret"
 *   sysctl: setting key "net.netfilter.nf_conntrack_max": Invalid argument
 *   sysctl: "net.foo" is an unknown key
 */
import { z } from 'zod';
import { procPathToKey } from '../sysctl/keys';
import { type Parsed, failure, splitLines, validated } from './result';

export const sysctlErrorKinds = ['permission-denied', 'cannot-stat', 'reading', 'setting', 'unknown-key', 'other'] as const;

export const sysctlReadErrorSchema = z.object({
  kind: z.enum(sysctlErrorKinds),
  /** Dotted key, when the line names one (a /proc/sys path is converted). */
  key: z.string().optional(),
  /** The reason after the key, e.g. `No such file or directory`. */
  reason: z.string().optional(),
  line: z.string(),
});
export type SysctlReadError = z.infer<typeof sysctlReadErrorSchema>;

export const sysctlOutputSchema = z.object({
  /** key (dotted, as printed) → raw value. A key printed on several lines (multi-line value) is joined with '\n'. */
  values: z.map(z.string().min(1), z.string()),
  errors: z.array(sysctlReadErrorSchema),
  /** Lines that are neither `key = value` nor a `sysctl:` message (kept for the report). */
  unrecognized: z.array(z.string()),
});
export type SysctlOutput = z.infer<typeof sysctlOutputSchema>;

/** `/proc/sys/net/ipv4/conf/eth0.100/rp_filter` → `net.ipv4.conf.eth0/100.rp_filter` (procps's dotted form). */
export function procSysPathToKey(path: string): string | undefined {
  return procPathToKey(path);
}

const valueLineRe = /^([^\s=]+) =(?: (.*))?$/;
const quotedRe = /(['"])([^'"]+)\1/;

function classify(message: string): SysctlReadError['kind'] {
  if (/^permission denied on key/i.test(message)) return 'permission-denied';
  if (/^cannot stat /i.test(message)) return 'cannot-stat';
  if (/^reading key/i.test(message) || /^error reading key/i.test(message)) return 'reading';
  if (/^setting key/i.test(message)) return 'setting';
  if (/is an unknown key/i.test(message)) return 'unknown-key';
  return 'other';
}

function parseErrorLine(line: string, message: string): SysctlReadError {
  const kind = classify(message);
  let key: string | undefined;
  let reason: string | undefined;
  const quoted = quotedRe.exec(message);
  if (quoted !== null) {
    const named = quoted[2] ?? '';
    key = named.startsWith('/proc/sys/') ? procSysPathToKey(named) : named;
    const after = message.slice((quoted.index ?? 0) + quoted[0].length).replace(/^[:,]\s*/, '').trim();
    if (after !== '') reason = after;
  } else {
    const path = /(\/proc\/sys\/\S+?):?(?:\s+(.*))?$/.exec(message);
    if (path !== null) {
      key = procSysPathToKey(path[1] ?? '');
      if (path[2] !== undefined && path[2] !== '') reason = path[2].trim();
    }
  }
  return {
    kind,
    ...(key === undefined ? {} : { key }),
    ...(reason === undefined ? {} : { reason }),
    line,
  };
}

/** `sysctl -a`, `sysctl KEY…` (stdout and/or stderr; they may be concatenated). */
export function parseSysctlOutput(text: string): Parsed<SysctlOutput> {
  const values = new Map<string, string>();
  const errors: SysctlReadError[] = [];
  const unrecognized: string[] = [];
  for (const line of splitLines(text)) {
    if (line.trim() === '') continue;
    const err = /^sysctl:\s*(.*)$/.exec(line.trim());
    if (err !== null) {
      errors.push(parseErrorLine(line, err[1] ?? ''));
      continue;
    }
    const m = valueLineRe.exec(line);
    if (m === null) {
      unrecognized.push(line);
      continue;
    }
    const key = m[1] ?? '';
    const value = m[2] ?? '';
    const previous = values.get(key);
    values.set(key, previous === undefined ? value : `${previous}\n${value}`);
  }
  if (values.size === 0 && errors.length === 0) {
    return unrecognized.length === 0 ? failure('empty', 'sysctl printed nothing') : failure('malformed', 'no `key = value` line', unrecognized[0]);
  }
  const warnings = unrecognized.length > 0 ? [`${unrecognized.length} unrecognized line(s) ignored`] : [];
  return validated(sysctlOutputSchema, { values, errors, unrecognized }, warnings);
}

export const sysctlDirectoryListingSchema = z.object({
  /** Dotted keys, e.g. `net.netfilter.nf_conntrack_max`. */
  keys: z.set(z.string()),
  /** Names listed with a trailing `/` (`ls -p`): sub-directories such as `nf_log`. Plain `ls` cannot tell them apart. */
  directories: z.set(z.string()),
});
export type SysctlDirectoryListing = z.infer<typeof sysctlDirectoryListingSchema>;

/**
 * `ls /proc/sys/net/netfilter` (one name per line, or several per line separated by blanks)
 * → the dotted keys under `prefix`. An empty listing is valid (an empty key set).
 */
export function parseSysctlDirectoryListing(text: string, prefix = 'net.netfilter'): Parsed<SysctlDirectoryListing> {
  const keys = new Set<string>();
  const directories = new Set<string>();
  for (const name of text.split(/\s+/)) {
    if (name === '') continue;
    if (name.endsWith(':') || name.includes('=')) return failure('malformed', `not a file name: '${name}'`, name);
    if (name.endsWith('/')) directories.add(`${prefix}.${name.slice(0, -1)}`);
    else keys.add(`${prefix}.${name.replaceAll('.', '/')}`);
  }
  return validated(sysctlDirectoryListingSchema, { keys, directories });
}
