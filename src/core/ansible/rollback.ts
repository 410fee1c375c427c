/**
 * The rollback playbook: on each host where the playbook ran (its record exists), files back from
 * the host's own backups (or removed when the playbook created them), each value back to what
 * that host had, only the rules the playbook added removed, everything read back, the record and
 * the backups removed. Where there is no record it does nothing.
 */
import type { Fix } from '../fix/model';
import { renderCommand } from '../fix/quote';
import { sysctlWriteOf } from '../fix/steps';
import { Commented, Flow, type YamlMapping, type YamlNode } from './yaml';
import { commentBlock, command, handleTasks, needleVars, playHead, presentKey, readOnly, reg, sha256, statTask, title, wouldRun, type Context } from './tasks';

export function rollbackPlay(c: Context): YamlMapping {
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

