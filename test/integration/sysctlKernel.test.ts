/**
 * Every "the kernel does X" sentence of the sysctl rules, as an experiment on the real kernel.
 * A file is loaded with procps `sysctl -p FILE` and with `systemd-sysctl FILE` inside a test host
 * (a non-initial network namespace, where per-netns keys such as the conntrack timeouts are
 * writable and global ones are not), the value is read back, and the linter's verdict for the
 * same line must say the same thing. The key catalogue is checked against the host kernel too.
 * Nothing in the machine's initial namespace is written: string keys are tried in a private UTS
 * namespace of the host, the rest are per-netns keys, restored after each case.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { lintText, type LintFinding } from '../../src/core/sysctl/lint';
import { keyCatalog, lookupSysctl, templateKey } from '../../src/core/sysctl/keyCatalog';
import { HISTORY, REFERENCE_VENDOR_KEYS } from '../../scripts/catalog/history';
import { useHost, type ExecResult } from '../../harness/host/testHost';

const h = useHost(`itk${process.pid % 10000}`);
const FILE = `/tmp/ctd-kernel-experiment-${process.pid}.conf`;
const SYSTEMD_SYSCTL = '/lib/systemd/systemd-sysctl';
const LOADERS = ['procps', 'systemd'] as const;
type LoaderName = (typeof LOADERS)[number];

const EST = 'net.netfilter.nf_conntrack_tcp_timeout_established';
const UDP = 'net.netfilter.nf_conntrack_udp_timeout';
const UDP_STREAM = 'net.netfilter.nf_conntrack_udp_timeout_stream';
const ICMP = 'net.netfilter.nf_conntrack_icmp_timeout';
const PORTS = 'net.ipv4.ip_local_port_range';

/** Loads `content` with one loader inside the host; `wrap` runs the loader inside another command (e.g. unshare). */
async function load(loader: LoaderName, content: string, wrap = ''): Promise<ExecResult> {
  const loaderCmd = loader === 'procps' ? `sysctl -p ${FILE}` : `${SYSTEMD_SYSCTL} ${FILE}`;
  return h.host.exec(['sh', '-c', `cat > ${FILE} && ${wrap}${loaderCmd}; rc=$?; rm -f ${FILE}; exit $rc`], { input: content });
}

async function live(key: string): Promise<string> {
  return (await h.host.execOk(['sysctl', '-n', key])).trim().split(/\s+/).join(' ');
}

/** Runs `fn` and puts the keys back to what they were. */
async function restoring(keys: readonly string[], fn: () => Promise<void>): Promise<void> {
  const before = await Promise.all(keys.map(live));
  try {
    await fn();
  } finally {
    await h.host.execOk(['sysctl', '-q', ...keys.map((k, i) => `${k}=${before[i] ?? ''}`)]);
  }
}

function lintLine(line: string): LintFinding[] {
  return lintText('/etc/sysctl.d/90-experiment.conf', `${line}\n`);
}

function finding(line: string, code: string): LintFinding | undefined {
  return lintLine(line).find((f) => f.code === code);
}

describe('inline comments: what the kernel does, per case, under both loaders', () => {
  for (const loader of LOADERS) {
    test(`${loader}: a one-number key reads its number and ignores the rest: applied (the linter warns, it does not say "refused")`, async () => {
      const line = `${EST} = 7200 # raised`;
      await restoring([EST], async () => {
        await h.host.execOk(['sysctl', '-q', `${EST}=432000`]);
        const r = await load(loader, `${line}\n`);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /Invalid argument|Couldn't write/);
        assert.equal(await live(EST), '7200');
      });
      const f = finding(line, 'inline-comment');
      assert.equal(f?.severity, 'warning');
      assert.match(f?.message ?? '', /applies 7200 and never reads the rest/);
      // and once applied, the linter sees no drift between `7200 # raised` and the live 7200
      const drift = lintText('/etc/sysctl.d/90-x.conf', `${line}\n`, { context: { liveValues: new Map([[EST, '7200']]) } });
      assert.ok(!drift.some((x) => x.code === 'drift'));
    });

    test(`${loader}: a '#' glued to the number is refused (Invalid argument), nothing applied`, async () => {
      const line = `${UDP} = 45#glued`;
      await restoring([UDP], async () => {
        const before = await live(UDP);
        const r = await load(loader, `${line}\n`);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /Invalid argument/);
        assert.equal(await live(UDP), before);
      });
      const f = finding(line, 'inline-comment');
      assert.equal(f?.severity, 'error');
      assert.match(f?.message ?? '', /refuses the value \(Invalid argument\)/);
    });

    test(`${loader}: a two-number key cut short by a comment is refused; with both numbers it is applied`, async () => {
      await restoring([PORTS], async () => {
        const before = await live(PORTS);
        const short = await load(loader, `${PORTS} = 20000 # x\n`);
        assert.notEqual(short.code, 0);
        assert.match(short.stderr, /Invalid argument/);
        assert.equal(await live(PORTS), before);
        const full = await load(loader, `${PORTS} = 20000 60999 # x\n`);
        assert.equal(full.code, 0, full.stderr);
        assert.equal(await live(PORTS), '20000 60999');
      });
      assert.equal(finding(`${PORTS} = 20000 # x`, 'inline-comment')?.severity, 'error');
      assert.equal(finding(`${PORTS} = 20000 60999 # x`, 'inline-comment')?.severity, 'warning');
    });

    test(`${loader}: a string key stores the comment as part of its value`, async () => {
      // kernel.domainname belongs to the UTS namespace: a private one (and a private writable
      // /proc/sys mount) keeps the host's and the machine's own names untouched.
      const wrap = `unshare --mount --uts sh -c 'mount -o remount,bind,rw /proc/sys && "$@" && cat /proc/sys/kernel/domainname' _ `;
      const r = await h.host.exec(['sh', '-c', `cat > ${FILE} && ${wrap}${loader === 'procps' ? `sysctl -p ${FILE}` : `${SYSTEMD_SYSCTL} ${FILE}`}; rc=$?; rm -f ${FILE}; exit $rc`], { input: 'kernel.domainname = example.com ; note\n' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split('\n').pop(), 'example.com ; note');
      const f = finding('kernel.domainname = example.com ; note', 'inline-comment');
      assert.equal(f?.severity, 'error');
      assert.match(f?.message ?? '', /stores `example\.com ; note`, comment included/);
    });
  }
});

