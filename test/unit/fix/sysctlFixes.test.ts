import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileEdit, Fix } from '../../../src/core/fix/model';
import { loadModuleAtBoot, persistSysctlKey, raiseMax, setBuckets, setConntrackTimeout, setSysctl, SYSCTL_DROP_IN, MODULES_LOAD_PATH, MODPROBE_PATH } from '../../../src/core/fix/builders';
import { ValidationError } from '../../../src/core/fix/validate';
import { LOADERS, computePrecedence, parseFiles, winner, type SysctlFile } from '../../../src/core/sysctl/loaders';

const MAX = 'net.netfilter.nf_conntrack_max';
const DEBIAN_LINK: SysctlFile = { path: '/etc/sysctl.d/99-sysctl.conf', linkTarget: '../sysctl.conf', content: '# defaults\n' };
const SYSCTL_CONF: SysctlFile = { path: '/etc/sysctl.conf', content: '# defaults\n' };

const base = { conntrack: 'module', moduleLoadedAtBoot: true } as const;

function edit(fix: Fix, path: string): FileEdit {
  const e = fix.fileEdits.find((f) => f.path === path);
  assert.ok(e, `no edit for ${path}; edits: ${fix.fileEdits.map((f) => f.path).join(', ')}`);
  return e;
}

/** The host's files after every FileEdit of the fix is applied. */
function applyEdits(files: readonly SysctlFile[], fix: Fix): SysctlFile[] {
  const out = files.map((f) => {
    const e = fix.fileEdits.find((x) => x.path === f.path);
    return e ? { ...f, content: e.after } : f;
  });
  for (const e of fix.fileEdits) if (!files.some((f) => f.path === e.path)) out.push({ path: e.path, content: e.after });
  // a link shows its target's content
  return out.map((f) => (f.linkTarget === '../sysctl.conf' ? { ...f, content: out.find((x) => x.path === '/etc/sysctl.conf')?.content } : f));
}

function effective(files: readonly SysctlFile[], key: string): Record<string, string | undefined> {
  const parsed = parseFiles(files);
  return Object.fromEntries(LOADERS.map((l) => [l, winner(computePrecedence(l, parsed), key)?.assignment.value.text]));
}

test('raise-max: runtime write, read-back, rollback, drop-in, initial netns', () => {
  const fix = raiseMax({ ...base, value: 262144, current: '65536', files: [DEBIAN_LINK, SYSCTL_CONF] });
  assert.equal(fix.id, 'raise-max');
  assert.equal(fix.needsInitialNetns, true);
  assert.equal(fix.destructive, false);
  assert.deepEqual(fix.runtime.map((s) => [s.argv, s.privileged]), [[['sysctl', '-w', `${MAX}=262144`], true]]);
  assert.deepEqual(fix.verify.map((v) => [v.argv, v.expect]), [[['sysctl', '-n', MAX], { kind: 'equals', value: '262144' }]]);
  assert.deepEqual(fix.rollback.map((s) => s.argv), [['sysctl', '-w', `${MAX}=65536`]]);
  const dropIn = edit(fix, SYSCTL_DROP_IN);
  assert.equal(dropIn.before, undefined);
  assert.equal(dropIn.createMode, 0o644);
  assert.match(dropIn.after, /\nnet\.netfilter\.nf_conntrack_max = 262144\n$/);
  assert.deepEqual(dropIn.winsAfter.map((w) => [w.loader, w.path, w.value]), [['systemd', SYSCTL_DROP_IN, '262144'], ['procps', SYSCTL_DROP_IN, '262144']]);
  assert.equal(fix.fileEdits.length, 1, 'module already loaded at boot: no modules-load edit');
  assert.match(fix.notes.join('\n'), /MiB/);
});

