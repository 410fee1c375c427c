/**
 * Fixes → an Ansible playbook that does on every host of a play what `apply` does on one host,
 * and the rollback playbook that undoes it. Everything is derived from the fix model
 * (core/fix/model.ts), never restated:
 *
 *  - FileEdit → a guard (the host's file must be what the fix was computed from, or already
 *    what it writes: apply's "refused if the file changed since it was read", per host), then
 *    `copy` with the exact content (`!unsafe`: never templated). A sysctl file that sets a key
 *    notifies a handler that loads exactly that file; a verification that checks the file
 *    (`nft -c -f PATH`) also validates the new content before it replaces the file.
 *  - CommandStep → `command` with argv (no shell): `skipIf`/`skipIfContains` become a read plus
 *    `when`; a `sysctl -w` runs only while the live value differs (so a second run changes
 *    nothing); `stdoutTo` becomes a read plus `copy`; a destructive step runs once per host
 *    (a marker in the state directory) and only with `conntrack_doctor_confirm=true`.
 *  - Verification → `command` (changed_when: false) plus `assert`, after the handlers ran.
 *  - Rollback: the first run records, on each host, what the rollback needs: a backup of each
 *    file that existed, the live value of each key it sets, whether each rule was already
 *    there. The rollback playbook restores files byte for byte, values value for value, removes
 *    only what the playbook added, reads back, and removes its record.
 *
 * Conventions of the builders this relies on (checked by test/unit/ansible for every fix kind):
 * `rollback[i]` undoes `runtime[i]`; a `sysctl -w` has a read-back `sysctl -n` of the same key.
 */
import { createHash } from 'node:crypto';
import type { CommandStep, Expectation, Fix, Verification, WinningLine } from '../fix/model';
import { renderCommand } from '../fix/quote';
import { HANDLE_PLACEHOLDER, sysctlWriteOf } from '../fix/steps';
import { ValidationError, validateHostPath, validateSingleLine } from '../fix/validate';
import { isLoaderPath, loaderLabel } from '../sysctl/loaders';
import { wrap } from '../host/report';
import { Commented, Flow, Unsafe, yamlDocument, type YamlMapping, type YamlNode, type YamlScalar } from './yaml';

/** Where the playbooks keep their per-host records (beside apply's records in /var/lib/conntrack-doctor). */
export const ANSIBLE_STATE_ROOT = '/var/lib/conntrack-doctor/ansible';
export const ANSIBLE_BACKUP_ROOT = '/var/backups/conntrack-doctor/ansible';
/** The inventory group a playbook runs on unless told otherwise. */
export const DEFAULT_HOST_GROUP = 'conntrack_doctor';
export const DEFAULT_SERIAL = '10%';

export interface PlaybookInput {
  /** In the order they are applied (core/ansible/fixes.ts builds them one after the other). */
  readonly fixes: readonly Fix[];
  /** The host the fixes were computed on (its values, backend and precedence). */
  readonly computedOn: string;
  /** Default host pattern of the play (overridable with -e conntrack_doctor_hosts=…). */
  readonly hosts?: string | undefined;
  /** Default batch size: an integer or a percentage (overridable with -e conntrack_doctor_serial=…). */
  readonly serial?: string | undefined;
  /** Share of failed hosts that stops the play; default 0 (the first failure stops it). */
  readonly maxFailPercentage?: number | undefined;
  /** File names, for the instructions in the header. */
  readonly fileName?: string | undefined;
  readonly rollbackFileName?: string | undefined;
  /** How the playbook was made (`conntrack-doctor ansible …`), for the header. */
  readonly generatedBy?: string | undefined;
}

export interface ExportedPlaybooks {
  /** Names the record and backups on the hosts: fix ids plus a hash of what the playbook does. */
  readonly id: string;
  readonly playbook: string;
  readonly rollback: string;
  /** Every host path the playbook writes. */
  readonly files: readonly string[];
}

/** Host patterns as Ansible takes them: names, groups, globs, unions (:), intersections (:&), exclusions (:!). */
const HOST_PATTERN = /^[A-Za-z0-9_.*:!&,[\]-]+$/;
const SERIAL = /^(?:[1-9][0-9]{0,5}|[1-9][0-9]?%|100%)$/;