describe('numbers: how the kernel parses them', () => {
  test('a leading + is refused, a leading 0 is octal, and text after a blank is ignored (both loaders)', async () => {
    for (const loader of LOADERS) {
      await restoring([UDP, UDP_STREAM, ICMP], async () => {
        const r = await load(loader, `${UDP} = +31\n${UDP_STREAM} = 060\n${ICMP} = 25 s\n`);
        assert.match(r.stderr, /Invalid argument/, `${loader}: +31`);
        assert.notEqual(await live(UDP), '31');
        assert.equal(await live(UDP_STREAM), '48', `${loader}: 060 is octal`);
        assert.equal(await live(ICMP), '25', `${loader}: "25 s" applies 25`);
      });
    }
    assert.equal(finding(`${UDP} = +31`, 'not-an-integer')?.severity, 'error');
    assert.match(finding(`${UDP_STREAM} = 060`, 'octal-value')?.message ?? '', /applies 48, not 60/);
    const trailing = finding(`${ICMP} = 25 s`, 'not-an-integer');
    assert.equal(trailing?.severity, 'warning');
    assert.match(trailing?.message ?? '', /applies 25 and ignores `s`/);
  });
});

describe('keys that do not exist: removed, moved, distribution-only, misspelled', () => {
  const missing = [
    { line: 'net.ipv4.tcp_tw_recycle = 1', code: 'removed-key', says: /removed in Linux 4\.12/ },
    { line: 'kernel.sched_min_granularity_ns = 10000000', code: 'removed-key', says: /left sysctl in Linux 5\.13: it is `\/sys\/kernel\/debug\/sched\/min_granularity_ns` in debugfs/ },
    { line: 'net.netfilter.nf_conntrack_helper = 1', code: 'removed-key', says: /removed in Linux 6\.0/ },
    { line: 'kernel.exec-shield = 1', code: 'removed-key', says: /never existed in mainline Linux/ },
    { line: 'net.core.rmrm_max = 16777216', code: 'unknown-key', says: /Did you mean `net\.core\.rmem_max`/ },
    { line: 'fs.file_max = 2097152', code: 'unknown-key', says: /Did you mean `fs\.file-max`/ },
  ];
  test('sysctl -p: "cannot stat … No such file or directory", exit 1; systemd-sysctl: "Couldn\'t write …, ignoring", exit 0', async () => {
    for (const m of missing) {
      const path = `/proc/sys/${m.line.split(' ')[0]?.replace(/\./g, '/')}`;
      const p = await load('procps', `${m.line}\n`);
      assert.equal(p.code, 1, m.line);
      assert.ok(p.stderr.includes(`cannot stat ${path}: No such file or directory`), `${m.line}: ${p.stderr}`);
      const s = await load('systemd', `${m.line}\n`);
      assert.equal(s.code, 0, `${m.line}: ${s.stderr}`);
      assert.match(s.stderr, /Couldn't write .*ignoring: No such file or directory/, m.line);
      const f = finding(m.line, m.code);
      assert.ok(f, `${m.line}: expected ${m.code}, got ${lintLine(m.line).map((x) => x.code).join(', ')}`);
      assert.match(f.message, m.says);
      assert.match(f.message, /the write fails/);
    }
  });

  test('the `-` prefix: systemd-sysctl stays silent, procps 4.0.2 still reports the missing key', async () => {
    const line = '-net.core.rmrm_max = 5';
    const s = await load('systemd', `${line}\n`);
    assert.equal(s.code, 0);
    assert.equal(s.stderr.trim(), '');
    const p = await load('procps', `${line}\n`);
    assert.match(p.stderr, /cannot stat \/proc\/sys\/net\/core\/rmrm_max/);
    const f = finding(line, 'unknown-key');
    assert.equal(f?.severity, 'info');
    assert.match(f?.message ?? '', /systemd-sysctl ignores the failure .*procps 4\.0\.2 still reports it/);
  });
});

describe('read-only keys', () => {
  test('nf_conntrack_count (0444): root cannot write it; procps reports it, systemd-sysctl skips it silently', async () => {
    const mode = (await h.host.execOk(['stat', '-c', '%a', '/proc/sys/net/netfilter/nf_conntrack_count'])).trim();
    assert.equal(mode, '444');
    const direct = await h.host.exec(['sh', '-c', 'echo 5 > /proc/sys/net/netfilter/nf_conntrack_count']);
    assert.match(direct.stderr, /Permission denied/);
    const p = await load('procps', 'net.netfilter.nf_conntrack_count = 0\n');
    assert.match(p.stderr, /setting key "net\.netfilter\.nf_conntrack_count"/);
    const s = await load('systemd', 'net.netfilter.nf_conntrack_count = 0\n');
    assert.equal(s.code, 0);
    assert.equal(s.stderr.trim(), '');
    const f = finding('net.netfilter.nf_conntrack_count = 0', 'read-only-key');
    assert.equal(f?.severity, 'error');
    assert.ok(lookupSysctl('fs.file-nr')?.readOnly, 'the catalogue knows other read-only keys too');
  });
});

describe('units', () => {
  test('tcp_mem is in pages: the kernel\'s own default × 4096 is a fraction of MemTotal, not a few hundred KiB', async () => {
    // tcp_mem is global (initial netns only, as the catalogue says): read it where this process runs, read-only.
    assert.equal(lookupSysctl('net.ipv4.tcp_mem')?.netns, 'init-only');
    assert.notEqual((await h.host.exec(['test', '-e', '/proc/sys/net/ipv4/tcp_mem'])).code, 0, 'absent in the host netns');
    const pages = readFileSync('/proc/sys/net/ipv4/tcp_mem', 'utf8').trim().split(/\s+/).map(Number);
    const memKiB = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    const maxBytesIfPages = (pages[2] ?? 0) * 4096;
    // net/ipv4/tcp.c tcp_init_mem: max = 9.37 % of the free buffer pages
    assert.ok(maxBytesIfPages > memKiB * 1024 * 0.02 && maxBytesIfPages < memKiB * 1024 * 0.2, `${pages.join(' ')} pages vs ${memKiB} kB`);
    assert.equal(lookupSysctl('net.ipv4.tcp_mem')?.unit, 'pages');
    // the kernel's own value is never flagged; the tcp_rmem-shaped byte triple is
    const ownValue = lintText('/etc/sysctl.d/90-x.conf', `net.ipv4.tcp_mem = ${pages.join(' ')}\n`, { context: { memTotalBytes: memKiB * 1024 } });
    assert.ok(!ownValue.some((x) => x.code === 'pages-not-bytes'));
    assert.ok(finding('net.ipv4.tcp_mem = 4096 87380 16777216', 'pages-not-bytes'));
  });
});

describe('the key catalogue against this kernel', () => {
  test('every key the host kernel lists is in the catalogue, with the right number of values; no removed key is there', async () => {
    const out = await h.host.execOk(['sysctl', '-a']);
    const missing: string[] = [];
    const wrongShape: string[] = [];
    for (const line of out.split('\n')) {
      const m = /^(\S+) = ?(.*)$/.exec(line);
      if (!m?.[1]) continue;
      const key = m[1];
      if (REFERENCE_VENDOR_KEYS.some((re) => re.test(key)) || key.startsWith('fs.binfmt_misc.')) continue;
      const info = lookupSysctl(key);
      if (!info) {
        missing.push(key);
        continue;
      }
      const values = (m[2] ?? '').trim().split(/\s+/);
      if (info.kind === 'int' && values.every((v) => /^-?\d+$/.test(v)) && values.length !== info.count) wrongShape.push(`${key}: ${values.length} vs ${info.count}`);
    }
    assert.deepEqual(missing, []);
    assert.deepEqual(wrongShape, []);
    const keys = new Set(out.split('\n').map((l) => templateKey(l.split(' = ')[0] ?? '')));
    for (const hist of HISTORY) assert.ok(!keys.has(hist.key), `${hist.key} is in history as removed, but this kernel has it`);
    assert.ok(keyCatalog().size > 900);
  });

  test('per-namespace flags: a key the catalogue calls global is read-only in this (non-initial) netns', async () => {
    for (const key of ['net.netfilter.nf_conntrack_max', 'net.core.rmem_max']) {
      assert.equal(lookupSysctl(key)?.netns, 'global-ro', key);
      const mode = (await h.host.execOk(['stat', '-c', '%a', `/proc/sys/${key.replace(/\./g, '/')}`])).trim();
      assert.equal(mode, '444', key);
    }
    assert.equal(lookupSysctl(EST)?.netns, 'netns');
  });
});