test('raise-max: a later /etc/sysctl.d/99-zzz.conf is commented out and the drop-in wins under both loaders', () => {
  const zzz: SysctlFile = { path: '/etc/sysctl.d/99-zzz.conf', content: `vm.swappiness = 10\n${MAX} = 65536\n` };
  const files = [DEBIAN_LINK, SYSCTL_CONF, zzz];
  assert.deepEqual(effective(files, MAX), { systemd: '65536', procps: '65536' });
  const fix = raiseMax({ ...base, value: 262144, current: 65536, files });
  const cut = edit(fix, zzz.path);
  assert.equal(cut.before, zzz.content);
  assert.equal(cut.after, `vm.swappiness = 10\n# conntrack-doctor: disabled so that ${SYSCTL_DROP_IN} sets this key: ${MAX} = 65536\n`);
  for (const e of fix.fileEdits.filter((f) => f.path !== MODULES_LOAD_PATH)) {
    assert.deepEqual(
      e.winsAfter.map((w) => [w.loader, w.path, w.value]),
      [['systemd', SYSCTL_DROP_IN, '262144'], ['procps', SYSCTL_DROP_IN, '262144']],
    );
  }
  assert.deepEqual(effective(applyEdits(files, fix), MAX), { systemd: '262144', procps: '262144' });
});

