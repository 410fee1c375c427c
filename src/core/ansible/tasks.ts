/**
 * The building blocks of the exported playbooks (core/ansible/playbook.ts explains what is derived
 * from what): the files a playbook manages, the names of registered variables, the tasks of one
 * runtime step, one verification, one file, and the head of a play.
 */
import { createHash } from 'node:crypto';
import type { CommandStep, Expectation, Fix, Verification, WinningLine } from '../fix/model';
import { renderCommand } from '../fix/quote';
import { HANDLE_PLACEHOLDER, sysctlWriteOf } from '../fix/steps';
import { ValidationError, validateHostPath } from '../fix/validate';
import { isLoaderPath } from '../sysctl/loaders';
import { wrap } from '../host/report';
import { Commented, Flow, Unsafe, type YamlMapping, type YamlNode, type YamlScalar } from './yaml';

/** Where the playbooks keep their per-host records (beside apply's records in /var/lib/conntrack-doctor). */
export const ANSIBLE_STATE_ROOT = '/var/lib/conntrack-doctor/ansible';
export const ANSIBLE_BACKUP_ROOT = '/var/backups/conntrack-doctor/ansible';

// ---------------------------------------------------------------------------------------------
// What the playbook manages

export interface ChangedFile {
  readonly kind: 'edit';
  readonly n: number;
  readonly path: string;
  /** What the first fix found (undefined: the file did not exist). */
  readonly before: string | undefined;
  /** What the last fix leaves. */
  after: string;
  readonly createMode: number | undefined;
  /** Indexes of the fixes that change it; the first one writes it. */
  readonly fixes: number[];
  readonly descriptions: string[];
  winsAfter: readonly WinningLine[];
  /** argv checking the file (a verification with exit-zero naming the path). */
  validate?: readonly string[];
}

export interface CapturedFile {
  readonly kind: 'captured';
  readonly n: number;
  readonly path: string;
  readonly fix: number;
  readonly step: number;
}

export type ManagedFile = ChangedFile | CapturedFile;

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function mode(m: number): string {
  return m.toString(8).padStart(4, '0');
}

export function managedFiles(fixes: readonly Fix[]): ManagedFile[] {
  const out: ManagedFile[] = [];
  const byPath = new Map<string, ManagedFile>();
  fixes.forEach((fix, i) => {
    for (const e of fix.fileEdits) {
      if (e.before === e.after) continue;
      const path = validateHostPath('fileEdits.path', e.path);
      const known = byPath.get(path);
      if (known?.kind === 'captured') throw new ValidationError('fixes', `${path} is both written from a command's output and edited: export these fixes separately`);
      if (known) {
        if (e.before !== known.after) {
          throw new ValidationError('fixes', `"${fix.title}" changes ${path} from other content than the fix before it leaves: build the fixes one after the other (exportFixes)`);
        }
        known.after = e.after;
        known.fixes.push(i);
        known.descriptions.push(e.description);
        known.winsAfter = e.winsAfter;
        continue;
      }
      const file: ChangedFile = { kind: 'edit', n: out.length + 1, path, before: e.before, after: e.after, createMode: e.createMode, fixes: [i], descriptions: [e.description], winsAfter: e.winsAfter };
      byPath.set(path, file);
      out.push(file);
    }
    fix.runtime.forEach((s, j) => {
      if (s.stdoutTo === undefined) return;
      const path = validateHostPath('stdoutTo', s.stdoutTo);
      if (byPath.has(path)) throw new ValidationError('fixes', `${path} is written twice (a command's output and another change): export these fixes separately`);
      const file: CapturedFile = { kind: 'captured', n: out.length + 1, path, fix: i, step: j };
      byPath.set(path, file);
      out.push(file);
    });
  });
  // A verification that checks a written file (nft -c -f PATH) validates the new content too.
  for (const f of out) {
    if (f.kind !== 'edit') continue;
    for (const i of f.fixes) {
      const v = fixes[i]?.verify.find((x) => x.expect.kind === 'exit-zero' && x.argv.filter((a) => a === f.path).length === 1 && x.argv[x.argv.length - 1] === f.path);
      if (v) f.validate = v.argv;
    }
  }
  return out;
}

/** A sysctl file the fix sets a key in: loading it applies exactly what it says. */
export function loadsSettings(f: ManagedFile): boolean {
  return f.kind === 'edit' && isLoaderPath(f.path) && f.winsAfter.some((w) => w.path === f.path);
}

export function handlerName(path: string): string {
  return `Load ${path}`;
}

