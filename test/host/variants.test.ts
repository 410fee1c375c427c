/**
 * Host variants (`ctd-host up NAME --variant V`), each proven from an SSH session as the product
 * sees it — a fresh login's shell, a child of it, and sudo/doas where the variant has them —
 * against the kernel's real state read independently in the host's netns (`netExec`, the
 * machine's own tools). Needs root and harness/host/install-deps.sh; fails (never skips) without.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { useHost, type ExecResult, type HostUser, type HostVariant, type TestHost } from '../../harness/host/testHost';

const PID = process.pid % 100000;

function hostFor(suffix: string, variants: readonly HostVariant[]): { readonly host: TestHost } {
  return useHost(`hv${PID}${suffix}`, { variants });
}

/** Runs a remote command over SSH and returns what the session saw. */
async function sh(host: TestHost, user: HostUser, command: string): Promise<ExecResult> {
  return host.ssh(user, command);
}

async function shOk(host: TestHost, user: HostUser, command: string): Promise<string> {
  const r = await host.ssh(user, command);
  assert.equal(r.code, 0, `${user}@${host.name}: ${command}\n${r.stderr}`);
  return r.stdout;
}

const NOT_FOUND = /No such file or directory|can't open .*: No such file/;

describe('nopriv: an account with sudo behind a password, and one with no sudo rights at all', () => {
  const h = hostFor('np', ['nopriv']);

  test('guest logs in with its key; sudo -n refuses guest and audit the same way ("a password is required")', async () => {
    const { host } = h;
    assert.ok(host.info.users.guest, 'host.json lists guest');
    assert.deepEqual(host.variants, ['nopriv']);
    assert.equal((await shOk(host, 'guest', 'id -un')).trim(), 'guest');
    for (const user of ['guest', 'audit'] as const) {
      const r = await sh(host, user, 'LC_ALL=C sudo -n true');
      assert.notEqual(r.code, 0, user);
      assert.match(r.stderr, /sudo: a password is required/, user);
    }
    // guest is in no sudoers line: with a password it would still be refused; audit's works.
    const sudoers = (await host.execOk(['cat', '/etc/sudoers'])).split('\n').filter((l) => /^\s*[^#\s]/.test(l));
    assert.ok(!sudoers.some((l) => /^guest\b/.test(l)), sudoers.join('\n'));
    const audit = await host.ssh('audit', "sudo -S -p '' id -u", { input: `${host.info.users.audit.password}\n` });
    assert.equal(audit.stdout.trim(), '0', audit.stderr);
  });

  test('what an unprivileged session can and cannot read', async () => {
    const { host } = h;
    const out = await shOk(host, 'guest', [
      'cat /proc/sys/net/netfilter/nf_conntrack_count /proc/sys/net/netfilter/nf_conntrack_max',
      'head -n 1 /proc/net/stat/nf_conntrack',
      'cat /proc/net/nf_conntrack >/dev/null 2>&1 || echo entries-refused',
      'cat /proc/slabinfo >/dev/null 2>&1 || echo slabinfo-refused',
      'LC_ALL=C /usr/sbin/conntrack -S 2>&1 >/dev/null; echo "conntrack -S exit $?"',
    ].join('; '));
    const [count, max, header] = out.split('\n');
    assert.match(count ?? '', /^\d+$/);
    assert.equal(max, readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8').trim());
    assert.match(header ?? '', /^entries\s+clashres\s+found/);
    assert.match(out, /entries-refused/);
    assert.match(out, /slabinfo-refused/);
    // netlink needs CAP_NET_ADMIN: conntrack -S falls back to /proc, then still exits 1
    assert.match(out, /must be root or get CAP_NET_ADMIN capability to do this\nconntrack -S exit 1$/m);
  });
});

describe('no-conntrack-tools: no conntrack program', () => {
  const h = hostFor('nt', ['no-conntrack-tools']);

  test('command -v conntrack fails for root, under sudo, and the file is absent; dpkg says not installed', async () => {
    const { host } = h;
    const root = await sh(host, 'root', 'command -v conntrack || echo absent; ls /usr/sbin/conntrack /sbin/conntrack 2>&1; dpkg -s conntrack 2>&1');
    assert.match(root.stdout, /^absent$/m);
    assert.equal(root.stdout.match(/No such file or directory/g)?.length, 2, root.stdout);
    assert.match(root.stdout, /package 'conntrack' is not installed/);
    const sudo = await sh(host, 'ops', 'sudo -n sh -c "command -v conntrack || echo absent"');
    assert.equal(sudo.stdout.trim(), 'absent', sudo.stderr);
    const run = await sh(host, 'root', 'conntrack -S');
    assert.equal(run.code, 127, 'the shell cannot find it');
  });

  test('the kernel still tracks: /proc/net/nf_conntrack lists the generated flows', async () => {
    const { host } = h;
    const f = await host.fill({ assured: 300 });
    assert.ok(f.countAfter - f.countBefore >= 300, JSON.stringify(f));
    const lines = Number((await shOk(host, 'root', 'grep -c "dport=443 .*ASSURED" /proc/net/nf_conntrack')).trim());
    assert.ok(lines >= 300, String(lines));
    assert.match(await shOk(host, 'root', 'cat /proc/sys/net/netfilter/nf_conntrack_count'), /^\d+\n$/);
  });
});

describe('no-procfs: a kernel without CONFIG_NF_CONNTRACK_PROCFS', () => {
  const h = hostFor('nf', ['no-procfs']);
  const hidden = ['/proc/net/stat/nf_conntrack', '/proc/net/nf_conntrack', '/proc/net/nf_conntrack_expect'];

  test('the files are absent for a fresh session, its child, and under sudo', async () => {
    const { host } = h;
    for (const path of hidden) {
      const shell = await sh(host, 'root', `cat ${path}`);
      assert.notEqual(shell.code, 0);
      assert.match(shell.stderr, NOT_FOUND, path);
      const child = await sh(host, 'root', `sh -c 'test -e ${path} && echo present || echo absent'`);
      assert.equal(child.stdout.trim(), 'absent', path);
      const sudo = await sh(host, 'ops', `sudo -n cat ${path}`);
      assert.notEqual(sudo.code, 0);
      assert.match(sudo.stderr, NOT_FOUND, path);
    }
    const listing = await shOk(host, 'root', 'ls /proc/net/stat; ls /proc/net | grep -c . ');
    assert.match(listing, /^rt_cache$/m);
    assert.doesNotMatch(listing, /^nf_conntrack$/m);
  });

  test('everything else is the real thing: netlink counters, sysctls, other /proc/net files', async () => {
    const { host } = h;
    await host.fill({ assured: 200 });
    const out = await shOk(host, 'root', 'conntrack -S | head -n 1; conntrack -C; cat /proc/sys/net/netfilter/nf_conntrack_count; grep -c ":0016 " /proc/net/tcp');
    const [stats, count, sysctlCount, sshSockets] = out.split('\n');
    assert.match(stats ?? '', /^cpu=0\s+found=\d+ invalid=\d+/);
    assert.ok(Number(count) >= 200 && Number(sysctlCount) >= 200, out);
    assert.ok(Number(sshSockets) >= 1, 'sshd shows in /proc/net/tcp');
    // The kernel has the files; only the host's view lacks them.
    assert.match(await host.netExecOk(['head', '-n', '1', '/proc/net/stat/nf_conntrack']), /^entries/);
  });

  test('the limit: /proc/self/net (the per-process directory) still has them', async () => {
    const r = await sh(h.host, 'root', 'test -e /proc/self/net/stat/nf_conntrack && echo present; readlink /proc/net');
    assert.equal(r.stdout, 'present\n/run/ctd-variant/net\n');
  });
});

describe('no-conntrack-tools + no-procfs: neither the program nor the files', () => {
  const h = hostFor('nn', ['no-conntrack-tools', 'no-procfs']);

  test('no way to read counters or entries from the host, while the kernel tracks', async () => {
    const { host } = h;
    await host.fill({ assured: 100 });
    const r = await sh(host, 'root', 'command -v conntrack; cat /proc/net/stat/nf_conntrack; cat /proc/net/nf_conntrack; cat /proc/sys/net/netfilter/nf_conntrack_count');
    assert.ok(Number(r.stdout.trim()) >= 100, r.stdout);
    assert.equal(r.stderr.match(/No such file or directory/g)?.length, 2, r.stderr);
    assert.ok((await host.conntrackCount()) >= 100);
  });
});

describe('no-conntrack: connection tracking not in use', () => {
  const h = hostFor('nc', ['no-conntrack']);

  test('no nf_conntrack sysctls, /proc files or /sys/module entry; netfilter core files stay', async () => {
    const { host } = h;
    const out = await shOk(host, 'root', 'ls /proc/sys/net/netfilter; echo --; ls /proc/net/netfilter; echo --; ls /proc/net/stat; echo --; ls -d /sys/module/nf_conntrack* 2>&1 || true');
    const [sysctls, netfilter, stat, modules] = out.split('--\n');
    assert.deepEqual(sysctls?.trim().split('\n'), ['nf_hooks_lwtunnel', 'nf_log']);
    assert.deepEqual(netfilter?.trim().split('\n'), ['nf_log']);
    assert.deepEqual(stat?.trim().split('\n'), ['rt_cache']);
    assert.match(modules ?? '', /No such file or directory/);
    for (const path of ['/proc/sys/net/netfilter/nf_conntrack_max', '/proc/net/nf_conntrack', '/proc/net/stat/nf_conntrack']) {
      const r = await sh(host, 'ops', `sudo -n cat ${path}`);
      assert.match(r.stderr, NOT_FOUND, path);
    }
    // nf_log still works (writes go to the real sysctl)
    assert.match(await shOk(host, 'root', 'cat /proc/sys/net/netfilter/nf_log/2'), /^\S+\n$/);
  });

  test('conntrack -S/-L/-C fail as without nfnetlink: EPROTONOSUPPORT, then conntrack 1.4.7 crashes', async () => {
    const { host } = h;
    for (const args of ['-S', '-L', '-C']) {
      for (const [user, command] of [['root', `conntrack ${args}`], ['ops', `sudo -n /usr/sbin/conntrack ${args}`]] as const) {
        const r = await sh(host, user, `${command}; echo "exit $?"`);
        assert.match(r.stderr, /mnl_socket_open: Protocol not supported\nconntrack v1\.4\.7 \(conntrack-tools\): Can't open handler/, `${user}: ${command}`);
        // exit 139 = SIGSEGV: Debian 12's conntrack 1.4.7 crashes after the message (no /proc fallback)
        assert.match(r.stdout, /exit 139/, `${user}: ${command}: ${r.stdout}`);
      }
    }
    const nft = await sh(host, 'root', 'nft list ruleset');
    assert.notEqual(nft.code, 0);
    assert.match(nft.stderr, /Protocol not supported/);
    assert.match(await shOk(host, 'root', 'iptables-legacy -S INPUT'), /^-P INPUT ACCEPT$/m);
  });

  test('the kernel tracks nothing in this namespace, and host-side tools outside the filter see that', async () => {
    const { host } = h;
    const f = await host.fill({ assured: 500 });
    assert.equal(f.countAfter, 0, JSON.stringify(f));
    assert.equal(await host.conntrackCount(), 0);
    assert.doesNotMatch(await host.netExecOk(['nft', 'list', 'ruleset']), /\bct\b/);
  });
});

describe('busybox: a BusyBox userland, no bash, no sudo, doas for ops', () => {
  const h = hostFor('bb', ['busybox', 'nopriv']);
  // every program the product's collection and entry-summary scripts run (src/core/host/collect.ts, entries.ts)
  // (shell builtins such as printf, echo, kill and test are ash's own)
  const applets = ['sh', 'awk', 'sed', 'grep', 'cut', 'tr', 'cat', 'readlink', 'uname', 'id', 'find', 'ls', 'sha256sum', 'dmesg', 'sysctl', 'head', 'sort', 'mktemp', 'mv', 'cp', 'rm', 'stat', 'env', 'ps', 'wc'];

  test('login shell and its children are BusyBox ash; bash and sudo are absent', async () => {
    const { host } = h;
    for (const user of ['root', 'ops', 'audit', 'guest'] as const) {
      const out = await shOk(host, user, 'readlink /proc/$$/exe; echo $0; sh -c \'readlink /proc/$$/exe\'; command -v bash || echo no-bash; command -v sudo || echo no-sudo');
      assert.equal(out, '/usr/bin/busybox\nash\n/usr/bin/busybox\nno-bash\nno-sudo\n', user);
    }
    assert.match(await host.execOk(['cat', '/etc/passwd']), /^root:x:0:0:[^:]*:[^:]*:\/bin\/ash$/m);
  });

  test('the applets the product uses are BusyBox; conntrack, nft, iptables are the real programs', async () => {
    const { host } = h;
    const out = await shOk(host, 'root', applets.map((a) => `printf '%s %s\\n' ${a} "$(readlink -f "$(command -v ${a})")"`).join('; '));
    for (const a of applets) assert.match(out, new RegExp(`^${a} /usr/bin/busybox$`, 'm'), out);
    const real = await shOk(host, 'root', 'for p in conntrack nft iptables; do readlink -f "$(command -v $p)"; done; for p in pgrep getconf update-alternatives journalctl; do command -v $p || echo no-$p; done');
    // Debian's BusyBox build has no pgrep applet (Alpine's has); getconf, update-alternatives, journalctl are not BusyBox
    assert.equal(real, '/usr/sbin/conntrack\n/usr/sbin/nft\n/usr/sbin/xtables-nft-multi\nno-pgrep\nno-getconf\nno-update-alternatives\nno-journalctl\n');
    assert.match(await shOk(host, 'root', 'awk 2>&1 | head -n 1 || true'), /BusyBox/);
  });

  test('doas: ops without a password, nobody else', async () => {
    const { host } = h;
    assert.equal((await shOk(host, 'ops', 'doas -n id -u')).trim(), '0');
    for (const user of ['audit', 'guest'] as const) {
      const r = await sh(host, user, 'doas -n id -u');
      assert.notEqual(r.code, 0, user);
      assert.match(r.stderr, /doas: Operation not permitted/, user);
    }
  });

  test('the kernel state is the same as on any host: conntrack and /proc read it', async () => {
    const { host } = h;
    await host.fill({ assured: 250 });
    // (opendoas looks the command up in the caller's PATH, which has no sbin for ops)
    const out = await shOk(host, 'ops', 'doas -n /usr/sbin/conntrack -C; doas -n cat /proc/net/nf_conntrack | grep -c ASSURED');
    const [count, assured] = out.trim().split('\n').map(Number);
    assert.ok((count ?? 0) >= 250 && (assured ?? 0) >= 250, out);
  });
});

describe('firewall backends', () => {
  const notFound = (out: string, programs: readonly string[]): void => {
    for (const p of programs) assert.match(out, new RegExp(`^${p}=-$`, 'm'), `${p} should be absent:\n${out}`);
  };
  const which = (programs: readonly string[]): string => programs.map((p) => `printf '%s=%s\\n' ${p} "$(command -v ${p} || echo -)"`).join('; ');
  const iptablesFamily = ['iptables', 'ip6tables', 'iptables-save', 'iptables-legacy', 'iptables-nft', 'xtables-nft-multi', 'xtables-legacy-multi'];

  describe('fw-nft-only', () => {
    const h = hostFor('fn', ['fw-nft-only']);
    test('no iptables program or alternative; nft lists the tracking ruleset', async () => {
      const { host } = h;
      const out = await shOk(host, 'root', `${which(iptablesFamily)}; nft list tables; update-alternatives --display iptables 2>&1 || true; dpkg -s iptables 2>&1 || true`);
      notFound(out, iptablesFamily);
      assert.match(out, /^table inet filter$/m);
      assert.match(out, /no alternatives for iptables/);
      assert.match(out, /package 'iptables' is not installed/);
    });
  });

  describe('fw-legacy-only', () => {
    const h = hostFor('fl', ['fw-legacy-only']);
    test('no nft, no iptables-nft; iptables is legacy and holds the tracking rules; no nftables.conf', async () => {
      const { host } = h;
      const out = await shOk(host, 'root', `${which(['nft', 'iptables-nft', 'xtables-nft-multi', 'arptables', 'ebtables'])}; iptables -V; iptables -S INPUT; update-alternatives --display iptables; test -e /etc/nftables.conf || echo no-nftables-conf; dpkg -s nftables 2>&1 || true`);
      notFound(out, ['nft', 'iptables-nft', 'xtables-nft-multi', 'arptables', 'ebtables']);
      assert.match(out, /^iptables v1\.8\.\d+ \(legacy\)$/m);
      assert.match(out, /^-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT$/m);
      assert.match(out, /link currently points to \/usr\/sbin\/iptables-legacy/);
      assert.doesNotMatch(out, /iptables-nft - priority/);
      assert.match(out, /no-nftables-conf/);
      assert.match(out, /package 'nftables' is not installed/);
      assert.match(await shOk(host, 'root', 'cat /proc/net/ip_tables_names'), /^filter$/m);
      const f = await host.fill({ assured: 200 });
      assert.ok(f.countAfter - f.countBefore >= 200, 'legacy conntrack rules make the kernel track');
      assert.equal((await host.netExecOk(['nft', 'list', 'ruleset'])).trim(), '', 'no nft ruleset in the kernel');
    });
  });

  describe('fw-iptables-nft', () => {
    const h = hostFor('fi', ['fw-iptables-nft']);
    test('iptables is iptables-nft and holds the rules (nft sees them as iptables-nft tables); nft present', async () => {
      const { host } = h;
      const r = await sh(host, 'root', 'iptables -V; update-alternatives --query iptables | grep ^Value; nft list tables; nft list ruleset >/dev/null; test -e /etc/nftables.conf || echo no-nftables-conf');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^iptables v1\.8\.\d+ \(nf_tables\)$/m);
      assert.match(r.stdout, /^Value: \/usr\/sbin\/iptables-nft$/m);
      assert.match(r.stdout, /^table ip filter$/m);
      assert.doesNotMatch(r.stdout, /table inet filter/);
      assert.match(r.stderr, /table ip filter is managed by iptables-nft, do not touch!/);
      assert.match(r.stdout, /no-nftables-conf/);
    });
  });

  describe('fw-none', () => {
    const h = hostFor('fz', ['fw-none']);
    test('neither nft nor any iptables; the kernel still tracks (ruleset loaded from outside)', async () => {
      const { host } = h;
      const out = await shOk(host, 'root', `${which(['nft', ...iptablesFamily])}; test -e /etc/nftables.conf || echo no-nftables-conf`);
      notFound(out, ['nft', ...iptablesFamily]);
      assert.match(out, /no-nftables-conf/);
      const f = await host.fill({ assured: 200 });
      assert.ok(f.countAfter - f.countBefore >= 200, JSON.stringify(f));
    });
  });
});

describe('locale-de: German locale, zones/marks/labels, IPv6', () => {
  const h = hostFor('de', ['locale-de']);

  test('sessions get LANG=de_DE.UTF-8 from a generated locale, so translated tools speak German', async () => {
    const { host } = h;
    const out = await shOk(host, 'audit', 'echo "LANG=$LANG LC_ALL=$LC_ALL"; locale -a; cat /nonexistent 2>&1; LC_ALL=C cat /nonexistent 2>&1; sudo -n true 2>&1; true');
    assert.match(out, /^LANG=de_DE\.UTF-8 LC_ALL=$/m);
    assert.match(out, /^de_DE\.utf8$/m);
    assert.match(out, /^cat: \/nonexistent: Datei oder Verzeichnis nicht gefunden$/m);
    assert.match(out, /^cat: \/nonexistent: No such file or directory$/m);
    assert.match(out, /^sudo: Ein Passwort ist notwendig$/m);
    const sysctl = await sh(host, 'root', 'sysctl -w net.netfilter.nf_conntrack_max=1');
    assert.match(sysctl.stderr, /Schlüssel »net\.netfilter\.nf_conntrack_max« wird gesetzt/);
  });

  test('entries with zone=, mark= and labels=, as conntrack and /proc show them', async () => {
    const { host } = h;
    const q = host.info.quirks;
    assert.ok(q, 'host.json describes the quirks');
    const net = (cidr: string): string => cidr.replace(/\.0\/24$/, '.').replace(/\./g, '\\.');
    const list = await shOk(host, 'root', 'conntrack -L 2>/dev/null');
    assert.ok(list.split('\n').filter((l) => new RegExp(`src=${net(q.zone.clients)}\\d+ .* zone=${q.zone.zone} use=`).test(l)).length >= 50, 'zone entries');
    assert.ok(list.split('\n').filter((l) => new RegExp(`src=${net(q.mark.clients)}\\d+ .* mark=${q.mark.mark} `).test(l)).length >= 50, 'mark entries');
    const labelled = (await shOk(host, 'root', 'conntrack -L -o labels 2>/dev/null')).split('\n').filter((l) => new RegExp(`src=${net(q.labels.clients)}\\d+ `).test(l));
    assert.ok(labelled.length >= 50 && labelled.every((l) => l.endsWith(' labels=ctd-blue,ctd-green')), labelled.slice(0, 3).join('\n'));
    // /proc/net/nf_conntrack prints zone=0 for every entry, zone=7 for the zoned ones, and no labels at all
    const proc = await shOk(host, 'root', 'cat /proc/net/nf_conntrack');
    assert.match(proc, new RegExp(`src=${net(q.zone.clients)}\\d+ .* mark=0 zone=${q.zone.zone} use=`));
    assert.doesNotMatch(proc, /labels=/);
  });

  test('IPv6: the host has an address and IPv6 flows; fill({ ipv6 }) adds more', async () => {
    const { host } = h;
    const v6 = host.info.ipv6;
    assert.ok(v6);
    assert.match(await shOk(host, 'root', 'ip -6 addr show dev eth0'), new RegExp(`inet6 ${v6.address}/64`));
    const f = await host.fill({ assured: 1000, ipv6: true });
    assert.ok(f.countAfter - f.countBefore >= 1000, JSON.stringify(f));
    const u = await host.fill({ unreplied: 200, src: '2001:db8:18::7', proto: 'udp', ipv6: true });
    assert.ok(u.countAfter - u.countBefore >= 200, JSON.stringify(u));
    const ext = await shOk(host, 'root', 'conntrack -L -o extended 2>/dev/null');
    assert.ok(ext.split('\n').filter((l) => /^ipv6 +10 tcp +6 \d+ ESTABLISHED src=2001:db8:18::\S+ dst=2001:db8:19::\S+ .*\[ASSURED\]/.test(l)).length >= 1000);
    assert.ok(ext.split('\n').filter((l) => /^ipv6 +10 udp +17 \d+ src=2001:db8:18::7 .*\[UNREPLIED\]/.test(l)).length >= 200);
  });

  test('[OFFLOAD] cannot be made here: this kernel has no flowtables', async () => {
    const { host } = h;
    assert.equal(host.info.quirks?.offload, false);
    const r = await host.netExec(['nft', 'add table inet ctdprobe; add flowtable inet ctdprobe f { hook ingress priority 0; devices = { eth0 }; }']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Could not process rule: No such file or directory/);
  });
});
