/** The `lint` command as a user runs it: the built CLI in a child process. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, chmodSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '../..');
const cli = join(repo, 'dist/cli.js');
const example = join(repo, 'examples/host-in-trouble');

before(() => {
  const b = spawnSync(process.execPath, [join(repo, 'esbuild.js')], { cwd: repo, encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
});

function run(args: string[], cwd = repo): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ctd-cli-'));
}

test('lint --root on the example host: compiler-style lines, exit 1', () => {
  const r = run(['lint', '--root', 'examples/host-in-trouble']);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const l of lines) assert.match(l, /^examples\/host-in-trouble\/[^:]+:\d+:\d+: (error|warning|info) [a-z-]+ .+/);
  const codes = lines.map((l) => l.split(' ')[2]);
  for (const expected of ['inline-comment', 'unknown-key', 'legacy-key', 'not-an-integer', 'tcp-loose-off', 'buckets-via-sysctl', 'overridden', 'module-not-loaded-at-boot', 'established-timeout-long', 'hash-chains-long']) {
    assert.ok(codes.includes(expected), `missing ${expected} in\n${r.stdout}`);
  }
  // keys outside conntrack are never called unknown offline; the 99-sysctl.conf link is not linted twice
  assert.doesNotMatch(r.stdout, /vm\.swappiness|fs\.file-max|kernel\.sysrq/);
  assert.doesNotMatch(r.stdout, /99-sysctl\.conf:\d+:\d+:/);
  assert.match(r.stderr, /\d+ error\(s\), \d+ warning\(s\)/);
});

test('lint --format json: documented fields, 1-based positions', () => {
  const r = run(['lint', '--root', example, '--format', 'json']);
  assert.equal(r.code, 1);
  const arr = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.ok(arr.length > 5);
  for (const f of arr) {
    for (const k of ['file', 'line', 'column', 'endLine', 'endColumn', 'severity', 'code', 'message', 'fixes']) assert.ok(k in f, `missing ${k}`);
    assert.ok((f['line'] as number) >= 1 && (f['column'] as number) >= 1);
  }
  const inline = arr.find((f) => f['code'] === 'inline-comment') as { line: number; column: number; fixes: { preferred: boolean; edits: unknown[] }[] } | undefined;
  assert.equal(inline?.line, 9);
  assert.equal(inline?.column, 41);
  assert.equal(inline?.fixes[0]?.preferred, true);
  assert.equal(inline?.fixes[0]?.edits.length, 2);
});

test('--loader systemd changes the verdicts', () => {
  const both = JSON.parse(run(['lint', '--root', example, '--format', 'json']).stdout) as { code: string; file: string }[];
  const sd = JSON.parse(run(['lint', '--root', example, '--format', 'json', '--loader', 'systemd']).stdout) as { code: string; file: string; message: string }[];
  const ov = (a: { code: string; file: string }[]): string[] => a.filter((f) => f.code === 'overridden').map((f) => f.file).sort();
  assert.ok(ov(both).some((f) => f.endsWith('99-zzz-vendor.conf')));
  assert.ok(!ov(sd).some((f) => f.endsWith('99-zzz-vendor.conf')));
  assert.ok(!sd.some((f) => /procps/.test(f.message)));
});

test('a clean file exits 0 and prints nothing on stdout', () => {
  const d = tmp();
  try {
    const f = join(d, 'ok.conf');
    writeFileSync(f, 'net.netfilter.nf_conntrack_max = 262144\nvm.swappiness = 10\n');
    const r = run(['lint', f]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('info-only findings exit 0', () => {
  const d = tmp();
  try {
    const f = join(d, 'alias.conf');
    writeFileSync(f, 'net.nf_conntrack_max = 262144\n');
    const r = run(['lint', f]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /info key-alias/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('usage errors exit 2 with a message', () => {
  assert.equal(run(['lint']).code, 2);
  const bad = run(['lint', '--format', 'xml', 'x.conf']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--format must be text or json/);
  assert.match(run(['lint', '--loader', 'openrc', 'x']).stderr, /--loader must be systemd, procps or both/);
  assert.match(run(['lint', '--bogus']).stderr, /Unknown option/);
  assert.equal(run(['frobnicate']).code, 2);
});

test('unreadable, missing, binary, directory and non-UTF-8 inputs: clear error, exit 2, other files still linted', () => {
  const d = tmp();
  try {
    const good = join(d, 'good.conf');
    writeFileSync(good, 'net.netfilter.nf_conntrack_tcp_loose = 0\n');
    const bin = join(d, 'bin.conf');
    writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]));
    const latin1 = join(d, 'latin1.conf');
    writeFileSync(latin1, Buffer.from([0x61, 0x3d, 0xe9, 0x0a]));
    const dir = join(d, 'sysctl.d');
    mkdirSync(dir);
    const r = run(['lint', good, bin, latin1, dir, join(d, 'missing.conf')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bin\.conf: binary file/);
    assert.match(r.stderr, /latin1\.conf: not valid UTF-8/);
    assert.match(r.stderr, /sysctl\.d: is a directory/);
    assert.match(r.stderr, /missing\.conf: no such file or directory/);
    assert.match(r.stdout, /good\.conf:1:40: warning tcp-loose-off/);
    if (process.getuid?.() !== 0) {
      const locked = join(d, 'locked.conf');
      writeFileSync(locked, 'a.b = 1\n');
      chmodSync(locked, 0o000);
      assert.match(run(['lint', locked]).stderr, /permission denied/);
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('--root that is not a directory is a usage error', () => {
  const r = run(['lint', '--root', join(repo, 'package.json')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--root must be a directory/);
});

test('--root with FILES reports only those files, judged against the whole tree', () => {
  const r = run(['lint', '--root', example, '/etc/sysctl.d/99-zzz-vendor.conf', '--format', 'json']);
  const arr = JSON.parse(r.stdout) as { file: string; code: string }[];
  assert.ok(arr.length > 0);
  assert.ok(arr.every((f) => f.file.endsWith('99-zzz-vendor.conf')));
  assert.ok(arr.some((f) => f.code === 'overridden'));
  const missing = run(['lint', '--root', example, '/etc/sysctl.d/nope.conf']);
  assert.equal(missing.code, 2);
});

test('a link outside the tree is never followed out of --root', () => {
  const d = tmp();
  try {
    mkdirSync(join(d, 'etc/sysctl.d'), { recursive: true });
    writeFileSync(join(d, 'etc/sysctl.conf'), 'net.netfilter.nf_conntrack_tcp_loose = 0\n');
    symlinkSync('../sysctl.conf', join(d, 'etc/sysctl.d/99-sysctl.conf'));
    symlinkSync('/dev/null', join(d, 'etc/sysctl.d/50-masked.conf'));
    // Both point at the machine's real /etc/sysctl.conf if followed outside the tree.
    writeFileSync(join(d, 'outside.conf'), 'net.netfilter.nf_conntrack_checksum = 0\n');
    symlinkSync('/etc/sysctl.conf', join(d, 'etc/sysctl.d/60-abs.conf'));
    symlinkSync('../../../../../../outside.conf', join(d, 'etc/sysctl.d/70-up.conf'));
    const r = run(['lint', '--root', d, '--format', 'json']);
    const arr = JSON.parse(r.stdout) as { file: string; code: string }[];
    // 60-abs.conf resolves to <root>/etc/sysctl.conf, 70-up.conf to <root>/outside.conf: never the machine's files
    assert.deepEqual(arr.filter((f) => f.code !== 'module-not-loaded-at-boot').map((f) => `${f.file.replace(d, '')}:${f.code}`).sort(), [
      '/etc/sysctl.conf:tcp-loose-off', '/etc/sysctl.d/70-up.conf:checksum-off',
    ]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('every hop of a chain of links stays inside --root; a loop and a FIFO are findings, not an exit 2', () => {
  const d = tmp();
  const outside = tmp();
  try {
    mkdirSync(join(d, 'etc/sysctl.d'), { recursive: true });
    mkdirSync(join(d, 'etc/conf'), { recursive: true });
    writeFileSync(join(d, 'etc/sysctl.conf'), 'net.netfilter.nf_conntrack_tcp_loose = 0\n');
    symlinkSync('../sysctl.conf', join(d, 'etc/sysctl.d/99-sysctl.conf'));
    // The machine-side file a naive reader would reach (an absolute path outside the tree).
    writeFileSync(join(outside, 'escape.conf'), 'net.netfilter.nf_conntrack_checksum = 0\n');
    // Two hops: the second link is absolute, and must be taken from the tree's root.
    symlinkSync('hop.conf', join(d, 'etc/sysctl.d/60-two-hops.conf'));
    symlinkSync(join(outside, 'escape.conf'), join(d, 'etc/sysctl.d/hop.conf'));
    // A directory component that is a link: through <root>/etc/conf, not the machine's /etc.
    writeFileSync(join(d, 'etc/conf/real.conf'), 'net.netfilter.nf_conntrack_acct = 1\n');
    symlinkSync('/etc/conf', join(d, 'etc/linkdir'));
    symlinkSync('../linkdir/real.conf', join(d, 'etc/sysctl.d/65-via-dir.conf'));
    // A loop, and a FIFO.
    symlinkSync('71-b.conf', join(d, 'etc/sysctl.d/70-a.conf'));
    symlinkSync('70-a.conf', join(d, 'etc/sysctl.d/71-b.conf'));
    assert.equal(spawnSync('mkfifo', [join(d, 'etc/sysctl.d/80-fifo.conf')]).status, 0, 'mkfifo');
    const r = run(['lint', '--root', d, '--format', 'json']);
    assert.notEqual(r.code, 2, r.stderr);
    const arr = JSON.parse(r.stdout) as { file: string; code: string; message: string }[];
    const got = arr.filter((f) => f.code !== 'module-not-loaded-at-boot').map((f) => `${f.file.replace(d, '')}:${f.code}`).sort();
    // hop.conf resolves to <root>/<outside>/escape.conf, which does not exist: a dangling link, no checksum-off anywhere
    assert.ok(!arr.some((f) => f.code === 'checksum-off'), `a link chain was followed out of the tree: ${got.join(', ')}`);
    assert.deepEqual(got, [
      '/etc/sysctl.conf:tcp-loose-off',
      '/etc/sysctl.d/70-a.conf:file-unreadable',
      '/etc/sysctl.d/71-b.conf:file-unreadable',
      '/etc/sysctl.d/80-fifo.conf:file-unreadable',
    ]);
    assert.match(arr.find((f) => f.file.endsWith('70-a.conf'))?.message ?? '', /loop of symbolic links/);
    assert.match(arr.find((f) => f.file.endsWith('80-fifo.conf'))?.message ?? '', /FIFO/);
    // The directory link was followed inside the tree: 65-via-dir.conf's content is <root>/etc/conf/real.conf's.
    const text = run(['lint', '--root', d, '/etc/sysctl.d/65-via-dir.conf', '--format', 'json']);
    assert.notEqual(text.code, 2, text.stderr);
  } finally {
    rmSync(d, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('caps: a 50 MB file is refused before it is read; text output stops after 1000 findings', () => {
  const d = tmp();
  try {
    const big = join(d, 'big.conf');
    writeFileSync(big, Buffer.alloc(50 * 1024 * 1024, 'a = 1\n'));
    const good = join(d, 'good.conf');
    writeFileSync(good, 'net.netfilter.nf_conntrack_tcp_loose = 0\n');
    const r = run(['lint', big, good]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /big\.conf: too large for a sysctl file \(52428800 bytes; the limit is 1048576\): not read/);
    assert.match(r.stdout, /good\.conf:1:40: warning tcp-loose-off/, 'the other file is still linted');
    const many = join(d, 'many.conf');
    writeFileSync(many, 'net.netfilter.nf_conntrack_tcp_loose = 0\n'.repeat(3000));
    const m = run(['lint', many]);
    assert.equal(m.code, 1);
    const lines = m.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1001, m.stdout.slice(0, 300));
    assert.match(lines[1000] ?? '', /^… \d+ more findings not shown$/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
