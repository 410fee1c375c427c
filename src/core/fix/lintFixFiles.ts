/**
 * What a lint quick fix's `files` (LintFix.files: e.g. /etc/modules-load.d/nf_conntrack.conf)
 * make of a file on the same host, in one place: the editor applies it as a workspace edit, the
 * Ansible export writes the result.
 */

/**
 * The file's content after the quick fix: `content` when the file does not exist, the file with
 * `content` appended (on a line of its own) when it does not contain it yet, else undefined
 * (nothing to change).
 */
export function lintFixFileContent(existing: string | undefined, content: string): string | undefined {
  if (existing === undefined) return content;
  if (existing.includes(content.trim())) return undefined;
  return `${existing}${existing.endsWith('\n') || existing === '' ? '' : '\n'}${content}`;
}
