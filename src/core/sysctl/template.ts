/**
 * Unrendered configuration-management templates. Real sysctl files in repositories are often
 * templates (Ansible/Salt Jinja `{{ }}` `{% %}`, Puppet/Chef ERB `<% %>`, Helm/Go `{{ }}`,
 * Terraform `${ }` `%{ }`). Linted as they are, every templated line is "invalid syntax" and
 * the lines of mutually exclusive branches look like duplicates. The linter says once that the
 * file must be rendered first, skips templated lines, and does not call lines inside a
 * conditional block duplicates.
 */

export type TemplateEngine = 'Jinja' | 'ERB' | 'Go template' | 'Terraform';

export interface TemplateInfo {
  readonly engine: TemplateEngine;
  /** First template marker (0-based line and column). */
  readonly line: number;
  readonly col: number;
  /** Lines holding template code: not checked as sysctl lines. */
  readonly templated: ReadonlySet<number>;
  /** Lines inside an if/for/each/range block (possibly exclusive with others). */
  readonly conditional: ReadonlySet<number>;
}

interface Syntax {
  readonly engine: TemplateEngine;
  readonly marker: RegExp;
  readonly open: RegExp;
  readonly close: RegExp;
}

const SYNTAXES: readonly Syntax[] = [
  { engine: 'Jinja', marker: /\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}/, open: /\{%-?\s*(?:if|for|macro|block|with|filter|call)\b/, close: /\{%-?\s*end(?:if|for|macro|block|with|filter|call)\b/ },
  { engine: 'ERB', marker: /<%.*?%>/, open: /<%-?(?!=)[^%]*\b(?:if|unless|each|do|case|while)\b/, close: /<%-?\s*end\b/ },
  { engine: 'Terraform', marker: /\$\{[^}]*\}|%\{[^}]*\}/, open: /%\{~?\s*(?:if|for)\b/, close: /%\{~?\s*end(?:if|for)\b/ },
];
const GO: Syntax = { engine: 'Go template', marker: /\{\{.*?\}\}/, open: /\{\{-?\s*(?:if|range|with|define|block)\b/, close: /\{\{-?\s*end\s*-?\}\}/ };

export function detectTemplate(lines: readonly string[]): TemplateInfo | undefined {
  let syntax: Syntax | undefined;
  let first: { line: number; col: number } | undefined;
  for (let n = 0; n < lines.length && !syntax; n++) {
    const text = lines[n] ?? '';
    if (!/[{<$%]/.test(text)) continue;
    for (const s of SYNTAXES) {
      const m = s.marker.exec(text);
      if (m) {
        syntax = s;
        first = { line: n, col: m.index };
        break;
      }
    }
  }
  if (!syntax || !first) return undefined;
  // `{{ if … }}` / `{{ range … }}` / `{{ end }}` are Go templates (Helm), not Jinja.
  if (syntax.engine === 'Jinja' && lines.some((l) => GO.open.test(l) || GO.close.test(l))) syntax = GO;
  const templated = new Set<number>();
  const conditional = new Set<number>();
  let depth = 0;
  lines.forEach((text, n) => {
    if (syntax.marker.test(text)) templated.add(n);
    if (syntax.close.test(text)) depth = Math.max(0, depth - 1);
    if (depth > 0) conditional.add(n);
    if (syntax.open.test(text)) depth++;
  });
  return { engine: syntax.engine, line: first.line, col: first.col, templated, conditional };
}
