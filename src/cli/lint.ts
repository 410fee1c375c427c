/**
 * `conntrack-doctor lint [FILES…] [--root DIR] [--loader systemd|procps|both] [--format text|json]`
 * Exit 0: clean (info only); 1: findings at warning or above; 2: usage or I/O error.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import { lintFiles, type LintFinding } from '../core/sysctl/lint';
import { LOADERS, isLoaderPath, type Loader, type SysctlFile } from '../core/sysctl/loaders';
import type { BootFacts } from '../core/sysctl/boot';
import { severityRank } from '../core/types';
import { InputError, absolute, collectBootFacts, collectSysctlFiles, diskPathOf, readTextFile } from './files';
import type { CliIO } from './io';
import { errorMessage } from '../core/format';

export const LINT_USAGE = `usage: conntrack-doctor lint [FILES...] [--root DIR] [--loader systemd|procps|both] [--format text|json]

Lints sysctl.conf / sysctl.d files for conntrack problems.
  FILES            files to lint; with --root, host paths (/etc/sysctl.conf) or paths inside DIR
  --root DIR       treat DIR as a host's filesystem root: every sysctl file the loaders read
                   (etc/sysctl.conf, etc/sysctl.d, run/..., usr/lib/sysctl.d, ...) is read, so
                   precedence and boot persistence (etc/modules-load.d, etc/modprobe.d) are judged
  --loader L       which boot loader's precedence to judge: systemd, procps or both (default)
  --format F       text (default; file:line:col: severity code message) or json
Exit status: 0 clean, 1 findings at warning or above, 2 usage or I/O error.`;

/** Text output prints at most this many findings (JSON has them all). */
const MAX_PRINTED = 1000;

/** JSON shape of one finding (documented in docs/cli.md). Lines and columns are 1-based. */
export interface JsonFinding {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: string;
  code: string;
  message: string;
  unnecessary: boolean;
  doc: string;
  related: { file: string; line: number; message: string }[];
  fixes: {
    title: string;
    preferred: boolean;
    edits: { line: number; column: number; endLine: number; endColumn: number; newText: string }[];
    files: { path: string; content: string }[];
  }[];
}

export async function runLint(argv: readonly string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        root: { type: 'string' },
        loader: { type: 'string', default: 'both' },
        format: { type: 'string', default: 'text' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr(`conntrack-doctor lint: ${errorMessage(err)}\n${LINT_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(`${LINT_USAGE}\n`);
    return 0;
  }
  const loaderOpt = values.loader;
  if (loaderOpt !== 'systemd' && loaderOpt !== 'procps' && loaderOpt !== 'both') {
    io.stderr(`conntrack-doctor lint: --loader must be systemd, procps or both (got "${loaderOpt}")\n`);
    return 2;
  }
  const format = values.format;
  if (format !== 'text' && format !== 'json') {
    io.stderr(`conntrack-doctor lint: --format must be text or json (got "${format}")\n`);
    return 2;
  }
  if (positionals.length === 0 && values.root === undefined) {
    io.stderr(`conntrack-doctor lint: give FILES or --root DIR\n${LINT_USAGE}\n`);
    return 2;
  }
  const loaders: readonly Loader[] = loaderOpt === 'both' ? LOADERS : [loaderOpt];

  const files: SysctlFile[] = [];
  const displayPath = new Map<string, string>();
  let targets: string[] | undefined;
  let boot: BootFacts | undefined;
  const errors: string[] = [];
  try {
    if (values.root !== undefined) {
      const root = absolute(values.root);
      const info = await stat(root).catch(() => undefined);
      if (!info?.isDirectory()) throw new InputError(`${values.root}: --root must be a directory`);
      files.push(...(await collectSysctlFiles(root)));
      boot = await collectBootFacts(root);
      for (const f of files) displayPath.set(f.path, relativeDisplay(diskPathOf(root, f.path)));
      if (positionals.length > 0) {
        targets = [];
        for (const p of positionals) {
          const abs = absolute(p);
          const hostPath = abs.startsWith(`${root}/`) ? abs.slice(root.length) : p.startsWith('/') ? p : `/${p}`;
          if (!files.some((f) => f.path === hostPath)) {
            errors.push(`${p}: not a sysctl file the loaders read under ${values.root}`);
            continue;
          }
          targets.push(hostPath);
        }
      }
    } else {
      for (const p of positionals) {
        try {
          const content = await readTextFile(p);
          const abs = absolute(p);
          // An absolute system path keeps its meaning for precedence (e.g. /etc/sysctl.d/*.conf).
          const hostPath = isLoaderPath(abs) && p.startsWith('/') ? abs : p;
          files.push({ path: hostPath, content });
          displayPath.set(hostPath, p);
        } catch (err) {
          if (err instanceof InputError) errors.push(err.message);
          else throw err;
        }
      }
    }
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr(`conntrack-doctor lint: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  const findings = lintFiles(files, { loaders, ...(boot ? { boot } : {}), ...(targets ? { targets } : {}) });
  const show = (hostPath: string): string => displayPath.get(hostPath) ?? hostPath;
  if (format === 'json') {
    io.stdout(`${JSON.stringify(findings.map((f) => toJson(f, show)), null, 2)}\n`);
  } else {
    // Bounded output: the first MAX_PRINTED findings, then how many more (the counts below are complete).
    for (const f of findings.slice(0, MAX_PRINTED)) {
      io.stdout(`${show(f.path)}:${f.range.startLine + 1}:${f.range.startCol + 1}: ${f.severity} ${f.code} ${f.message}\n`);
    }
    if (findings.length > MAX_PRINTED) io.stdout(`… ${findings.length - MAX_PRINTED} more findings not shown\n`);
    const count = (s: string): number => findings.filter((f) => f.severity === s).length;
    const linted = targets?.length ?? files.length;
    io.stderr(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info in ${linted} file(s)\n`);
  }
  for (const e of errors) io.stderr(`conntrack-doctor lint: ${e}\n`);
  if (errors.length > 0) return 2;
  return findings.some((f) => severityRank[f.severity] >= severityRank.warning) ? 1 : 0;
}

function relativeDisplay(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel.startsWith('..') ? p : rel;
}

function toJson(f: LintFinding, show: (p: string) => string): JsonFinding {
  return {
    file: show(f.path),
    line: f.range.startLine + 1,
    column: f.range.startCol + 1,
    endLine: f.range.endLine + 1,
    endColumn: f.range.endCol + 1,
    severity: f.severity,
    code: f.code,
    message: f.message,
    unnecessary: f.unnecessary,
    doc: `docs/${f.doc.page}#${f.doc.anchor}`,
    related: f.related.map((r) => ({ file: show(r.path), line: r.range.startLine + 1, message: r.message })),
    fixes: f.fixes.map((x) => ({
      title: x.title,
      preferred: x.preferred,
      edits: x.edits.map((e) => ({ line: e.range.startLine + 1, column: e.range.startCol + 1, endLine: e.range.endLine + 1, endColumn: e.range.endCol + 1, newText: e.newText })),
      files: [...(x.files ?? [])],
    })),
  };
}
