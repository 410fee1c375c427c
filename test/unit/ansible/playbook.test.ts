/**
 * Fix model → playbook text (pure). What the playbook does on real hosts is tested in
 * test/integration/ansible*.test.ts; here: the conventions of the builders the derivation relies
 * on, what each fix kind becomes, and that nothing of a host's text can become a template.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Fix } from '../../../src/core/fix/model';
import { deleteEntries, flushTable, invalidDropRule, loadModuleAtBoot, raiseMax, setBuckets, setSysctl, MODULES_LOAD_PATH, SYSCTL_DROP_IN } from '../../../src/core/fix/builders';
import { sysctlWriteOf } from '../../../src/core/fix/steps';
import { ValidationError } from '../../../src/core/fix/validate';
import { ANSIBLE_STATE_ROOT, buildPlaybooks, rollbackNameFor } from '../../../src/core/ansible/playbook';
import { buildFixSequence, parseFixSpec, snapshotAfter } from '../../../src/core/ansible/fixes';
import { buildInventory } from '../../../src/core/ansible/inventory';
import { fixFromLintFix } from '../../../src/core/ansible/hostFileFix';
import { lintFixFileContent } from '../../../src/core/fix/lintFixFiles';
import type { HostSnapshot } from '../../../src/core/host/snapshot';

const sha = (t: string): string => createHash('sha256').update(t, 'utf8').digest('hex');
const NFT_CONF = 'table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0;\n\t}\n}\n';
const host = { conntrack: 'module', moduleLoadedAtBoot: false, files: [{ path: '/etc/sysctl.conf', content: 'vm.swappiness = 10\nnet.netfilter.nf_conntrack_max = 1\n' }] } as const;

function everyFix(): Record<string, Fix> {
  return {
    raiseMax: raiseMax({ ...host, value: 262144, current: 65536 }),
    setBuckets: setBuckets({ ...host, value: 65536, current: 16384 }),
    setBucketsBuiltin: setBuckets({ conntrack: 'builtin', moduleLoadedAtBoot: false, files: [], value: 65536, current: 16384 }),
    setTimeout: setSysctl({ ...host, key: 'net.netfilter.nf_conntrack_udp_timeout', value: 10, current: 30, tradeOff: 'one-way UDP flows idle over 10 s lose their entry' }),
    loadModule: loadModuleAtBoot({ conntrack: 'module', moduleLoadedAtBoot: false }),
    deleteEntries: deleteEntries({ filter: { src: '2001:db8::/64', proto: 'udp', dport: 53 }, expectedCount: 10 }),
    flush: flushTable({ entryCount: 100 }),
    nft: invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'filter', chain: 'input' }, persistence: { kind: 'nftables-conf', content: NFT_CONF } }),
    iptablesLegacy: invalidDropRule({ target: { kind: 'iptables', backend: 'legacy', coexisting: true }, persistence: { kind: 'netfilter-persistent' }, ipv6: true }),
    iptablesNft: invalidDropRule({ target: { kind: 'iptables', backend: 'nf_tables' }, persistence: { kind: 'none' } }),
  };
}

test('the builders\' conventions the playbooks rely on: rollback[i] undoes runtime[i]; every sysctl write is read back', () => {
  for (const [name, fix] of Object.entries(everyFix())) {
    assert.ok(fix.rollback.length <= fix.runtime.length, name);
    fix.rollback.forEach((undo, i) => {
      const step = fix.runtime[i];
      assert.ok(step, `${name}: rollback[${i}] has no runtime step`);
      const w = sysctlWriteOf(step);
      if (w) {
        assert.equal(sysctlWriteOf(undo)?.key, w.key, `${name}: rollback[${i}] restores another key`);
      } else if (undo.handleFrom) {
        assert.equal(undo.handleFrom.lineContains, step.skipIfContains, `${name}: rollback[${i}] deletes another rule`);
      } else {
        // iptables: -I CHAIN 1 SPEC  ↔  -D CHAIN SPEC, with -C CHAIN SPEC as the check
        const ins = step.argv.indexOf('-I');
        assert.deepEqual([...step.argv.slice(0, ins), '-D', step.argv[ins + 1], ...step.argv.slice(ins + 3)], [...undo.argv], `${name}: rollback[${i}] is not the runtime step's undo`);
        assert.deepEqual(step.skipIf, undo.argv.map((a) => (a === '-D' ? '-C' : a)), `${name}: the check is not the same rule`);
      }
    });
    for (const step of fix.runtime) {
      const w = sysctlWriteOf(step);
      if (!w) continue;
      assert.ok(fix.verify.some((v) => v.argv.join(' ') === `sysctl -n ${w.key}` && v.expect.kind === 'equals' && v.expect.value === w.value), `${name}: ${w.key} is not read back`);
    }
  }
});

test('every fix kind: the playbook writes the exact contents, guarded by what the fix was computed from', () => {
  for (const [name, fix] of Object.entries(everyFix())) {
    const p = buildPlaybooks({ fixes: [fix], computedOn: 'web-1', fileName: `${name}.yml` });
    assert.match(p.playbook, /^---\n# Conntrack Doctor playbook /);
    assert.match(p.playbook, /\n {2}hosts: "\{\{ conntrack_doctor_hosts \| default\('conntrack_doctor'\) \}\}"\n/);
    assert.match(p.playbook, /\n {2}become: true\n/);
    assert.match(p.playbook, /\n {2}serial: "\{\{ conntrack_doctor_serial \| default\('10%'\) \}\}"\n {2}max_fail_percentage: 0\n/);
    assert.ok(p.playbook.includes(`${ANSIBLE_STATE_ROOT}/${p.id}`));
    assert.equal(p.rollback.includes(`# Conntrack Doctor rollback playbook ${p.id}`), true, `${name}: rollback of the same id`);
    for (const e of fix.fileEdits) {
      assert.ok(p.playbook.includes(`dest: ${e.path}\n`), `${name}: ${e.path} not written`);
      assert.ok(p.playbook.includes(sha(e.after)), `${name}: the guard does not know the content it writes`);
      assert.ok(p.playbook.includes(e.before === undefined ? '- absent\n' : sha(e.before)), `${name}: the guard does not know ${e.path} as it was`);
      // the content, line by line: in a literal block that Ansible never templates, or (tabs, as
      // nftables.conf has) as base64 shown decoded in comment lines above the task
      const encoded = e.after.includes('\t');
      for (const line of e.after.split('\n').filter(Boolean)) assert.ok(p.playbook.includes(encoded ? `\n${' '.repeat(8)}# | ${line}\n` : `\n${' '.repeat(14)}${line}\n`), `${name}: ${line}`);
      if (encoded) assert.ok(p.playbook.includes(Buffer.from(e.after, 'utf8').toString('base64').slice(0, 76)), `${name}: base64`);
      assert.ok(p.rollback.includes(`Restore ${e.path} from the backup`));
    }
    for (const s of fix.runtime) assert.ok(p.playbook.includes(s.argv.filter((a) => a !== '{handle}')[0] ?? ''), name);
    assert.equal(p.playbook.includes('conntrack_doctor_confirm'), fix.destructive, `${name}: confirmation iff destructive`);
    assert.equal(/\n {2}any_errors_fatal: true\n/.test(p.playbook), fix.destructive, name);
    assert.deepEqual(p.files, [...fix.fileEdits.map((e) => e.path), ...fix.runtime.flatMap((s) => (s.stdoutTo ? [s.stdoutTo] : []))]);
  }
});

test('settings: a file of our own loaded by a handler; the runtime write only while the live value differs', () => {
  const fix = everyFix()['setTimeout'] as Fix;
  const p = buildPlaybooks({ fixes: [fix], computedOn: 'web-1' });
  assert.ok(fix.fileEdits.some((e) => e.path === SYSCTL_DROP_IN));
  assert.match(p.playbook, /handlers:\n {4}- name: Load \/etc\/sysctl\.d\/90-conntrack-doctor\.conf\n {6}ansible\.builtin\.command:\n {8}argv: \[sysctl, "-p", \/etc\/sysctl\.d\/90-conntrack-doctor\.conf\]\n/);
  assert.match(p.playbook, /notify: Load \/etc\/sysctl\.d\/90-conntrack-doctor\.conf\n/);
  // /etc/sysctl.conf is edited too (its line overrode the drop-in): guarded, no handler for it
  assert.doesNotMatch(p.playbook, /notify: Load \/etc\/sysctl\.conf/);
  assert.match(p.playbook, /argv: \[sysctl, "-w", net\.netfilter\.nf_conntrack_udp_timeout=10\]\n {10}changed_when: true\n {10}when: not ansible_check_mode and ctd_fix1_live_1\.stdout \| trim != ctd_value\n/);
  assert.match(p.playbook, /ansible\.builtin\.meta: flush_handlers\n[\s\S]*name: Verify\n {6}when: not ansible_check_mode\n/);
  // the rollback sets the value each host had (recorded there), never web-1's 30
  assert.match(p.rollback, /argv: \[sysctl, "-w", "\{\{ ctd_key \}\}=\{\{ ctd_state\.sysctl\[ctd_key\] \}\}"\]/);
  assert.doesNotMatch(p.rollback, /udp_timeout=30/);
  assert.match(p.playbook, /net\.netfilter\.nf_conntrack_udp_timeout: "\{\{ ctd_fix1_prev_1\.stdout \| trim \}\}"/);
});

test('nftables: the persisted file is validated with nft -c -f before it replaces the host\'s; a rule the host had is not removed by the rollback', () => {
  const p = buildPlaybooks({ fixes: [everyFix()['nft'] as Fix], computedOn: 'web-1' });
  assert.match(p.playbook, /dest: \/etc\/nftables\.conf\n[\s\S]*?validate: nft -c -f %s\n/);
  assert.match(p.playbook, /when: not ansible_check_mode and \(ctd_fix1_check_1\.rc != 0 or ctd_needle not in ctd_fix1_check_1\.stdout\)/);
  assert.match(p.playbook, /fix1_step1: "\{\{ ctd_fix1_was_1\.rc == 0 and ctd_needle_1_1 in ctd_fix1_was_1\.stdout \}\}"/);
  assert.match(p.rollback, /argv: \[nft, delete, rule, inet, filter, input, handle, "\{\{ item \}\}"\]/);
  assert.match(p.rollback, /when: "not ansible_check_mode and \(not \(ctd_state\.present\['fix1_step1'\] \| default\(false\) \| bool\)\)"/);
});

test('iptables: the rules file written from iptables-save without its timestamps and counters, so a second run changes nothing', () => {
  const p = buildPlaybooks({ fixes: [everyFix()['iptablesLegacy'] as Fix], computedOn: 'web-1' });
  assert.match(p.playbook, /argv: \[iptables-legacy-save\]\n {10}register: ctd_fix1_out_3\n/);
  // A double-quoted YAML scalar (each backslash written twice), folded at spaces.
  const content = /content: ("\{\{ ctd_fix1_out_3[^"]*")\n/.exec(p.playbook)?.[1]?.replace(/\n\s+/g, ' ');
  assert.equal(content, `"{{ ctd_fix1_out_3.stdout | regex_replace('(?m)^# (Generated|Completed) .*\\\\n?', '') | regex_replace('(?m)^(:\\\\S+ \\\\S+) \\\\[[0-9]+:[0-9]+\\\\]$', '\\\\1 [0:0]') | trim }}\\n"`);
  assert.match(p.rollback, /Delete the tagged INVALID drop rule from INPUT \(ip6tables-legacy\)\n/);
});

test('destructive fixes: refused unless confirmed, once per host, whole play stops on an error', () => {
  const p = buildPlaybooks({ fixes: [everyFix()['flush'] as Fix], computedOn: 'web-1' });
  assert.match(p.playbook, /- name: Refuse the destructive fixes unless confirmed\n {6}ansible\.builtin\.assert:\n {8}that:\n {10}- conntrack_doctor_confirm \| default\(false\) \| bool\n/);
  assert.match(p.playbook, /path: "\{\{ conntrack_doctor_state_dir \}\}\/fix1-step1\.done"/);
  assert.match(p.playbook, /argv: \[conntrack, "-F"\]\n[\s\S]*?when: not ansible_check_mode and not ctd_fix1_done_1\.stat\.exists\n/);
  assert.match(p.playbook, /- name: "Fix 1: Flush the conntrack table"\n {6}any_errors_fatal: true\n {6}block:/);
  assert.match(p.rollback, /# Flush the conntrack table: cannot be undone/);
});

test('several fixes on one file: built one after the other they become one write; built from the same state they are refused', () => {
  const snap: HostSnapshot = {
    takenAt: 0, max: 65536, buckets: 16384, count: 60000, conntrackModule: 'builtin', initialNetns: true,
    sysctl: { 'net.netfilter.nf_conntrack_max': '65536', 'net.netfilter.nf_conntrack_tcp_timeout_established': '432000', 'net.netfilter.nf_conntrack_buckets': '16384' },
    sysctlFiles: [], modulesLoad: [], modprobe: [],
  };
  const fixes = buildFixSequence(snap, [parseFixSpec('raise-max=131072'), parseFixSpec('set-timeout=86400')]);
  const [first, second] = fixes;
  assert.ok(first && second);
  assert.equal(second.fileEdits[0]?.before, first.fileEdits[0]?.after, 'the second edit starts where the first ended');
  const p = buildPlaybooks({ fixes, computedOn: 'web-1' });
  assert.equal(p.playbook.split(`dest: ${SYSCTL_DROP_IN}\n`).length - 1, 1, 'one write of the drop-in');
  assert.match(p.playbook, /net\.netfilter\.nf_conntrack_max = 131072\n[\s\S]*net\.netfilter\.nf_conntrack_tcp_timeout_established = 86400\n/);
  assert.equal(snapshotAfter(snap, first).max, 131072);
  assert.equal(snapshotAfter(snap, first).sysctlFiles?.find((f) => f.path === SYSCTL_DROP_IN)?.content, first.fileEdits[0]?.after);
  // the same two fixes built from the same snapshot disagree about the file's content
  const independent = [raiseMax({ conntrack: 'builtin', moduleLoadedAtBoot: false, files: [], value: 131072, current: 65536 }), setSysctl({ conntrack: 'builtin', moduleLoadedAtBoot: false, files: [], key: 'net.netfilter.nf_conntrack_udp_timeout', value: 10, current: 30, tradeOff: 'x' })];
  assert.throws(() => buildPlaybooks({ fixes: independent, computedOn: 'web-1' }), /build the fixes one after the other/);
  // the id names the fixes and changes with what they do
  assert.match(p.id, /^raise-max-set-timeout-[0-9a-f]{10}$/);
  assert.equal(buildPlaybooks({ fixes, computedOn: 'other' }).id, p.id, 'the id does not depend on where it is run');
  assert.notEqual(buildPlaybooks({ fixes: buildFixSequence(snap, [parseFixSpec('raise-max=131073')]), computedOn: 'web-1' }).id.slice(-10), p.id.slice(-10));
});

test('a host\'s text never becomes a template: contents are !unsafe, or base64 when they hold Jinja; names and messages carry no braces', () => {
  const plain = raiseMax({ conntrack: 'builtin', moduleLoadedAtBoot: false, files: [], value: 131072, current: 65536 });
  assert.match(buildPlaybooks({ fixes: [plain], computedOn: 'web-1' }).playbook, /\n {12}content: !unsafe \|\n/);
  const evil = "net.netfilter.nf_conntrack_max = 1\n# {{ lookup('pipe', 'touch /tmp/pwned') }} {% raw %}\n";
  const fix = raiseMax({ conntrack: 'builtin', moduleLoadedAtBoot: false, files: [{ path: SYSCTL_DROP_IN, content: evil }], value: 131072, current: 65536 });
  const p = buildPlaybooks({ fixes: [fix], computedOn: 'web-1' });
  // the text is not a value anywhere, only in the comment lines that show it
  assert.deepEqual(p.playbook.split('\n').filter((l) => /lookup|raw %/.test(l)).map((l) => l.trim().slice(0, 4)), ['# | '], 'the text is not in the playbook as a value');
  const b64 = /content: "\{\{ ctd_content_b64 \| b64decode \}\}"\n[\s\S]*?ctd_content_b64: \|\n((?: {14}[A-Za-z0-9+/=]+\n)+)/.exec(p.playbook)?.[1];
  assert.ok(b64, p.playbook);
  assert.equal(Buffer.from(b64.replace(/\s+/g, ''), 'base64').toString('utf8'), fix.fileEdits[0]?.after);
  for (const l of p.playbook.split('\n').filter((x) => /^\s*-? ?name:/.test(x))) assert.doesNotMatch(l, /[{}]/, l);
});

test('bad input is refused with the field named', () => {
  const fix = everyFix()['setTimeout'] as Fix;
  assert.throws(() => buildPlaybooks({ fixes: [], computedOn: 'web-1' }), ValidationError);
  assert.throws(() => buildPlaybooks({ fixes: [fix], computedOn: "web-1') }}{{ x" }), /computedOn/);
  assert.throws(() => buildPlaybooks({ fixes: [fix], computedOn: 'web-1', hosts: "all') }}" }), /hosts: expected an Ansible host pattern/);
  assert.throws(() => buildPlaybooks({ fixes: [fix], computedOn: 'web-1', serial: '10 %' }), /serial/);
  assert.throws(() => buildPlaybooks({ fixes: [fix], computedOn: 'web-1', maxFailPercentage: 101 }), /maxFailPercentage/);
  assert.doesNotThrow(() => buildPlaybooks({ fixes: [fix], computedOn: 'ops@10.0.0.5:2222', hosts: 'web:&prod:!web-3', serial: '2' }));
  assert.equal(rollbackNameFor('site.yml'), 'site-rollback.yml');
  assert.equal(rollbackNameFor('site.yaml'), 'site-rollback.yaml');
  assert.equal(rollbackNameFor('site'), 'site-rollback.yml');
});

test('fix specs on the command line', () => {
  assert.deepEqual(parseFixSpec('raise-max'), { id: 'raise-max', params: {} });
  assert.deepEqual(parseFixSpec('raise-max=524288'), { id: 'raise-max', params: { value: '524288' } });
  assert.deepEqual(parseFixSpec('set-sysctl:net.netfilter.nf_conntrack_udp_timeout=10'), { id: 'set-sysctl', params: { key: 'net.netfilter.nf_conntrack_udp_timeout', value: '10' } });
  assert.throws(() => parseFixSpec('raise-maximum'), /unknown fix "raise-maximum"/);
  assert.throws(() => parseFixSpec('flush-table=3'), /flush-table takes no value/);
  assert.throws(() => parseFixSpec('raise-max:k=1'), /raise-max takes no key/);
  assert.throws(() => parseFixSpec('raise-max=1; rm -rf /'), /must be a whole number/);
});

test('inventory from ssh config aliases', () => {
  assert.equal(
    buildInventory({ group: 'conntrack_doctor', hosts: ['web-1', 'db-1'], sshConfigFile: '/home/me/ssh config' }),
    [
      '---',
      '# Inventory for Conntrack Doctor playbooks: the hosts of /home/me/ssh config.',
      '# OpenSSH resolves each name from that config (address, user, key, host key checking).',
      'all:',
      '  children:',
      '    conntrack_doctor:',
      '      hosts:',
      '        web-1: {}',
      '        db-1: {}',
      '      vars:',
      `        ansible_ssh_common_args: !unsafe "-F '/home/me/ssh config'"`,
      '',
    ].join('\n'),
  );
  assert.throws(() => buildInventory({ group: 'conntrack_doctor', hosts: [] }), /no concrete Host/);
  assert.throws(() => buildInventory({ group: 'a-b', hosts: ['x'] }), /group/);
  assert.throws(() => buildInventory({ group: 'g', hosts: ['x y'] }), /cannot be an inventory host name/);
});

test('a quick fix on a host file: the file as it leaves it, the files beside it, and its values at runtime', () => {
  const path = '/etc/sysctl.d/70-app.conf';
  const text = 'net.netfilter.nf_conntrack_tcp_timeout_established = 7200 # raised\n';
  const fix = fixFromLintFix({
    path,
    hostContent: text,
    text,
    fix: {
      title: 'Move the comment to the line above',
      preferred: true,
      edits: [{ range: { startLine: 0, startCol: 0, endLine: 0, endCol: 0 }, newText: '# raised\n' }, { range: { startLine: 0, startCol: 57, endLine: 0, endCol: 66 }, newText: '' }],
      files: [{ path: MODULES_LOAD_PATH, content: 'nf_conntrack\n' }],
    },
    contentOf: (p) => (p === MODULES_LOAD_PATH ? '# mine\n' : undefined),
    live: { 'net.netfilter.nf_conntrack_tcp_timeout_established': '432000' },
    initialNetns: false,
  });
  assert.equal(fix.fileEdits[0]?.after, '# raised\nnet.netfilter.nf_conntrack_tcp_timeout_established = 7200\n');
  assert.deepEqual(fix.fileEdits[1], { path: MODULES_LOAD_PATH, description: `Move the comment to the line above (${MODULES_LOAD_PATH})`, before: '# mine\n', after: '# mine\nnf_conntrack\n', winsAfter: [] });
  assert.deepEqual(fix.runtime.map((s) => s.argv.join(' ')), ['sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=7200']);
  assert.deepEqual(fix.rollback.map((s) => s.argv.join(' ')), ['sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=432000']);
  assert.ok(!fix.notes.some((n) => n.includes('already saved')), 'the playbook writes the file itself');
  assert.match(buildPlaybooks({ fixes: [fix], computedOn: 'web-1' }).playbook, /dest: \/etc\/sysctl\.d\/70-app\.conf\n/);
  // what the quick fix's files make of a file, in one place (the editor uses it too)
  assert.equal(lintFixFileContent(undefined, 'nf_conntrack\n'), 'nf_conntrack\n');
  assert.equal(lintFixFileContent('a', 'nf_conntrack\n'), 'a\nnf_conntrack\n');
  assert.equal(lintFixFileContent('nf_conntrack\n', 'nf_conntrack\n'), undefined);
});
