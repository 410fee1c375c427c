/** Precedence across files for both loaders, and files a loader does not read. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lintFiles } from '../../../src/core/sysctl/lint';
import { computePrecedence, parseFiles, planLoader, winner, type SysctlFile } from '../../../src/core/sysctl/loaders';

const MAX = 'net.netfilter.nf_conntrack_max';

const debianLike: SysctlFile[] = [
  { path: '/etc/sysctl.conf', content: `${MAX} = 131072\n` },
  { path: '/etc/sysctl.d/99-sysctl.conf', linkTarget: '../sysctl.conf', content: `${MAX} = 131072\n` },
  { path: '/etc/sysctl.d/10-net.conf', content: `${MAX} = 65536\n` },
  { path: '/usr/lib/sysctl.d/50-default.conf', content: 'kernel.sysrq = 16\n' },
];

test('systemd order: by file name across directories; sysctl.conf only through the 99-sysctl.conf link', () => {
  const plan = planLoader('systemd', debianLike);
  assert.deepEqual(plan.applied.map((a) => a.path), ['/etc/sysctl.d/10-net.conf', '/usr/lib/sysctl.d/50-default.conf', '/etc/sysctl.d/99-sysctl.conf']);
  assert.equal(plan.applied[2]?.contentPath, '/etc/sysctl.conf');
});

test('procps order: sysctl.d by name, then /etc/sysctl.conf last (read twice with the link)', () => {
  const plan = planLoader('procps', debianLike);
  assert.deepEqual(plan.applied.map((a) => a.path), ['/etc/sysctl.d/10-net.conf', '/usr/lib/sysctl.d/50-default.conf', '/etc/sysctl.d/99-sysctl.conf', '/etc/sysctl.conf']);
});

test('same-name files: /etc shadows /usr/lib; /dev/null masks; /lib/sysctl.d is procps-only', () => {
  const files: SysctlFile[] = [
    { path: '/etc/sysctl.d/50-default.conf', content: 'a.b = 1\n' },
    { path: '/usr/lib/sysctl.d/50-default.conf', content: 'a.b = 2\n' },
    { path: '/etc/sysctl.d/60-vendor.conf', linkTarget: '/dev/null', content: '' },
    { path: '/usr/lib/sysctl.d/60-vendor.conf', content: 'a.c = 1\n' },
    { path: '/lib/sysctl.d/70-old.conf', content: 'a.d = 1\n' },
    { path: '/etc/sysctl.d/README', content: 'not a conf\n' },
  ];
  const s = planLoader('systemd', files);
  assert.deepEqual(s.applied.map((a) => a.path), ['/etc/sysctl.d/50-default.conf']);
  assert.deepEqual(s.skipped.map((x) => `${x.path}:${x.reason}`).sort(), [
    '/etc/sysctl.d/60-vendor.conf:masked', '/etc/sysctl.d/README:not-conf', '/lib/sysctl.d/70-old.conf:not-read',
    '/usr/lib/sysctl.d/50-default.conf:shadowed', '/usr/lib/sysctl.d/60-vendor.conf:shadowed',
  ]);
  const p = planLoader('procps', files);
  assert.deepEqual(p.applied.map((a) => a.path), ['/etc/sysctl.d/50-default.conf', '/lib/sysctl.d/70-old.conf']);
});

test('winner: last accepted write; a refused later value leaves the earlier one', () => {
  // `200000#bigger` is refused (the kernel needs a blank after the number); `200000 # bigger` is applied as 200000.
  const refused = parseFiles([
    { path: '/etc/sysctl.d/10-a.conf', content: `${MAX} = 100000\n` },
    { path: '/etc/sysctl.d/20-b.conf', content: `${MAX} = 200000#bigger\n` },
  ]);
  assert.equal(winner(computePrecedence('systemd', refused), MAX)?.path, '/etc/sysctl.d/10-a.conf');
  const applied = parseFiles([
    { path: '/etc/sysctl.d/10-a.conf', content: `${MAX} = 100000\n` },
    { path: '/etc/sysctl.d/20-b.conf', content: `${MAX} = 200000 # bigger\n` },
  ]);
  assert.equal(winner(computePrecedence('systemd', applied), MAX)?.path, '/etc/sysctl.d/20-b.conf');
  const alias = winner(computePrecedence('systemd', parseFiles([{ path: '/etc/sysctl.d/30-c.conf', content: 'net.nf_conntrack_max = 5\n' }])), MAX);
  assert.equal(alias?.assignment.value.text, '5');
});

test('overridden under both loaders: unnecessary, names the winner', () => {
  const f = lintFiles([
    { path: '/etc/sysctl.d/10-a.conf', content: `${MAX} = 100000\n` },
    { path: '/etc/sysctl.d/20-b.conf', content: `${MAX} = 262144\n` },
  ]).filter((x) => x.code === 'overridden');
  assert.equal(f.length, 1);
  assert.equal(f[0]?.path, '/etc/sysctl.d/10-a.conf');
  assert.equal(f[0]?.unnecessary, true);
  assert.match(f[0]?.message ?? '', /systemd-sysctl by \/etc\/sysctl\.d\/20-b\.conf:1 .*sysctl --system \(procps\) by \/etc\/sysctl\.d\/20-b\.conf:1/);
  assert.doesNotMatch(f[0]?.message ?? '', /disagree/);
  assert.equal(f[0]?.related[0]?.path, '/etc/sysctl.d/20-b.conf');
});

test('loaders disagree: 99-zzz beats the 99-sysctl.conf link under systemd, sysctl.conf beats all under procps', () => {
  const files: SysctlFile[] = [...debianLike, { path: '/etc/sysctl.d/99-zzz.conf', content: `${MAX} = 65536\n` }];
  const f = lintFiles(files).filter((x) => x.code === 'overridden');
  const conf = f.find((x) => x.path === '/etc/sysctl.conf');
  assert.ok(conf, JSON.stringify(f.map((x) => x.path)));
  assert.match(conf.message, /under systemd-sysctl by \/etc\/sysctl\.d\/99-zzz\.conf:1/);
  assert.match(conf.message, /read as \/etc\/sysctl\.d\/99-sysctl\.conf/);
  assert.match(conf.message, /disagree: under sysctl --system \(procps\) this line wins/);
  assert.equal(conf.unnecessary, false);
  const zzz = f.find((x) => x.path === '/etc/sysctl.d/99-zzz.conf');
  assert.match(zzz?.message ?? '', /under sysctl --system \(procps\) by \/etc\/sysctl\.conf:1/);
  // the link itself is not linted twice
  assert.ok(!f.some((x) => x.path === '/etc/sysctl.d/99-sysctl.conf'));
});

test('--loader systemd alone judges only systemd', () => {
  const files: SysctlFile[] = [...debianLike, { path: '/etc/sysctl.d/99-zzz.conf', content: `${MAX} = 65536\n` }];
  const f = lintFiles(files, { loaders: ['systemd'] }).filter((x) => x.code === 'overridden');
  assert.deepEqual(f.map((x) => x.path), ['/etc/sysctl.conf']);
});

test('overridden with the same value is not reported', () => {
  const f = lintFiles([
    { path: '/etc/sysctl.d/10-a.conf', content: `${MAX} = 262144\n` },
    { path: '/etc/sysctl.d/20-b.conf', content: `${MAX} = 262144\n` },
  ]);
  assert.ok(!f.some((x) => x.code === 'overridden'));
});

test('/etc/sysctl.conf without the 99-sysctl.conf link is not read by systemd-sysctl', () => {
  const f = lintFiles([
    { path: '/etc/sysctl.conf', content: `# tuned\n${MAX} = 262144\n` },
    { path: '/etc/sysctl.d/10-net.conf', content: 'net.core.somaxconn = 4096\n' },
  ]);
  const nl = f.find((x) => x.code === 'file-not-loaded');
  assert.ok(nl);
  assert.equal(nl.range.startLine, 1);
  assert.match(nl.message, /systemd-sysctl does not read \/etc\/sysctl\.conf unless \/etc\/sysctl\.d\/99-sysctl\.conf links to it/);
  // with the link it is read
  const ok = lintFiles([...debianLike]);
  assert.ok(!ok.some((x) => x.code === 'file-not-loaded'));
});

test('a shadowed file is reported as not loaded, naming what shadows it', () => {
  const f = lintFiles([
    { path: '/etc/sysctl.d/50-x.conf', content: 'a.b = 1\n' },
    { path: '/usr/lib/sysctl.d/50-x.conf', content: 'a.b = 2\n' },
  ]).filter((x) => x.code === 'file-not-loaded');
  assert.equal(f.length, 1);
  assert.equal(f[0]?.path, '/usr/lib/sysctl.d/50-x.conf');
  assert.match(f[0]?.message ?? '', /\/etc\/sysctl\.d\/50-x\.conf shadows it/);
});

test('files outside loader directories get no precedence verdicts', () => {
  const f = lintFiles([
    { path: 'conf/a.conf', content: `${MAX} = 1000000\n` },
    { path: 'conf/b.conf', content: `${MAX} = 65536\n` },
  ]);
  assert.ok(!f.some((x) => x.code === 'overridden' || x.code === 'file-not-loaded'));
});

test('targets limit reporting to the given files while others stay context', () => {
  const f = lintFiles([
    { path: '/etc/sysctl.d/10-a.conf', content: `${MAX} = 100000\nnet.netfilter.nf_conntrack_tcp_loose = 0\n` },
    { path: '/etc/sysctl.d/20-b.conf', content: `${MAX} = 262144\nnet.netfilter.nf_conntrack_checksum = 0\n` },
  ], { targets: ['/etc/sysctl.d/10-a.conf'] });
  assert.deepEqual([...new Set(f.map((x) => x.path))], ['/etc/sysctl.d/10-a.conf']);
  assert.ok(f.some((x) => x.code === 'overridden'));
});
