/**
 * The linter on files shaped like the ones public repositories hold (test/fixtures/sysctl-real-world,
 * written for this project): each file's findings are listed exactly, so a real mistake the
 * linter misses and a finding a senior engineer would call noise both fail the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { lintFiles, lintText, type LintFinding } from '../../../src/core/sysctl/lint';
import type { SysctlFile } from '../../../src/core/sysctl/loaders';
import type { BootFacts } from '../../../src/core/sysctl/boot';
import { GiB } from '../../../src/core/sizing';

const DIR = join(__dirname, '../../fixtures/sysctl-real-world');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const brief = (fs: readonly LintFinding[]): string[] => fs.map((f) => `${f.range.startLine + 1} ${f.severity} ${f.code}`);
/** Files linted as a repository holds them (not in a loader directory). */
const lintRepoFile = (name: string, options = {}): LintFinding[] => lintText(`roles/node/files/${name}`, read(name), options);

test('Kubernetes node image: an interface-key typo is caught with the interface kept; module keys (bridge) and neighbour tables are known', () => {
  const f = lintRepoFile('k8s-node.conf');
  assert.deepEqual(brief(f), ['8 warning unknown-key', '22 warning inline-comment']);
  assert.match(f[0]?.message ?? '', /Did you mean `net\.ipv4\.conf\.eth0\.rp_filter`/);
  assert.match(f[1]?.message ?? '', /applies 86400 and never reads the rest/);
});

test('database tuning guide: keys moved to debugfs and misspelled keys of every subsystem', () => {
  const f = lintRepoFile('database.conf');
  assert.deepEqual(brief(f), ['5 warning removed-key', '13 warning unknown-key', '14 warning unknown-key']);
  assert.match(f[0]?.message ?? '', /left sysctl in Linux 5\.13: it is `\/sys\/kernel\/debug\/sched\/migration_cost_ns` in debugfs/);
  assert.match(f[1]?.message ?? '', /Did you mean `fs\.file-max`/);
  assert.match(f[2]?.message ?? '', /Did you mean `net\.core\.rmem_max`/);
  // the quick fix renames the key and keeps the value
  assert.equal(f[1]?.fixes[0]?.edits[0]?.newText, 'fs.file-max');
});

test('hardening baseline: a distribution-only key is named, the rest (yama, bpf, tty, ipv6 conf) is known', () => {
  const f = lintRepoFile('hardening.conf');
  assert.deepEqual(brief(f), ['3 warning removed-key']);
  assert.match(f[0]?.message ?? '', /never existed in mainline Linux/);
  assert.match(f[0]?.message ?? '', /Red Hat/);
});

test('VPS anti-DDoS tuner: tcp_tw_recycle, tcp_mem in bytes, a read-only key, comments cut short or glued, and no advice on dead legacy lines', () => {
  const f = lintRepoFile('vps-ddos-tuner.conf');
  assert.deepEqual(brief(f), [
    '6 warning removed-key',
    '9 warning pages-not-bytes',
    '14 error inline-comment',
    '15 error read-only-key',
    '17 error inline-comment',
    '18 error legacy-key',
    '19 error legacy-key',
  ]);
  assert.match(f[0]?.message ?? '', /removed in Linux 4\.12.*behind NAT/s);
  assert.match(f[1]?.message ?? '', /16\.0 MiB \/ 341 MiB \/ 64\.0 GiB/);
  assert.match(f[2]?.message ?? '', /takes 2 numbers and the comment is read as number 2/);
  // 65535 just under a default is not a finding offline; checksum = 0 on a dead legacy line is not advised on
  assert.ok(!f.some((x) => x.code === 'max-below-default' || x.code === 'checksum-off'));
});

test('small router: its small max is info offline and quiet with its RAM known; with 8 GiB it is a warning', () => {
  const offline = lintRepoFile('router.conf');
  assert.deepEqual(brief(offline), ['2 warning duplicate-key', '6 warning checksum-off', '7 info max-below-default']);
  const router = lintRepoFile('router.conf', { context: { memTotalBytes: 128 * 1024 ** 2, kernelRelease: '6.6.0' } });
  assert.ok(!router.some((x) => x.code === 'max-below-default'));
  const server = lintRepoFile('router.conf', { context: { memTotalBytes: 8 * GiB, kernelRelease: '6.6.0' } });
  assert.equal(server.find((x) => x.code === 'max-below-default')?.severity, 'warning');
  // the dead first line (a duplicate) gets no advice of its own
  assert.ok(!server.some((x) => x.code === 'max-below-default' && x.range.startLine === 1));
});

