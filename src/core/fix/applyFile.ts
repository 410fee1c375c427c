/**
 * "Apply this file on the host" (CodeLens) and "apply this line" (after a quick fix): the
 * runtime half of a sysctl file, as a Fix. The file itself is already saved (through the
 * remote file system's atomic, backed-up writer), so this fix has no file edits: only
 * `sysctl -w` for each conntrack key whose live value differs, a read-back of each, and a
 * rollback to the previous live values.
 *
 * Only keys of the conntrack catalog are applied (validated against their ranges); every other
 * line is reported in the notes, never passed to a shell. Lines the kernel would refuse (an
 * inline comment, a unit suffix, a value out of range) are skipped with the reason: fix the
 * line first.
 */
import type { CommandStep, Fix, Verification } from './model';
import { assignments, parseSysctl } from '../sysctl/syntax';
import { LEGACY_KEYS, canonicalKey, lookupKey } from '../sysctl/catalog';
import { ValidationError, validateHostPath, validateInteger } from './validate';
import { BUCKETS_KEY } from '../facts';
import { errorMessage } from '../format';

export interface ApplyFileInput {
  /** The file's path on the host (for titles and notes). */
  readonly path: string;
  readonly content: string;
  /** Live values on the host (dotted keys), e.g. the snapshot's `sysctl` record. */
  readonly live: Readonly<Record<string, string>>;
  /** false inside a container / network namespace: global keys cannot be written there. */
  readonly initialNetns?: boolean | undefined;
  /** Only the assignment on this 0-based line (the quick-fix flow). */
  readonly line?: number;
  /** false when the file is written by the same change (an exported playbook): no note that it already is. */
  readonly fileAlreadySaved?: boolean;
}

interface Planned {
  readonly key: string;
  readonly value: number;
  readonly current: number;
  readonly line: number;
}

const short = (key: string): string => key.replace(/^net\.netfilter\./, '');