// ---------------------------------------------------------------------------------------------
// Naming: registered variables and task names

export const reg = {
  record: 'ctd_record',
  state: 'ctd_state',
  recordText: 'ctd_record_text',
  file: (n: number) => `ctd_file_${n}`,
  saved: (n: number) => `ctd_saved_${n}`,
  dir: (n: number) => `ctd_dir_${n}`,
  prev: (i: number, j: number) => `ctd_fix${i + 1}_prev_${j + 1}`,
  was: (i: number, j: number) => `ctd_fix${i + 1}_was_${j + 1}`,
  done: (i: number, j: number) => `ctd_fix${i + 1}_done_${j + 1}`,
  live: (i: number, j: number) => `ctd_fix${i + 1}_live_${j + 1}`,
  check: (i: number, j: number) => `ctd_fix${i + 1}_check_${j + 1}`,
  out: (i: number, j: number) => `ctd_fix${i + 1}_out_${j + 1}`,
  step: (i: number, j: number) => `ctd_fix${i + 1}_step_${j + 1}`,
  list: (i: number, j: number) => `ctd_fix${i + 1}_list_${j + 1}`,
  before: (i: number, j: number) => `ctd_fix${i + 1}_before_${j + 1}`,
  verify: (i: number, j: number) => `ctd_fix${i + 1}_verify_${j + 1}`,
};
export const presentKey = (i: number, j: number): string => `fix${i + 1}_step${j + 1}`;
export const markerPath = (i: number, j: number): string => `{{ conntrack_doctor_state_dir }}/fix${i + 1}-step${j + 1}.done`;

/** Task names start with a capital (ansible-lint name[casing]), stay on one line and are never
 *  templates (Ansible templates names: braces are left out). */
export function title(text: string): string {
  const one = text.replace(/[{}]/g, '').replace(/\s+/g, ' ').trim();
  const cut = one.length > 120 ? `${one.slice(0, 117)}...` : one;
  return cut.charAt(0).toUpperCase() + cut.slice(1);
}

function argvItems(argv: readonly string[]): YamlScalar[] {
  return argv.map((a) => (a.includes('{{') || a.includes('{%') || a.includes('{#') ? new Unsafe(a) : a));
}

