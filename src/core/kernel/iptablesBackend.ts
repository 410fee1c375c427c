/**
 * Which iptables backend a host uses (see shared/reference/iptables-nft.md):
 * `iptables -V`, `update-alternatives --display iptables` (Debian) / `alternatives --display`
 * (RHEL), and `/proc/net/ip_tables_names` (non-empty = legacy tables exist in this netns).
 */
import { z } from 'zod';
import { type Parsed, failure, splitLines, validated } from './result';

export const iptablesBackendSchema = z.enum(['nf_tables', 'legacy']);
export type IptablesBackend = z.infer<typeof iptablesBackendSchema>;

export const iptablesVersionSchema = z.object({
  /** `iptables`, `ip6tables`, `iptables-nft`, … as printed. */
  tool: z.string(),
  version: z.string(),
  /** From the parenthesised suffix; absent on iptables < 1.8, which only had the legacy backend. */
  backend: iptablesBackendSchema.optional(),
});
export type IptablesVersion = z.infer<typeof iptablesVersionSchema>;

const versionRe = /^(\S+) v(\d[\w.~+-]*)(?:\s+\(([^)]+)\))?\s*$/;

/** `iptables v1.8.9 (nf_tables)` / `iptables v1.8.9 (legacy)` / `iptables v1.6.1`. */
export function parseIptablesVersion(text: string): Parsed<IptablesVersion> {
  const line = splitLines(text).map((l) => l.trim()).find((l) => l !== '');
  if (line === undefined) return failure('empty', 'iptables -V printed nothing');
  const m = versionRe.exec(line);
  if (m === null) return failure('malformed', 'not an `iptables vX.Y.Z (backend)` line', line);
  const suffix = m[3];
  let backend: IptablesBackend | undefined;
  if (suffix === 'nf_tables') backend = 'nf_tables';
  else if (suffix === 'legacy') backend = 'legacy';
  const warnings = suffix !== undefined && backend === undefined ? [`unknown backend '${suffix}'`] : [];
  return validated(iptablesVersionSchema, { tool: m[1], version: m[2], ...(backend === undefined ? {} : { backend }) }, warnings);
}

/** Backend implied by the binary an alternatives link points to. */
export function backendFromPath(path: string): IptablesBackend | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (/-nft$|nft-multi$/.test(base)) return 'nf_tables';
  if (/-legacy$|legacy-multi$/.test(base)) return 'legacy';
  return undefined;
}

export const alternativesDisplaySchema = z.object({
  name: z.string(),
  mode: z.enum(['auto', 'manual']),
  /** Where the link points now; absent when the link is broken/absent. */
  current: z.string().optional(),
  /** The highest-priority alternative. */
  best: z.string().optional(),
  /** Backend of `current`. */
  backend: iptablesBackendSchema.optional(),
  alternatives: z.array(z.object({ path: z.string(), priority: z.number().int() })),
});
export type AlternativesDisplay = z.infer<typeof alternativesDisplaySchema>;

/** `update-alternatives --display iptables` (Debian) or `alternatives --display iptables` (RHEL). */
export function parseAlternativesDisplay(text: string): Parsed<AlternativesDisplay> {
  const lines = splitLines(text);
  if (lines.every((l) => l.trim() === '')) return failure('empty', 'update-alternatives printed nothing');
  const errorLine = lines.find((l) => /^(update-)?alternatives: error:/.test(l.trim()));
  if (errorLine !== undefined) return failure('tool-error', errorLine.trim().replace(/^(update-)?alternatives: error:\s*/, ''), errorLine);
  let name: string | undefined;
  let mode: 'auto' | 'manual' | undefined;
  let current: string | undefined;
  let best: string | undefined;
  const alternatives: { path: string; priority: number }[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\S+) - (auto|manual) mode$/.exec(line)) !== null || (m = /^(\S+) - status is (auto|manual)\.?$/.exec(line)) !== null) {
      name = m[1];
      mode = m[2] === 'manual' ? 'manual' : 'auto';
    } else if ((m = /^link currently points to (\S+)$/.exec(line)) !== null) {
      current = m[1];
    } else if ((m = /^link best version is (\S+)$/.exec(line)) !== null || (m = /^Current [`']best' version is (\S+?)\.?$/.exec(line)) !== null) {
      best = m[1];
    } else if ((m = /^(\/\S+) - priority (-?\d+)$/.exec(line)) !== null) {
      alternatives.push({ path: m[1] ?? '', priority: Number(m[2]) });
    }
  }
  if (name === undefined || mode === undefined) return failure('malformed', 'no `NAME - auto|manual mode` line', lines.find((l) => l.trim() !== ''));
  best ??= alternatives.reduce<{ path: string; priority: number } | undefined>((a, b) => (a === undefined || b.priority > a.priority ? b : a), undefined)?.path;
  const backend = current === undefined ? undefined : backendFromPath(current);
  return validated(alternativesDisplaySchema, {
    name,
    mode,
    ...(current === undefined ? {} : { current }),
    ...(best === undefined ? {} : { best }),
    ...(backend === undefined ? {} : { backend }),
    alternatives,
  });
}

/** `/proc/net/ip_tables_names` (or ip6_tables_names) → table names; empty = no legacy tables in this netns. */
export function parseIpTablesNames(text: string): Parsed<string[]> {
  const names = splitLines(text).map((l) => l.trim()).filter((l) => l !== '');
  const bad = names.find((n) => !/^[a-z][a-z0-9_-]*$/i.test(n));
  if (bad !== undefined) return failure('malformed', 'not a table name', bad);
  return validated(z.array(z.string()), names);
}