test('raise-max: /etc/sysctl.conf (procps applies it last; systemd via 99-sysctl.conf) is commented out too', () => {
  const conf: SysctlFile = { path: '/etc/sysctl.conf', content: `${MAX}=100000\n` };
  const link: SysctlFile = { ...DEBIAN_LINK, content: conf.content };
  const files = [link, conf];
  const fix = raiseMax({ ...base, value: 300000, current: 100000, files });
  assert.match(edit(fix, '/etc/sysctl.conf').after, /^# conntrack-doctor: disabled so that/);
  assert.deepEqual(effective(applyEdits(files, fix), MAX), { systemd: '300000', procps: '300000' });
});

test('raise-max: a vendor file that wins is shadowed by an /etc copy, not edited', () => {
  const vendor: SysctlFile = { path: '/usr/lib/sysctl.d/99-vendor.conf', content: `kernel.x = 1\n${MAX} = 1024\n` };
  const files = [SYSCTL_CONF, DEBIAN_LINK, vendor];
  const fix = raiseMax({ ...base, value: 262144, current: 1024, files });
  assert.equal(fix.fileEdits.some((e) => e.path === vendor.path), false);
  const shadow = edit(fix, '/etc/sysctl.d/99-vendor.conf');
  assert.equal(shadow.before, undefined);
  assert.match(shadow.after, /^kernel\.x = 1\n# conntrack-doctor: disabled so that/);
  assert.deepEqual(effective(applyEdits(files, fix), MAX), { systemd: '262144', procps: '262144' });
});

test('raise-max: editing the file the user has open, duplicates commented, CRLF kept', () => {
  const mine: SysctlFile = { path: '/etc/sysctl.d/50-mine.conf', content: `${MAX} = 1\r\nvm.x = 1\r\n${MAX} = 2\r\n` };
  const fix = raiseMax({ ...base, value: 4096, current: 2, files: [mine], targetPath: mine.path });
  const e = edit(fix, mine.path);
  assert.equal(e.after, `# conntrack-doctor: superseded by line 3: ${MAX} = 1\r\nvm.x = 1\r\n${MAX} = 4096\r\n`);
  assert.deepEqual(e.winsAfter.map((w) => [w.loader, w.path, w.line]), [['systemd', mine.path, 2], ['procps', mine.path, 2]]);
});

test('raise-max: the 99-sysctl.conf link is followed; /etc/sysctl.conf without the link is not read by systemd', () => {
  const viaLink = raiseMax({ ...base, value: 5000, current: 1, files: [DEBIAN_LINK, SYSCTL_CONF], targetPath: '/etc/sysctl.d/99-sysctl.conf' });
  assert.deepEqual(viaLink.fileEdits.map((e) => e.path), ['/etc/sysctl.conf']);
  assert.deepEqual(viaLink.fileEdits[0]?.winsAfter.map((w) => w.path), ['/etc/sysctl.conf', '/etc/sysctl.conf']);
  const noLink = raiseMax({ ...base, value: 5000, current: 1, files: [SYSCTL_CONF], targetPath: '/etc/sysctl.conf' });
  assert.deepEqual(noLink.fileEdits[0]?.winsAfter.map((w) => w.loader), ['procps']);
  assert.match(noLink.notes.join('\n'), /not applied by systemd-sysctl/);
});

test('raise-max: modules-load.d file when conntrack is a module not loaded at boot; none when built in', () => {
  const mod = raiseMax({ conntrack: 'module', moduleLoadedAtBoot: false, value: 262144, current: 65536, files: [] });
  assert.equal(edit(mod, MODULES_LOAD_PATH).after.trim().split('\n').pop(), 'nf_conntrack');
  assert.deepEqual(edit(mod, MODULES_LOAD_PATH).winsAfter, []);
  const builtin = raiseMax({ conntrack: 'builtin', moduleLoadedAtBoot: false, value: 262144, current: 65536, files: [] });
  assert.equal(builtin.fileEdits.some((e) => e.path === MODULES_LOAD_PATH), false);
});

test('raise-max: hostile or out-of-range values are refused before anything is built', () => {
  for (const value of ['262144; reboot', '$(id)', '256k', '1e6', '+1', '0', '2147483648', -5]) {
    assert.throws(() => raiseMax({ ...base, value, current: 1, files: [] }), (e: unknown) => e instanceof ValidationError && e.field === 'value', String(value));
  }
  assert.throws(() => raiseMax({ ...base, value: 1, current: '`reboot`', files: [] }), (e: unknown) => e instanceof ValidationError && e.field === 'current');
  for (const targetPath of ['/etc/sysctl.d/../passwd', '/etc/passwd', '/etc/sysctl.d/x.txt', '/etc/sysctl.d/$(id).conf']) {
    assert.throws(() => raiseMax({ ...base, value: 1, current: 1, files: [], targetPath }), (e: unknown) => e instanceof ValidationError && e.field === 'targetPath', targetPath);
  }
  assert.throws(() => raiseMax({ ...base, value: 1, current: 1, files: [{ path: '/etc/sysctl.d/90-conntrack-doctor.conf' }] }), /could not be read/);
  assert.throws(() => raiseMax({ ...base, value: 1, current: 1, files: [{ path: '/etc/sysctl.d/x.conf', linkTarget: '/dev/null' }], targetPath: '/etc/sysctl.d/x.conf' }), /masked/);
});

test('persistSysctlKey leaves earlier (losing) files alone and reports unreadable ones', () => {
  const early: SysctlFile = { path: '/etc/sysctl.d/10-early.conf', content: `${MAX} = 1\n` };
  const r = persistSysctlKey({ key: MAX, value: '9', files: [early, { path: '/etc/sysctl.d/95-secret.conf' }] });
  assert.deepEqual(r.fileEdits.map((e) => e.path), [SYSCTL_DROP_IN]);
  assert.match(r.notes.join('\n'), /Could not read \/etc\/sysctl\.d\/95-secret\.conf/);
});

test('set-buckets (module): runtime + modprobe.d option, read-back, and the 8 × hashsize warning', () => {
  const fix = setBuckets({ ...base, value: 65536, current: 16384, modprobeContent: 'options nf_conntrack acct=1 hashsize=16384\n', files: [SYSCTL_CONF] });
  assert.equal(fix.needsInitialNetns, true);
  assert.deepEqual(fix.runtime.map((s) => s.argv), [['sysctl', '-w', 'net.netfilter.nf_conntrack_buckets=65536']]);
  assert.deepEqual(fix.verify[0]?.expect, { kind: 'equals', value: '65536' });
  assert.deepEqual(fix.rollback.map((s) => s.argv), [['sysctl', '-w', 'net.netfilter.nf_conntrack_buckets=16384']]);
  assert.equal(edit(fix, MODPROBE_PATH).after, 'options nf_conntrack acct=1 hashsize=65536\n');
  assert.match(fix.notes.join('\n'), /8 × 65536 = 524288/);
  // max persisted under both loaders: no warning
  const persisted = setBuckets({ ...base, value: 65536, current: 16384, files: [{ path: '/etc/sysctl.d/90-x.conf', content: `${MAX} = 262144\n` }] });
  assert.doesNotMatch(persisted.notes.join('\n'), /not persisted/);
  assert.throws(() => setBuckets({ ...base, value: '65536 ', current: 1 }), ValidationError);
});

test('set-buckets (built in): persisted through sysctl, not modprobe.d', () => {
  const fix = setBuckets({ conntrack: 'builtin', moduleLoadedAtBoot: false, value: 131072, current: 65536, files: [] });
  assert.equal(fix.fileEdits.some((e) => e.path === MODPROBE_PATH), false);
  assert.match(edit(fix, SYSCTL_DROP_IN).after, /net\.netfilter\.nf_conntrack_buckets = 131072\n$/);
  assert.match(fix.notes.join('\n'), /built into this kernel/);
});

test('set-sysctl / set-timeout: catalog key, range, scope and the caller’s trade-off', () => {
  const fix = setConntrackTimeout({
    ...base,
    moduleLoadedAtBoot: false,
    key: 'net/netfilter/nf_conntrack_tcp_timeout_established',
    value: '7200',
    current: 432000,
    tradeOff: 'Idle connections longer than 2 h lose their entry and break silently.',
    files: [],
  });
  assert.equal(fix.id, 'set-timeout');
  assert.equal(fix.needsInitialNetns, false);
  assert.equal(fix.notes[0], 'Idle connections longer than 2 h lose their entry and break silently.');
  assert.deepEqual(fix.runtime[0]?.argv, ['sysctl', '-w', 'net.netfilter.nf_conntrack_tcp_timeout_established=7200']);
  assert.deepEqual(fix.rollback[0]?.argv, ['sysctl', '-w', 'net.netfilter.nf_conntrack_tcp_timeout_established=432000']);
  assert.ok(fix.fileEdits.some((e) => e.path === MODULES_LOAD_PATH));
  const flag = setSysctl({ ...base, key: 'net.netfilter.nf_log_all_netns', value: 1, current: 0, tradeOff: 'Containers can flood the host log.', files: [] });
  assert.equal(flag.id, 'set-sysctl');
  assert.equal(flag.needsInitialNetns, true);
  const t = { ...base, current: 0, tradeOff: 'x', files: [] };
  assert.throws(() => setSysctl({ ...t, key: 'net.netfilter.nf_conntrack_checksum', value: 2 }), (e: unknown) => e instanceof ValidationError && e.field === 'value');
  assert.throws(() => setSysctl({ ...t, key: 'net.netfilter.nf_conntrack_count', value: 1 }), /read-only/);
  assert.throws(() => setSysctl({ ...t, key: 'net.netfilter.nf_conntrack_buckets', value: 1 }), /set-buckets/);
  assert.throws(() => setSysctl({ ...t, key: 'net.ipv4.ip_forward', value: 1 }), /not a known conntrack sysctl/);
  assert.throws(() => setSysctl({ ...t, key: 'net.netfilter.nf_conntrack_max;reboot', value: 1 }), (e: unknown) => e instanceof ValidationError && e.field === 'key');
  assert.throws(() => setSysctl({ ...t, key: 'net.netfilter.nf_conntrack_acct', value: 1, tradeOff: ' ' }), (e: unknown) => e instanceof ValidationError && e.field === 'tradeOff');
  assert.throws(() => setConntrackTimeout({ ...t, key: 'net.netfilter.nf_conntrack_acct', value: 1 }), /not a timeout/);
});

test('load-module-at-boot: only the modules-load.d file; refused when built in or already loaded', () => {
  const fix = loadModuleAtBoot({ conntrack: 'module', moduleLoadedAtBoot: false, modulesLoadContent: 'br_netfilter\n' });
  assert.deepEqual(fix.fileEdits.map((e) => [e.path, e.before, e.after]), [[MODULES_LOAD_PATH, 'br_netfilter\n', 'br_netfilter\nnf_conntrack\n']]);
  assert.deepEqual(fix.runtime, []);
  assert.equal(fix.verify.length, 1);
  assert.throws(() => loadModuleAtBoot({ conntrack: 'builtin', moduleLoadedAtBoot: false }), (e: unknown) => e instanceof ValidationError && e.field === 'conntrack');
  assert.throws(() => loadModuleAtBoot({ conntrack: 'module', moduleLoadedAtBoot: false, modulesLoadContent: 'nf_conntrack\n' }), ValidationError);
});

test('persistSysctlKey never writes through a symlink’s own path', () => {
  // Only the link is known (its target was not collected): the edit goes to the resolved target.
  const link: SysctlFile = { path: '/etc/sysctl.d/99-sysctl.conf', linkTarget: '../sysctl.conf', content: `${MAX} = 1\n` };
  const r = persistSysctlKey({ key: MAX, value: '9', files: [link] });
  assert.deepEqual(r.fileEdits.map((e) => [e.path, e.before]), [[SYSCTL_DROP_IN, undefined], ['/etc/sysctl.conf', `${MAX} = 1\n`]]);
  assert.deepEqual(r.winsAfter.map((w) => w.path), [SYSCTL_DROP_IN, SYSCTL_DROP_IN]);
});