/** Text ansible-lint refuses in a task's values even when Ansible takes it as it is. */
export function lintRefuses(text: string): boolean {
  return /\{[{%#]/.test(text) || text.includes('\t');
}

/**
 * A file's content for `copy`, never templated by Ansible: `!unsafe` text a person can read and
 * diff. ansible-lint parses even `!unsafe` text as a template (and fails on `{% raw %}`) and
 * refuses tabs (nftables.conf is indented with them): such a content is base64 that the task
 * decodes, shown as comment lines above the task for the person who reads the playbook.
 */
function fileContent(text: string): { content: YamlNode; vars?: YamlMapping; shown?: string[] } {
  if (!lintRefuses(text)) return { content: new Unsafe(text) };
  const b64 = Buffer.from(text, 'utf8').toString('base64').replace(/.{1,76}/g, '$&\n');
  const lines = text.replace(/\n$/, '').split('\n');
  return {
    content: '{{ ctd_content_b64 | b64decode }}',
    vars: { ctd_content_b64: b64 },
    shown: ['The content, decoded (base64 below: ansible-lint refuses tabs and Jinja delimiters in task values):', ...lines.map((l) => `| ${l}`)],
  };
}

/** Text for a message (debug, fail_msg) that is never a template: braces are left out. */
export function message(text: string): YamlNode {
  return new Unsafe(text.replace(/[{}]/g, ''));
}

export const command = (argv: readonly string[]): YamlMapping => ({ argv: new Flow(argvItems(argv)) });
export const readOnly = { changed_when: false, check_mode: false } as const;

// ---------------------------------------------------------------------------------------------
// Steps and verifications

/** The runtime step's sysctl write and the read-back that tells it is already in place. */
function sysctlGuard(fix: Fix, step: CommandStep): { key: string; value: string } | undefined {
  const w = sysctlWriteOf(step);
  if (!w) return undefined;
  const readBack = fix.verify.some((v) => v.argv.length === 3 && v.argv[0] === 'sysctl' && v.argv[1] === '-n' && v.argv[2] === w.key && v.expect.kind === 'equals' && v.expect.value === w.value);
  return readBack ? w : undefined;
}

function notInPlace(step: CommandStep, check: string): string {
  return step.skipIfContains === undefined ? `${check}.rc != 0` : `${check}.rc != 0 or ctd_needle not in ${check}.stdout`;
}

export function needleVars(step: CommandStep): YamlMapping | undefined {
  return step.skipIfContains === undefined ? undefined : { ctd_needle: new Unsafe(step.skipIfContains) };
}

function stepSucceededExpr(step: CommandStep, r: string): { changed_when: YamlNode; failed_when?: YamlNode } {
  const ok = step.okExitCodes ?? [0];
  if (ok.length === 1 && ok[0] === 0) return { changed_when: true };
  // e.g. `conntrack -D` exits 1 when nothing matched: nothing changed, nothing failed.
  return { changed_when: `${r}.rc == 0`, failed_when: `${r}.rc not in [${ok.join(', ')}]` };
}

/** In check mode (where `command` does not run): the command that would run, counted as a change. */
export function wouldRun(step: CommandStep, when: string | undefined): YamlMapping {
  return {
    name: title(`Check mode: would run ${renderCommand(step.argv)}`),
    'ansible.builtin.debug': { msg: message(`would run: ${renderCommand(step.argv)}${step.stdoutTo ? ` > ${step.stdoutTo}` : ''}`) },
    changed_when: true,
    when: when === undefined ? 'ansible_check_mode' : `ansible_check_mode and (${when})`,
  };
}

/** The tasks of one runtime step of fix i (index j). */
export function runtimeTasks(fix: Fix, i: number, step: CommandStep, j: number, files: readonly ManagedFile[]): YamlNode[] {
  const tasks: YamlNode[] = [];
  const r = reg.step(i, j);
  if (step.handleFrom) return handleTasks(step, reg.list(i, j), r, undefined);
  if (step.stdoutTo !== undefined) {
    const file = files.find((f) => f.kind === 'captured' && f.fix === i && f.step === j);
    const out = reg.out(i, j);
    tasks.push(
      { name: title(`Run ${renderCommand(step.argv)} for ${step.stdoutTo}`), 'ansible.builtin.command': command(step.argv), register: out, ...readOnly },
      {
        name: title(step.description),
        'ansible.builtin.copy': {
          dest: step.stdoutTo,
          // The "# Generated by … on <date>" / "# Completed on <date>" lines change every second:
          // without them a second run writes nothing (the rules are the same). Ansible passes
          // backslashes in Jinja strings through: `\n` reaches the regular expression as is.
          // The same for the chain counters (`:INPUT ACCEPT [1067:104624]`), which are written as [0:0].
          content: `{{ ${out}.stdout | regex_replace('(?m)^# (Generated|Completed) .*\\n?', '') | regex_replace('(?m)^(:\\S+ \\S+) \\[[0-9]+:[0-9]+\\]$', '\\1 [0:0]') | trim }}\n`,
          mode: file ? `{{ ${reg.file(file.n)}.stat.mode | default('0644') }}` : '0644',
        },
      },
    );
    return tasks;
  }
  if (step.skipIf) {
    const check = reg.check(i, j);
    const when = notInPlace(step, check);
    const vars = needleVars(step);
    tasks.push(
      { name: title(`Check whether it is in place: ${renderCommand(step.skipIf)}`), 'ansible.builtin.command': command(step.skipIf), register: check, ...readOnly, failed_when: false },
      { name: title(step.description), 'ansible.builtin.command': command(step.argv), register: r, ...stepSucceededExpr(step, r), when: `not ansible_check_mode and (${when})`, vars },
      { ...wouldRun(step, when), vars },
    );
    return tasks;
  }
  if (step.skipUnless) {
    // An undo that may already be done (a rollback run again): exit 1 of the check = nothing left to undo.
    const check = reg.check(i, j);
    const when = `${check}.rc != 1`;
    tasks.push(
      { name: title(`Check whether there is something to undo: ${renderCommand(step.skipUnless)}`), 'ansible.builtin.command': command(step.skipUnless), register: check, ...readOnly, failed_when: false },
      { name: title(step.description), 'ansible.builtin.command': command(step.argv), register: r, ...stepSucceededExpr(step, r), when: `not ansible_check_mode and (${when})` },
      wouldRun(step, when),
    );
    return tasks;
  }
  const guard = sysctlGuard(fix, step);
  if (guard) {
    const live = reg.live(i, j);
    const when = `${live}.stdout | trim != ctd_value`;
    const vars = { ctd_value: guard.value };
    tasks.push(
      { name: title(`Read ${guard.key} now`), 'ansible.builtin.command': command(['sysctl', '-n', guard.key]), register: live, ...readOnly },
      { name: title(step.description), 'ansible.builtin.command': command(step.argv), ...stepSucceededExpr(step, r), when: `not ansible_check_mode and ${when}`, vars },
      { ...wouldRun(step, when), vars },
    );
    return tasks;
  }
  if (fix.destructive) {
    // Once per host: a second run must not delete again what came back in the meantime.
    const done = reg.done(i, j);
    tasks.push(
      { name: title(`Has this step run on this host already (${markerPath(i, j).replace('{{ conntrack_doctor_state_dir }}/', '')})`), 'ansible.builtin.stat': { path: markerPath(i, j), get_checksum: false }, register: done },
      ...fix.verify.map((v, k): YamlMapping => ({
        name: title(`Read before the change: ${renderCommand(v.argv)}`),
        'ansible.builtin.command': command(v.argv),
        register: reg.before(i, k),
        ...readOnly,
        failed_when: false,
        when: `not ${done}.stat.exists`,
      })),
      ...fix.verify.map((v, k): YamlMapping => ({
        name: title(`Report before the change: ${renderCommand(v.argv)}`),
        'ansible.builtin.debug': { msg: `{{ ${measured(v, reg.before(i, k))} }}` },
        when: `not ${done}.stat.exists`,
      })),
      { name: title(`${step.description} (once per host)`), 'ansible.builtin.command': command(step.argv), register: r, ...stepSucceededExpr(step, r), when: `not ansible_check_mode and not ${done}.stat.exists` },
      { ...wouldRun(step, `not ${done}.stat.exists`) },
      {
        name: title(`Remember that it ran (${markerPath(i, j).replace('{{ conntrack_doctor_state_dir }}/', '')})`),
        'ansible.builtin.copy': { dest: markerPath(i, j), content: `${fix.title}\n`, mode: '0600', force: false },
        when: 'not ansible_check_mode',
      },
    );
    return tasks;
  }
  tasks.push({ name: title(step.description), 'ansible.builtin.command': command(step.argv), register: r, ...stepSucceededExpr(step, r) });
  return tasks;
}

/** `nft … handle {handle}` once per handle listed by step.handleFrom (none: nothing to do). */
export function handleTasks(step: CommandStep, list: string, r: string, when: string | undefined): YamlNode[] {
  if (!step.handleFrom || step.argv.filter((a) => a === HANDLE_PLACEHOLDER).length !== 1) throw new ValidationError('rollback', `${step.description}: expected one ${HANDLE_PLACEHOLDER} in the command`);
  return [
    // A listing that fails (no such chain) lists no handle: nothing to delete, as in apply.
    { name: title(`List the handles: ${renderCommand(step.handleFrom.argv)}`), 'ansible.builtin.command': command(step.handleFrom.argv), register: list, ...readOnly, failed_when: false, ...(when ? { when } : {}) },
    {
      name: title(step.description),
      'ansible.builtin.command': { argv: new Flow([...argvItems(step.argv.slice(0, step.argv.indexOf(HANDLE_PLACEHOLDER))), '{{ item }}', ...argvItems(step.argv.slice(step.argv.indexOf(HANDLE_PLACEHOLDER) + 1))]) },
      loop: `{{ ${list}.stdout_lines | select('search', ctd_needle | regex_escape) | select('search', '# handle [0-9]+$') | map('regex_replace', '^.*# handle ([0-9]+)$', '\\1') | list }}`,
      vars: { ctd_needle: new Unsafe(step.handleFrom.lineContains) },
      register: r,
      changed_when: true,
      when: when === undefined ? 'not ansible_check_mode' : `not ansible_check_mode and (${when})`,
    },
  ];
}

/** Jinja for what a verification compares (trimmed stdout, or the count of non-empty lines). */
function measured(v: Verification, r: string): string {
  return v.measure === 'line-count' ? `${r}.stdout_lines | map('trim') | select | list | length` : `${r}.stdout | trim`;
}

function expectation(v: Verification, r: string): { that: string[]; vars?: YamlMapping } {
  const e: Expectation = v.expect;
  switch (e.kind) {
    case 'exit-zero':
      return { that: [`${r}.rc == 0`] };
    case 'equals':
      return { that: [`${r}.rc == 0`, `${measured(v, r)} == ctd_expect`], vars: { ctd_expect: new Unsafe(e.value) } };
    case 'contains':
      return { that: [`${r}.rc == 0`, `ctd_expect in ${r}.stdout`], vars: { ctd_expect: new Unsafe(e.value) } };
    case 'integer-at-most':
    case 'integer-at-least': {
      const m = measured(v, r);
      const integer = v.measure === 'line-count' ? [] : [`${m} is match('^-?[0-9]+$')`];
      return { that: [`${r}.rc == 0`, ...integer, `(${m} | int) ${e.kind === 'integer-at-most' ? '<=' : '>='} ${e.value}`] };
    }
  }
}

export function verifyTasks(v: Verification, r: string, prefix: string): YamlNode[] {
  const x = expectation(v, r);
  return [
    { name: title(`${prefix}read back: ${renderCommand(v.argv)}`), 'ansible.builtin.command': command(v.argv), register: r, changed_when: false, failed_when: false },
    {
      name: title(`${prefix}${v.description}`),
      'ansible.builtin.assert': {
        that: x.that,
        fail_msg: `${renderCommand(v.argv).replace(/[{}]/g, '')} on {{ inventory_hostname }}: exit {{ ${r}.rc }}, got '{{ ${measured(v, r)} }}' {{ ${r}.stderr | default('') }}`,
        success_msg: `{{ ${measured(v, r)} }}`,
      },
      ...(x.vars ? { vars: x.vars } : {}),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Files

export function statTask(path: string, r: string, name: string): YamlMapping {
  return { name: title(name), 'ansible.builtin.stat': { path, checksum_algorithm: 'sha256', get_mime: false, get_attributes: false, follow: false }, register: r };
}

export function guardTask(f: ChangedFile, computedOn: string): YamlMapping {
  const r = reg.file(f.n);
  const known = [f.before === undefined ? 'absent' : sha256(f.before), sha256(f.after)];
  return {
    name: title(`Check that ${f.path} is as on ${computedOn}, or already changed`),
    'ansible.builtin.assert': {
      that: [`not ${r}.stat.exists or ${r}.stat.isreg`, `(${r}.stat.checksum | default('absent')) in ctd_known`],
      fail_msg: `${f.path} on {{ inventory_hostname }} is neither as on ${computedOn} (${f.before === undefined ? 'absent' : 'sha256 ' + known[0]}) nor as this playbook writes it (sha256 {{ ${r}.stat.checksum | default('absent') }} now): the fix was computed for ${computedOn}'s file and nothing was changed here. Diagnose this host and export a playbook from it.`,
      quiet: true,
    },
    vars: { ctd_known: known },
  };
}

export function writeTask(f: ChangedFile, extra: YamlMapping = {}): YamlNode {
  const r = reg.file(f.n);
  const { content, vars, shown } = fileContent(f.after);
  const copy: Record<string, YamlNode> = {
    dest: f.path,
    content,
    mode: `{{ ${r}.stat.mode | default('${mode(f.createMode ?? 0o644)}') }}`,
  };
  if (f.validate) copy['validate'] = renderCommand(f.validate.map((a) => (a === f.path ? '%s' : a)));
  const task: YamlMapping = {
    name: title(f.descriptions.length === 1 ? (f.descriptions[0] ?? `Write ${f.path}`) : `Write ${f.path}: ${f.descriptions.join('; ')}`),
    'ansible.builtin.copy': copy,
    ...(loadsSettings(f) ? { notify: handlerName(f.path) } : {}),
    ...extra,
    ...(vars ? { vars } : {}),
  };
  return shown ? new Commented(shown, task) : task;
}

export function parentDir(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

export function commentBlock(paragraphs: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paragraphs) {
    if (p === '') out.push('');
    else out.push(...wrap(p, '', 98).split('\n'));
  }
  return out;
}
// ---------------------------------------------------------------------------------------------

export interface Context {
  readonly fixes: readonly Fix[];
  readonly files: readonly ManagedFile[];
  readonly id: string;
  readonly computedOn: string;
  readonly hosts: string;
  readonly serial: string;
  readonly maxFail: number;
  readonly fileName: string;
  readonly rollbackFileName: string;
  readonly generatedBy: string | undefined;
}

export function playHead(c: Context, name: string, destructive: boolean): YamlMapping {
  return {
    name,
    hosts: `{{ conntrack_doctor_hosts | default('${c.hosts}') }}`,
    become: true,
    gather_facts: false,
    serial: `{{ conntrack_doctor_serial | default('${c.serial}') }}`,
    max_fail_percentage: c.maxFail,
    ...(destructive ? { any_errors_fatal: true } : {}),
    vars: {
      conntrack_doctor_state_dir: `${ANSIBLE_STATE_ROOT}/${c.id}`,
      conntrack_doctor_backup_dir: `${ANSIBLE_BACKUP_ROOT}/${c.id}`,
    },
  };
}