test('unrendered templates: one finding that says "render it first", no invalid-syntax cascade, no duplicates across branches', () => {
  const j2 = lintRepoFile('sysctl.conf.j2');
  assert.deepEqual(brief(j2), ['1 info unrendered-template']);
  assert.match(j2[0]?.message ?? '', /unrendered Jinja template/);
  const erb = lintRepoFile('sysctl.conf.erb');
  assert.deepEqual(brief(erb), ['2 info unrendered-template']);
  assert.match(erb[0]?.message ?? '', /unrendered ERB template/);
  // in a directory a loader reads, the same file is a warning: it would be applied as it is
  const onHost = lintText('/etc/sysctl.d/90-node.conf', read('sysctl.conf.j2'));
  assert.deepEqual(brief(onHost), ['1 warning unrendered-template']);
  // plain lines of a template are still checked
  const mixed = lintText('t.conf', '{% if x %}\nvm.swappiness = 10\n{% endif %}\nnet.core.rmrm_max = 1\n');
  assert.deepEqual(brief(mixed), ['1 info unrendered-template', '4 warning unknown-key']);
  // a Helm (Go template) file is told apart from Jinja
  const helm = lintText('t.conf', '{{- range $k, $v := .Values.sysctls }}\n{{ $k }} = {{ $v }}\n{{- end }}\n');
  assert.match(helm[0]?.message ?? '', /Go template/);
});

function readTree(root: string): SysctlFile[] {
  const out: SysctlFile[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: `/${relative(root, p)}`, content: readFileSync(p, 'utf8') });
    }
  };
  walk(root);
  return out;
}

test('--root: a vendor default overridden from /etc is info, never a warning; OpenWrt\'s /etc/modules.d loads conntrack at boot', () => {
  const files = readTree(join(DIR, 'root-vendor'));
  const sysctl = files.filter((f) => f.path.includes('sysctl'));
  const boot: BootFacts = { modulesLoad: files.filter((f) => f.path.startsWith('/etc/modules.d/')).map((f) => ({ path: f.path, content: f.content ?? '' })), modprobe: [] };
  const f = lintFiles(sysctl, { boot });
  assert.deepEqual(f.map((x) => `${x.path}:${x.range.startLine + 1} ${x.severity} ${x.code}`), [
    '/usr/lib/sysctl.d/50-default.conf:2 info overridden',
    '/usr/lib/sysctl.d/50-default.conf:3 info overridden',
  ]);
  assert.match(f[0]?.message ?? '', /vendor default overridden from \/etc/);
  // without the OpenWrt module list, the net.netfilter line is lost at boot — and the fix goes where OpenWrt looks
  const lost = lintFiles(sysctl, { boot: { modulesLoad: [{ path: '/etc/modules.d/usb-core', content: 'usbcore\n' }], modprobe: [] } });
  const m = lost.find((x) => x.code === 'module-not-loaded-at-boot');
  assert.deepEqual(m?.fixes[0]?.files?.map((x) => x.path), ['/etc/modules.d/nf-conntrack']);
  // an /etc/sysctl.d file overridden by another /etc file is still a warning
  const admin = lintFiles([{ path: '/etc/sysctl.d/10-a.conf', content: 'kernel.sysrq = 1\n' }, { path: '/etc/sysctl.d/20-b.conf', content: 'kernel.sysrq = 0\n' }]);
  assert.equal(admin.find((x) => x.code === 'overridden')?.severity, 'warning');
});

test('systemd reads only *.conf in modules-load.d; OpenWrt reads every file of /etc/modules.d', () => {
  const text = 'net.netfilter.nf_conntrack_max = 262144\n';
  const has = (modulesLoad: { path: string; content: string }[]): boolean => lintText('/etc/sysctl.d/90-ct.conf', text, { boot: { modulesLoad, modprobe: [] } }).some((x) => x.code === 'module-not-loaded-at-boot');
  assert.equal(has([{ path: '/etc/modules-load.d/ct', content: 'nf_conntrack\n' }]), true);
  assert.equal(has([{ path: '/etc/modules-load.d/ct.conf', content: 'nf_conntrack\n' }]), false);
  assert.equal(has([{ path: '/etc/modules.d/nf-conntrack', content: 'nf_conntrack\n' }]), false);
  assert.equal(has([{ path: '/etc/modules-boot.d/02-conntrack', content: 'nf_conntrack\n' }]), false);
});