export function validateHostPattern(field: string, input: string): string {
  if (!HOST_PATTERN.test(input) || input.length > 200) {
    throw new ValidationError(field, `expected an Ansible host pattern (names, groups, * : ! & , [ ]), got ${JSON.stringify(input)}`);
  }
  return input;
}

export function validateSerial(field: string, input: string): string {
  if (!SERIAL.test(input)) throw new ValidationError(field, `expected a batch size like 1, 5 or 10%, got ${JSON.stringify(input)}`);
  return input;
}

// ---------------------------------------------------------------------------------------------
// What the playbook manages

interface ChangedFile {
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

interface CapturedFile {
  readonly kind: 'captured';
  readonly n: number;
  readonly path: string;
  readonly fix: number;
  readonly step: number;
}

type ManagedFile = ChangedFile | CapturedFile;

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function mode(m: number): string {
  return m.toString(8).padStart(4, '0');
}

function managedFiles(fixes: readonly Fix[]): ManagedFile[] {
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
function loadsSettings(f: ManagedFile): boolean {
  return f.kind === 'edit' && isLoaderPath(f.path) && f.winsAfter.some((w) => w.path === f.path);
}

function handlerName(path: string): string {
  return `Load ${path}`;
}

// ---------------------------------------------------------------------------------------------
// Naming: registered variables and task names

const reg = {
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
const presentKey = (i: number, j: number): string => `fix${i + 1}_step${j + 1}`;
const markerPath = (i: number, j: number): string => `{{ conntrack_doctor_state_dir }}/fix${i + 1}-step${j + 1}.done`;

/** Task names start with a capital (ansible-lint name[casing]), stay on one line and are never
 *  templates (Ansible templates names: braces are left out). */
function title(text: string): string {
  const one = text.replace(/[{}]/g, '').replace(/\s+/g, ' ').trim();
  const cut = one.length > 120 ? `${one.slice(0, 117)}...` : one;
  return cut.charAt(0).toUpperCase() + cut.slice(1);
}

function argvItems(argv: readonly string[]): YamlScalar[] {
  return argv.map((a) => (a.includes('{{') || a.includes('{%') || a.includes('{#') ? new Unsafe(a) : a));
}

/** Text ansible-lint refuses in a task's values even when Ansible takes it as it is. */
function lintRefuses(text: string): boolean {
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
function message(text: string): YamlNode {
  return new Unsafe(text.replace(/[{}]/g, ''));
}

const command = (argv: readonly string[]): YamlMapping => ({ argv: new Flow(argvItems(argv)) });
const readOnly = { changed_when: false, check_mode: false } as const;

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

function needleVars(step: CommandStep): YamlMapping | undefined {
  return step.skipIfContains === undefined ? undefined : { ctd_needle: new Unsafe(step.skipIfContains) };
}

function stepSucceededExpr(step: CommandStep, r: string): { changed_when: YamlNode; failed_when?: YamlNode } {
  const ok = step.okExitCodes ?? [0];
  if (ok.length === 1 && ok[0] === 0) return { changed_when: true };
  // e.g. `conntrack -D` exits 1 when nothing matched: nothing changed, nothing failed.
  return { changed_when: `${r}.rc == 0`, failed_when: `${r}.rc not in [${ok.join(', ')}]` };
}

/** In check mode (where `command` does not run): the command that would run, counted as a change. */
function wouldRun(step: CommandStep, when: string | undefined): YamlMapping {
  return {
    name: title(`Check mode: would run ${renderCommand(step.argv)}`),
    'ansible.builtin.debug': { msg: message(`would run: ${renderCommand(step.argv)}${step.stdoutTo ? ` > ${step.stdoutTo}` : ''}`) },
    changed_when: true,
    when: when === undefined ? 'ansible_check_mode' : `ansible_check_mode and (${when})`,
  };
}

/** The tasks of one runtime step of fix i (index j). */
function runtimeTasks(fix: Fix, i: number, step: CommandStep, j: number, files: readonly ManagedFile[]): YamlNode[] {
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
function handleTasks(step: CommandStep, list: string, r: string, when: string | undefined): YamlNode[] {
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

function verifyTasks(v: Verification, r: string, prefix: string): YamlNode[] {
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

function statTask(path: string, r: string, name: string): YamlMapping {
  return { name: title(name), 'ansible.builtin.stat': { path, checksum_algorithm: 'sha256', get_mime: false, get_attributes: false, follow: false }, register: r };
}

function guardTask(f: ChangedFile, computedOn: string): YamlMapping {
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

function writeTask(f: ChangedFile, extra: YamlMapping = {}): YamlNode {
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

function parentDir(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

// ---------------------------------------------------------------------------------------------
// Header and notes

function commentBlock(paragraphs: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paragraphs) {
    if (p === '') out.push('');
    else out.push(...wrap(p, '', 98).split('\n'));
  }
  return out;
}

function bootSummary(files: readonly ManagedFile[], computedOn: string): string[] {
  const lines: string[] = [];
  for (const f of files) {
    if (f.kind !== 'edit' || !loadsSettings(f)) continue;
    for (const w of f.winsAfter) lines.push(`  ${w.key} = ${w.value}`, `    ${loaderLabel[w.loader]}: ${w.path}:${w.line + 1}`);
  }
  return lines.length === 0 ? [] : [`At boot on ${computedOn} afterwards (which file wins, per loader):`, ...lines];
}

function fileSummary(files: readonly ManagedFile[], computedOn: string): string[] {
  if (files.length === 0) return ['Files: none (runtime only).'];
  const lines = ['Files it writes:'];
  for (const f of files) {
    if (f.kind === 'captured') lines.push(`  ${f.path}: the output of a command (rules saved the host's way)`);
    else lines.push(`  ${f.path}: ${f.before === undefined ? 'created' : 'changed'}${f.path.includes('conntrack-doctor') ? ' (owned by Conntrack Doctor)' : ''}`);
  }
  lines.push(
    `A host whose copy of one of these files is neither as on ${computedOn} nor as this playbook writes it fails`,
    'before anything changes on it: diagnose that host and export from it.',
  );
  return lines;
}

function playbookId(fixes: readonly Fix[]): string {
  const what = JSON.stringify(fixes.map((f) => [f.id, f.fileEdits.map((e) => [e.path, e.before ?? null, e.after]), f.runtime, f.verify, f.rollback]));
  const ids = [...new Set(fixes.map((f) => f.id))].join('-');
  return `${ids.length > 60 ? ids.slice(0, 60) : ids}-${sha256(what).slice(0, 10)}`;
}

// ---------------------------------------------------------------------------------------------

interface Context {
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

function playHead(c: Context, name: string, destructive: boolean): YamlMapping {
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

function fixComment(fix: Fix, i: number, computedOn: string): string[] {
  return commentBlock([
    `Fix ${i + 1}: ${fix.title}. ${fix.summary}`,
    ...(fix.destructive ? ['Destructive: runs once per host, only with -e conntrack_doctor_confirm=true; it cannot be undone.'] : []),
    ...(fix.needsInitialNetns ? ['Global setting: only the initial network namespace (the host itself, not a container) can write it.'] : []),
    ...fix.notes.map((n) => `Note (${computedOn}): ${validateSingleLine('notes', n)}`),
  ]);
}

function recordTasks(c: Context): YamlNode[] {
  const tasks: YamlNode[] = [];
  const record: Record<string, YamlNode> = { playbook: c.id, computed_on: c.computedOn, recorded_at: '{{ now(utc=true).isoformat() }}' };
  const sysctl: Record<string, YamlNode> = {};
  const present: Record<string, YamlNode> = {};
  c.fixes.forEach((fix, i) => {
    fix.runtime.forEach((step, j) => {
      const undo = fix.rollback[j];
      const w = sysctlWriteOf(step);
      if (w && undo && sysctlWriteOf(undo)?.key === w.key) {
        const r = reg.prev(i, j);
        tasks.push({ name: title(`Record ${w.key} before the change`), 'ansible.builtin.command': command(['sysctl', '-n', w.key]), register: r, ...readOnly });
        sysctl[w.key] ??= `{{ ${r}.stdout | trim }}`;
      } else if (step.skipIf && undo) {
        const r = reg.was(i, j);
        tasks.push({ name: title(`Record whether it was in place before: ${renderCommand(step.skipIf)}`), 'ansible.builtin.command': command(step.skipIf), register: r, ...readOnly, failed_when: false });
        present[presentKey(i, j)] = step.skipIfContains === undefined ? `{{ ${r}.rc == 0 }}` : `{{ ${r}.rc == 0 and ctd_needle_${i + 1}_${j + 1} in ${r}.stdout }}`;
      }
    });
  });
  const backupDirs = [...new Set(c.files.map((f) => `{{ conntrack_doctor_backup_dir }}${parentDir(f.path)}`))];
  // Bookkeeping, not part of the change a preview (--check) shows.
  tasks.push({
    name: 'Create the state and backup directories',
    'ansible.builtin.file': { path: '{{ item }}', state: 'directory', mode: '0700' },
    loop: ['{{ conntrack_doctor_state_dir }}', ...backupDirs],
    when: 'not ansible_check_mode',
  });
  for (const f of c.files) {
    tasks.push({
      name: title(`Back up ${f.path}`),
      'ansible.builtin.copy': { src: f.path, dest: `{{ conntrack_doctor_backup_dir }}${f.path}`, remote_src: true, mode: 'preserve', force: false },
      when: `not ansible_check_mode and ${reg.file(f.n)}.stat.exists`,
    });
  }
  const needles: Record<string, YamlNode> = {};
  c.fixes.forEach((fix, i) => fix.runtime.forEach((s, j) => {
    if (s.skipIf && s.skipIfContains !== undefined && fix.rollback[j]) needles[`ctd_needle_${i + 1}_${j + 1}`] = new Unsafe(s.skipIfContains);
  }));
  tasks.push({
    name: title(`Record the state before the change (${ANSIBLE_STATE_ROOT}/${c.id}/record.json)`),
    'ansible.builtin.copy': { dest: '{{ conntrack_doctor_state_dir }}/record.json', content: `{{ ${reg.recordText} | to_nice_json }}\n`, mode: '0600', force: false },
    when: 'not ansible_check_mode',
    vars: { [reg.recordText]: { ...record, sysctl, present }, ...needles },
  });
  return tasks;
}

function applyPlay(c: Context): YamlMapping {
  const destructive = c.fixes.some((f) => f.destructive);
  const tasks: YamlNode[] = [];
  if (destructive) {
    tasks.push({
      name: 'Refuse the destructive fixes unless confirmed',
      'ansible.builtin.assert': {
        that: ['conntrack_doctor_confirm | default(false) | bool'],
        fail_msg: `This playbook deletes conntrack entries (${c.fixes.filter((f) => f.destructive).map((f) => f.title).join('; ')}): live connections lose their state and NATed ones break; it cannot be undone. Run it with -e conntrack_doctor_confirm=true.`,
        quiet: true,
      },
    });
  }
  tasks.push(statTask('{{ conntrack_doctor_state_dir }}/record.json', reg.record, 'Read the record of an earlier run on this host'));
  for (const f of c.files) tasks.push(statTask(f.path, reg.file(f.n), `Read ${f.path}`));
  for (const f of c.files) if (f.kind === 'edit') tasks.push(guardTask(f, c.computedOn));
  const recording = recordTasks(c);
  tasks.push(new Commented(commentBlock(['What the rollback needs, recorded once, before the first change on each host.']), {
    name: 'Record the state before the first change',
    when: `not ${reg.record}.stat.exists`,
    block: recording,
  }));
  c.fixes.forEach((fix, i) => {
    const body: YamlNode[] = [];
    for (const f of c.files) {
      if (f.kind !== 'edit' || f.fixes[0] !== i) continue;
      if (f.before !== undefined) {
        body.push(writeTask(f));
        continue;
      }
      // A new file in a directory the host may not have: check mode cannot copy into a missing
      // directory (and must not create it), so it says what it would write instead.
      const dir = reg.dir(f.n);
      body.push(
        statTask(parentDir(f.path), dir, `Read ${parentDir(f.path)}`),
        { name: title(`Create ${parentDir(f.path)} if missing`), 'ansible.builtin.file': { path: parentDir(f.path), state: 'directory', mode: '0755' } },
        writeTask(f, { when: `not ansible_check_mode or ${dir}.stat.exists` }),
        {
          name: title(`Check mode: would create ${f.path}`),
          'ansible.builtin.debug': { msg: message(`would create ${parentDir(f.path)}/ and ${f.path}${lintRefuses(f.after) ? '' : `:\n${f.after}`}`) },
          changed_when: true,
          when: `ansible_check_mode and not ${dir}.stat.exists`,
        },
      );
    }
    fix.runtime.forEach((s, j) => body.push(...runtimeTasks(fix, i, s, j, c.files)));
    if (body.length === 0) body.push({ name: title(`Nothing to change for: ${fix.title}`), 'ansible.builtin.debug': { msg: message(fix.summary) } });
    tasks.push(new Commented(fixComment(fix, i, c.computedOn), { name: title(`Fix ${i + 1}: ${fix.title}`), ...(fix.destructive ? { any_errors_fatal: true } : {}), block: body }));
  });
  const handlers: YamlNode[] = c.files.filter(loadsSettings).map((f) => ({
    name: handlerName(f.path),
    'ansible.builtin.command': command(['sysctl', '-p', f.path]),
    changed_when: true,
  }));
  // The files are loaded before the read-back, not at the end of the play.
  if (handlers.length > 0) tasks.push({ name: 'Load the changed sysctl files now', 'ansible.builtin.meta': 'flush_handlers' });
  const verify: YamlNode[] = [];
  c.fixes.forEach((fix, i) => fix.verify.forEach((v, k) => verify.push(...verifyTasks(v, reg.verify(i, k), `Fix ${i + 1}: `))));
  if (verify.length > 0) {
    tasks.push(new Commented(commentBlock(['Read back every value and rule, as apply does (sysctl exits 0 even when a network namespace refuses a write).']), {
      name: 'Verify',
      when: 'not ansible_check_mode',
      block: verify,
    }));
  }
  return {
    ...playHead(c, `Conntrack Doctor: ${c.fixes.map((f) => f.title).join('; ')}`.slice(0, 150), destructive),
    ...(handlers.length > 0 ? { handlers } : {}),
    tasks,
  };
}

function rollbackPlay(c: Context): YamlMapping {
  const tasks: YamlNode[] = [];
  tasks.push(statTask('{{ conntrack_doctor_state_dir }}/record.json', reg.record, 'Read the record of the playbook on this host'));
  tasks.push(
    {
      name: 'Say that there is nothing to roll back here',
      'ansible.builtin.debug': { msg: `No record of ${c.id} on {{ inventory_hostname }}: the playbook did not change this host, or it was rolled back already.` },
      when: `not ${reg.record}.stat.exists`,
    },
    { name: 'Stop here when there is nothing to roll back', 'ansible.builtin.meta': 'end_host', when: `not ${reg.record}.stat.exists` },
    { name: 'Load the record', 'ansible.builtin.slurp': { src: '{{ conntrack_doctor_state_dir }}/record.json' }, register: reg.recordText },
    { name: 'Parse the record', 'ansible.builtin.set_fact': { [reg.state]: `{{ ${reg.recordText}.content | b64decode | from_json }}` } },
  );
  // Files first (newest first), as apply's rollback does; then the runtime steps.
  const files: YamlNode[] = [];
  for (const f of [...c.files].reverse()) {
    const now = reg.file(f.n);
    const saved = reg.saved(f.n);
    files.push(
      statTask(f.path, now, `Read ${f.path}`),
      statTask(`{{ conntrack_doctor_backup_dir }}${f.path}`, saved, `Read the backup of ${f.path}`),
    );
    if (f.kind === 'edit') {
      files.push({
        name: title(`Check that ${f.path} is what the playbook wrote (or already restored)`),
        'ansible.builtin.assert': {
          that: [`(${now}.stat.checksum | default('absent')) in [ctd_written, ${saved}.stat.checksum | default('absent')]`],
          fail_msg: `${f.path} on {{ inventory_hostname }} changed since the playbook wrote it (sha256 {{ ${now}.stat.checksum | default('absent') }}): not restored. Compare it with {{ conntrack_doctor_backup_dir }}${f.path} and restore by hand.`,
          quiet: true,
        },
        vars: { ctd_written: sha256(f.after) },
      });
    }
    files.push(
      {
        name: title(`Restore ${f.path} from the backup`),
        'ansible.builtin.copy': { src: `{{ conntrack_doctor_backup_dir }}${f.path}`, dest: f.path, remote_src: true, mode: 'preserve' },
        when: `${saved}.stat.exists`,
      },
      {
        name: title(`Remove ${f.path} (the playbook created it)`),
        'ansible.builtin.file': { path: f.path, state: 'absent' },
        when: `not ${saved}.stat.exists`,
      },
    );
  }
  if (files.length > 0) tasks.push({ name: 'Restore the files', block: files });

  const verify: YamlNode[] = [];
  for (let i = c.fixes.length - 1; i >= 0; i--) {
    const fix = c.fixes[i] as Fix;
    const body: YamlNode[] = [];
    fix.rollback.forEach((undo, j) => {
      const step = fix.runtime[j];
      const w = sysctlWriteOf(undo);
      if (w) {
        const live = reg.live(i, j);
        const when = `${reg.state}.sysctl[ctd_key] is defined and ${live}.stdout | trim != ${reg.state}.sysctl[ctd_key]`;
        body.push(
          { name: title(`Read ${w.key} now`), 'ansible.builtin.command': command(['sysctl', '-n', w.key]), register: live, ...readOnly },
          {
            name: title(`Restore ${w.key} to its value before the playbook`),
            'ansible.builtin.command': { argv: new Flow(['sysctl', '-w', `{{ ctd_key }}={{ ${reg.state}.sysctl[ctd_key] }}`]) },
            changed_when: true,
            when: `not ansible_check_mode and ${when}`,
            vars: { ctd_key: w.key },
          },
          {
            name: title(`Check mode: would restore ${w.key}`),
            'ansible.builtin.debug': { msg: `would run: sysctl -w {{ ctd_key }}={{ ${reg.state}.sysctl[ctd_key] }} (now {{ ${live}.stdout | trim }})` },
            changed_when: true,
            when: `ansible_check_mode and ${when}`,
            vars: { ctd_key: w.key },
          },
        );
        verify.push(
          { name: title(`Read back ${w.key}`), 'ansible.builtin.command': command(['sysctl', '-n', w.key]), register: reg.verify(i, j), changed_when: false, failed_when: false },
          {
            name: title(`Check that ${w.key} is back to its value before the playbook`),
            'ansible.builtin.assert': {
              that: [`${reg.verify(i, j)}.rc == 0`, `${reg.state}.sysctl[ctd_key] is not defined or ${reg.verify(i, j)}.stdout | trim == ${reg.state}.sysctl[ctd_key]`],
              fail_msg: `{{ ctd_key }} on {{ inventory_hostname }} is {{ ${reg.verify(i, j)}.stdout | trim }}, expected {{ ${reg.state}.sysctl[ctd_key] | default('?') }}`,
              success_msg: `{{ ctd_key }} = {{ ${reg.verify(i, j)}.stdout | trim }}`,
            },
            vars: { ctd_key: w.key },
          },
        );
        return;
      }
      // Only what this playbook added: not a rule that was there before it ran.
      const addedHere = step?.skipIf ? `not (${reg.state}.present['${presentKey(i, j)}'] | default(false) | bool)` : undefined;
      if (undo.handleFrom) {
        body.push(...handleTasks(undo, reg.list(i, j), reg.step(i, j), addedHere));
      } else if (step?.skipIf) {
        const check = reg.check(i, j);
        const inPlace = step.skipIfContains === undefined ? `${check}.rc == 0` : `${check}.rc == 0 and ctd_needle in ${check}.stdout`;
        const needle = needleVars(step);
        body.push(
          { name: title(`Check whether it is in place: ${renderCommand(step.skipIf)}`), 'ansible.builtin.command': command(step.skipIf), register: check, ...readOnly, failed_when: false },
          { name: title(undo.description), 'ansible.builtin.command': command(undo.argv), changed_when: true, when: `not ansible_check_mode and ${addedHere ?? 'true'} and (${inPlace})`, ...(needle ? { vars: needle } : {}) },
          { ...wouldRun(undo, `${addedHere ?? 'true'} and (${inPlace})`), ...(needle ? { vars: needle } : {}) },
        );
      } else {
        body.push({ name: title(undo.description), 'ansible.builtin.command': command(undo.argv), changed_when: true, when: 'not ansible_check_mode' });
      }
      if (step?.skipIf && addedHere) {
        // Afterwards the rule this playbook added is gone (read with the same check as before).
        const r = reg.verify(i, j);
        verify.push(
          { name: title(`Read back: ${renderCommand(step.skipIf)}`), 'ansible.builtin.command': command(step.skipIf), register: r, changed_when: false, failed_when: false },
          {
            name: title(`Fix ${i + 1}: what the playbook added is gone (${renderCommand(step.skipIf)})`),
            'ansible.builtin.assert': {
              that: [`not (${addedHere}) or ${step.skipIfContains === undefined ? `${r}.rc != 0` : `${r}.rc != 0 or ctd_needle not in ${r}.stdout`}`],
              fail_msg: `still in place on {{ inventory_hostname }}: ${renderCommand(step.skipIf).replace(/[{}]/g, '')}`,
            },
            ...(needleVars(step) ? { vars: needleVars(step) } : {}),
          },
        );
      }
    });
    if (body.length === 0) continue;
    tasks.push(new Commented(commentBlock([`Undo fix ${i + 1}: ${fix.title}`]), { name: title(`Undo fix ${i + 1}: ${fix.title}`), block: body }));
  }
  for (const f of c.files) {
    const r = reg.file(f.n);
    const saved = reg.saved(f.n);
    verify.push(
      statTask(f.path, r, `Read back ${f.path}`),
      {
        name: title(`Check that ${f.path} is byte for byte as before the playbook`),
        'ansible.builtin.assert': {
          that: [`${saved}.stat.exists and ${r}.stat.checksum | default('absent') == ${saved}.stat.checksum or not ${saved}.stat.exists and not ${r}.stat.exists`],
          fail_msg: `${f.path} on {{ inventory_hostname }} differs from its backup after the rollback`,
          quiet: true,
        },
      },
    );
  }
  const untouchable = c.fixes.filter((f) => f.rollback.length === 0 && f.fileEdits.length === 0);
  const comments = untouchable.map((f) => `${f.title}: cannot be undone (deleted entries cannot be restored).`);
  if (verify.length > 0) tasks.push({ name: 'Verify', when: 'not ansible_check_mode', block: verify });
  tasks.push(new Commented(commentBlock(comments), {
    name: 'Remove the record and the backups',
    'ansible.builtin.file': { path: '{{ item }}', state: 'absent' },
    loop: ['{{ conntrack_doctor_state_dir }}', '{{ conntrack_doctor_backup_dir }}'],
  }));
  return { ...playHead(c, `Conntrack Doctor rollback: ${c.fixes.map((f) => f.title).join('; ')}`.slice(0, 150), false), tasks };
}

function header(c: Context, rollback: boolean): string[] {
  const titles = c.fixes.map((f, i) => `  ${i + 1}. ${f.title}`);
  const lines = [
    `Conntrack Doctor ${rollback ? 'rollback playbook' : 'playbook'} ${c.id}`,
    ...(c.generatedBy ? [`Made with: ${c.generatedBy}`] : []),
    '',
    ...(rollback ? ['Undoes, on each host where it ran:'] : ['Fixes:']),
    ...titles,
    '',
    ...commentBlock([
      rollback
        ? `It restores every file from the backup the playbook took on that host (files it created are removed), sets every value it changed back to what that host had, removes only the rules it added, reads everything back, then removes its record (${ANSIBLE_STATE_ROOT}/${c.id}) and the backups.`
        : `Computed on ${c.computedOn} from its diagnosis: the values, the firewall backend and the sysctl precedence are ${c.computedOn}'s. On each host it does what "conntrack-doctor apply" does on ${c.computedOn}: check each file is as expected, write it, set the runtime values, read everything back.`,
    ]),
    '',
    `Preview:   ansible-playbook -i INVENTORY ${rollback ? c.rollbackFileName : c.fileName} --check --diff`,
    `Run:       ansible-playbook -i INVENTORY ${rollback ? c.rollbackFileName : c.fileName}${c.fixes.some((f) => f.destructive) && !rollback ? ' -e conntrack_doctor_confirm=true' : ''}`,
    ...(rollback ? [] : [`Roll back: ansible-playbook -i INVENTORY ${c.rollbackFileName}`]),
    `Hosts:     group "${c.hosts}" (-e conntrack_doctor_hosts=PATTERN)`,
    `Batches:   ${c.serial} of the hosts at a time (-e conntrack_doctor_serial=N); the play stops`,
    c.maxFail === 0 ? '           after the batch in which a host fails (max_fail_percentage 0).' : `           when more than ${c.maxFail} % of the hosts fail (max_fail_percentage ${c.maxFail}).`,
    '',
  ];
  if (!rollback) {
    lines.push(...fileSummary(c.files, c.computedOn));
    const boot = bootSummary(c.files, c.computedOn);
    if (boot.length > 0) lines.push('', ...boot, 'Other hosts may have other files that win at boot: their diagnosis says so (boot persistence).');
    lines.push('', 'State on each host (what the rollback needs, and the backups):', `  ${ANSIBLE_STATE_ROOT}/${c.id}/`, `  ${ANSIBLE_BACKUP_ROOT}/${c.id}/`);
  }
  return lines;
}

/** The playbook and its rollback for `fixes` (applied in that order). */
export function buildPlaybooks(input: PlaybookInput): ExportedPlaybooks {
  if (input.fixes.length === 0) throw new ValidationError('fixes', 'give at least one fix');
  // A host's name goes into comments and messages, never into a template: no braces.
  const computedOn = validateSingleLine('computedOn', input.computedOn);
  if (computedOn.length === 0 || computedOn.length > 200 || /[{}]/.test(computedOn)) throw new ValidationError('computedOn', `expected a host name, got ${JSON.stringify(computedOn)}`);
  const id = playbookId(input.fixes);
  const fileName = input.fileName ?? `conntrack-doctor-${id}.yml`;
  const c: Context = {
    fixes: input.fixes,
    files: managedFiles(input.fixes),
    id,
    computedOn,
    hosts: validateHostPattern('hosts', input.hosts ?? DEFAULT_HOST_GROUP),
    serial: validateSerial('serial', input.serial ?? DEFAULT_SERIAL),
    maxFail: input.maxFailPercentage ?? 0,
    fileName: validateSingleLine('fileName', fileName),
    rollbackFileName: validateSingleLine('rollbackFileName', input.rollbackFileName ?? rollbackNameFor(fileName)),
    generatedBy: input.generatedBy === undefined ? undefined : validateSingleLine('generatedBy', input.generatedBy),
  };
  if (!Number.isInteger(c.maxFail) || c.maxFail < 0 || c.maxFail > 100) throw new ValidationError('maxFailPercentage', 'expected an integer from 0 to 100');
  return {
    id,
    playbook: yamlDocument([applyPlay(c)], header(c, false)),
    rollback: yamlDocument([rollbackPlay(c)], header(c, true)),
    files: c.files.map((f) => f.path),
  };
}

/** `site.yml` → `site-rollback.yml`. */
export function rollbackNameFor(fileName: string): string {
  const m = /^(.*?)(\.ya?ml)?$/.exec(fileName);
  return `${m?.[1] ?? fileName}-rollback${m?.[2] ?? '.yml'}`;
}

