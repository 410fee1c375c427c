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
import type { Fix } from '../fix/model';
import { renderCommand } from '../fix/quote';
import { sysctlWriteOf } from '../fix/steps';
import { ValidationError, validateSingleLine } from '../fix/validate';
import { loaderLabel } from '../sysctl/loaders';
import { Commented, Unsafe, yamlDocument, type YamlMapping, type YamlNode } from './yaml';
import {
  ANSIBLE_BACKUP_ROOT, ANSIBLE_STATE_ROOT, commentBlock, command, handlerName, lintRefuses, loadsSettings, managedFiles, message, parentDir, playHead, presentKey, readOnly, reg,
  runtimeTasks, sha256, statTask, title, guardTask, verifyTasks, writeTask, type Context, type ManagedFile,
} from './tasks';
import { rollbackPlay } from './rollback';

export { ANSIBLE_BACKUP_ROOT, ANSIBLE_STATE_ROOT } from './tasks';

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
// Header and notes

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

