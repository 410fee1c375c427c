/**
 * The two module files a persisted conntrack fix may need (see sysctl-files.md, "boot pitfall"):
 *  - /etc/modules-load.d/nf_conntrack.conf: load nf_conntrack at boot, before systemd-sysctl
 *    applies net.netfilter.* keys (which do not exist until the module is loaded);
 *  - /etc/modprobe.d/nf_conntrack.conf: `options nf_conntrack hashsize=N`, the persistent hash
 *    size (applied when the module loads; an explicit hashsize makes the default max 8 × N).
 */
import type { FileEdit } from './model';
import { validateInteger } from './validate';

export const MODULES_LOAD_PATH = '/etc/modules-load.d/nf_conntrack.conf';
export const MODPROBE_PATH = '/etc/modprobe.d/nf_conntrack.conf';

/** Module names: modprobe treats `-` and `_` alike. */
const NF_CONNTRACK = /^nf[-_]conntrack$/;

function eolOf(content: string): '\n' | '\r\n' {
  return content.includes('\r\n') ? '\r\n' : '\n';
}

function splitLines(content: string): { lines: string[]; eol: '\n' | '\r\n'; finalNewline: boolean } {
  const eol = eolOf(content);
  const finalNewline = content === '' || content.endsWith('\n');
  const lines = content === '' ? [] : content.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (content.endsWith('\n')) lines.pop();
  return { lines, eol, finalNewline };
}

function join(lines: readonly string[], eol: string, finalNewline: boolean): string {
  const body = lines.join(eol);
  return lines.length > 0 && finalNewline ? body + eol : body;
}

/** True when a modules-load.d file content loads nf_conntrack (comments are `#` or `;`). */
export function loadsNfConntrack(content: string | undefined): boolean {
  if (content === undefined) return false;
  return splitLines(content).lines.some((l) => NF_CONNTRACK.test(l.trim()));
}

/** Content for /etc/modules-load.d/nf_conntrack.conf that loads nf_conntrack (undefined: already does). */
export function modulesLoadContent(existing: string | undefined): string | undefined {
  if (loadsNfConntrack(existing)) return undefined;
  if (existing === undefined) {
    return '# Load conntrack at boot so that net.netfilter.* sysctl settings apply (written by Conntrack Doctor).\nnf_conntrack\n';
  }
  const { lines, eol, finalNewline } = splitLines(existing);
  return join([...lines, 'nf_conntrack'], eol, finalNewline || lines.length === 0);
}

/** The FileEdit that makes nf_conntrack load at boot, or undefined when the file already does. */
export function modulesLoadEdit(existing: string | undefined): FileEdit | undefined {
  const after = modulesLoadContent(existing);
  if (after === undefined) return undefined;
  return {
    path: MODULES_LOAD_PATH,
    description: `Load nf_conntrack at boot (${MODULES_LOAD_PATH}), so that systemd-sysctl finds the net.netfilter.* keys`,
    before: existing,
    after,
    ...(existing === undefined ? { createMode: 0o644 } : {}),
    winsAfter: [],
  };
}

const OPTIONS_LINE = /^(\s*options\s+)(nf[-_]conntrack)(?=\s|$)(.*)$/;
const HASHSIZE_TOKEN = /(^|\s)hashsize=\S*/g;

/**
 * Content of a modprobe.d file with `hashsize=N` for nf_conntrack: an existing `hashsize=`
 * (on an `options nf_conntrack` line or its `\` continuation lines) is replaced, other options
 * stay; else it is added to the last `options nf_conntrack` line; else a line is appended.
 */
export function setModprobeHashsize(existing: string | undefined, hashsize: number): string {
  const n = validateInteger('hashsize', hashsize, { min: 1, max: 2147483647 });
  if (existing === undefined) {
    return `# Conntrack hash table size, applied when nf_conntrack loads (written by Conntrack Doctor).\n# An explicit hashsize makes the default nf_conntrack_max 8 × hashsize: persist nf_conntrack_max too.\noptions nf_conntrack hashsize=${n}\n`;
  }
  const { lines, eol, finalNewline } = splitLines(existing);
  const out = [...lines];
  let replaced = false;
  let lastOptions = -1;
  for (let i = 0; i < out.length; i++) {
    const line = out[i] ?? '';
    const m = OPTIONS_LINE.exec(line);
    if (!m) continue;
    lastOptions = i;
    out[i] = `${m[1] ?? ''}${m[2] ?? ''}${(m[3] ?? '').replace(HASHSIZE_TOKEN, (_t, sp: string) => {
      replaced = true;
      return `${sp}hashsize=${n}`;
    })}`;
    // Continuation lines belong to the same options statement.
    let j = i;
    while ((out[j] ?? '').trimEnd().endsWith('\\') && j + 1 < out.length) {
      j++;
      out[j] = (out[j] ?? '').replace(HASHSIZE_TOKEN, (_t, sp: string) => {
        replaced = true;
        return `${sp}hashsize=${n}`;
      });
    }
    i = j;
  }
  if (!replaced) {
    const last = lastOptions === -1 ? undefined : out[lastOptions];
    if (last !== undefined && !last.trimEnd().endsWith('\\')) out[lastOptions] = `${last.trimEnd()} hashsize=${n}`;
    else {
      // A trailing `\` would swallow the appended line into the previous statement.
      if ((out[out.length - 1] ?? '').trimEnd().endsWith('\\')) out.push('');
      out.push(`options nf_conntrack hashsize=${n}`);
    }
  }
  return join(out, eol, finalNewline || lines.length === 0);
}