/** Builds the fix; throws ValidationError when nothing in the file (or line) can be applied. */
export function applySysctlFile(input: ApplyFileInput): Fix {
  const path = validateHostPath('path', input.path);
  const notes: string[] = [];
  const skipped: string[] = [];
  // The last assignment of a key in the file is the one the loaders leave in force.
  const chosen = new Map<string, Planned>();
  const lines = assignments(parseSysctl(input.content)).filter((a) => input.line === undefined || a.line === input.line);
  if (input.line !== undefined && lines.length === 0) throw new ValidationError('line', `line ${input.line + 1} of ${path} sets no key`);
  for (const a of lines) {
    const where = `line ${a.line + 1}`;
    if (a.glob) {
      skipped.push(`${where}: ${a.normalizedKey} is a glob; apply it with sysctl --system`);
      continue;
    }
    const legacy = LEGACY_KEYS.get(a.normalizedKey);
    const info = lookupKey(legacy ?? a.normalizedKey);
    if (legacy) {
      skipped.push(`${where}: ${a.normalizedKey} no longer exists (the key today is ${legacy}); fix the line first`);
      continue;
    }
    if (!info) {
      skipped.push(`${where}: ${a.normalizedKey} is not a conntrack key Conntrack Doctor manages${a.normalizedKey.startsWith('net.netfilter.') ? ' (a typo?)' : ''}; not applied`);
      continue;
    }
    const key = canonicalKey(info.key);
    if (info.scope === 'read-only') {
      skipped.push(`${where}: ${key} is read-only`);
      continue;
    }
    if (key === BUCKETS_KEY) {
      skipped.push(`${where}: ${key} is set through the module option hashsize (use "Set buckets")`);
      continue;
    }
    if (info.scope === 'init' && input.initialNetns === false) {
      skipped.push(`${where}: ${key} is global: only the initial network namespace may write it, and this host is not one`);
      continue;
    }
    const liveText = input.live[key];
    if (liveText === undefined || !/^\d+$/.test(liveText.trim())) {
      skipped.push(`${where}: ${key} does not exist on this host (module not loaded, or an older kernel)`);
      continue;
    }
    let value: number;
    try {
      value = validateInteger(key, a.value.text.trim(), { min: info.min, max: info.max });
    } catch (err) {
      const earlier = chosen.get(key);
      // The loaders disagree on such a file (systemd-sysctl writes only the last, refused value;
      // procps writes the earlier one first): apply neither until the line is fixed.
      if (earlier) chosen.delete(key);
      skipped.push(`${where}: "${a.value.text.trim()}" is not a value the kernel accepts for ${key} (${errorMessage(err)}); fix the line first${earlier ? ` (line ${earlier.line + 1} is not applied either: this later line is meant to replace it)` : ''}`);
      continue;
    }
    chosen.set(key, { key, value, current: Number(liveText.trim()), line: a.line });
  }
  const planned = [...chosen.values()];
  const changes = planned.filter((p) => p.value !== p.current);
  for (const p of planned) if (p.value === p.current) notes.push(`${p.key} is already ${p.value} on the host.`);
  notes.push(...skipped);
  if (changes.length === 0) {
    throw new ValidationError(input.line !== undefined ? 'line' : 'file', `nothing to apply from ${input.line !== undefined ? `line ${input.line + 1} of ` : ''}${path}: ${notes.join(' ') || 'it sets no conntrack key'}`);
  }
  const runtime: CommandStep[] = changes.map((p) => ({ argv: ['sysctl', '-w', `${p.key}=${p.value}`], description: `Set ${short(p.key)} to ${p.value} now (${path} line ${p.line + 1}; was ${p.current})`, privileged: true }));
  const verify: Verification[] = changes.map((p) => ({
    description: `Read back ${p.key} (expect ${p.value}; sysctl exits 0 even when a network namespace refuses the write)`,
    argv: ['sysctl', '-n', p.key],
    privileged: false,
    expect: { kind: 'equals', value: String(p.value) },
  }));
  const rollback: CommandStep[] = changes.map((p) => ({ argv: ['sysctl', '-w', `${p.key}=${p.current}`], description: `Restore ${short(p.key)} to ${p.current}`, privileged: true }));
  if (input.fileAlreadySaved !== false) notes.push(`${path} itself is already saved on the host (with a backup); this changes only the running kernel. Whether the file wins at boot is shown by its diagnostics ("overridden", "lost at boot").`);
  if (changes.some((p) => lookupKey(p.key)?.unit === 'seconds')) notes.push('A new timeout applies to an existing entry only when its next packet arrives.');
  const only = changes.length === 1 ? changes[0] : undefined;
  return {
    id: 'apply-file',
    title: only ? `Set ${short(only.key)} to ${only.value}` : `Apply ${changes.length} conntrack settings of ${path}`,
    summary: only
      ? `Set ${only.key} from ${only.current} to ${only.value} in the running kernel, as ${path} line ${only.line + 1} says.`
      : `Set ${changes.map((p) => `${short(p.key)} ${p.current} → ${p.value}`).join(', ')} in the running kernel, as ${path} says.`,
    destructive: false,
    needsInitialNetns: changes.some((p) => lookupKey(p.key)?.scope === 'init'),
    fileEdits: [],
    runtime,
    verify,
    rollback,
    notes,
  };
}

/**
 * 0-based lines of `after` whose assignment (key and value) is not in `before`: the lines a
 * quick fix created or changed, i.e. what "apply on the host" should offer afterwards.
 */
export function changedAssignmentLines(before: string, after: string): number[] {
  const seen = new Set(assignments(parseSysctl(before)).map((a) => `${a.normalizedKey}=${a.value.text.trim()}`));
  return assignments(parseSysctl(after)).filter((a) => !seen.has(`${a.normalizedKey}=${a.value.text.trim()}`)).map((a) => a.line);
}

/**
 * The file as the running kernel has it: every line that sets a conntrack key the host has gets
 * the live value instead of the file's (everything else unchanged), for a side-by-side diff
 * ("Compare with live"). Lines the kernel would refuse keep their text.
 */
export function liveVersionOf(content: string, live: Readonly<Record<string, string>>): string {
  const doc = parseSysctl(content);
  const out = content.split(doc.eol);
  for (const a of assignments(doc)) {
    if (a.glob) continue;
    const key = canonicalKey(LEGACY_KEYS.get(a.normalizedKey) ?? a.normalizedKey);
    const value = live[key];
    if (value === undefined || !lookupKey(key)) continue;
    const text = out[a.line];
    if (text === undefined || value.trim() === a.value.text.trim()) continue;
    out[a.line] = `${text.slice(0, a.value.start)}${value.trim()}${text.slice(a.value.end)}`;
  }
  return out.join(doc.eol);
}
