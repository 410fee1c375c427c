/**
 * The fixes against the real tools (conntrack, nft, iptables, sysctl), each in a fresh network
 * namespace (`unshare -n`), so nothing on the machine changes. Needs root and the packages
 * conntrack, nftables, iptables, procps (see docs / scripts/setup.sh); a missing tool FAILS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countArgv, deleteEntries, flushTable, invalidDropRule, raiseMax, setConntrackTimeout, RULE_TAG } from '../../../src/core/fix/builders';
import { Netns } from './helpers/netns';

function requireTools(): void {
  const missing = ['unshare', 'nsenter', 'conntrack', 'nft', 'iptables-nft', 'iptables-legacy', 'ip6tables-nft', 'sysctl'].filter(
    (t) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0,
  );
  assert.deepEqual(missing, [], `missing tools: install the Debian packages conntrack nftables iptables procps util-linux (scripts/setup.sh)`);
}

/** Runs `body` in a fresh network namespace, closed afterwards. */
function inNetns<T>(body: (ns: Netns) => T): T {
  requireTools();
  const ns = Netns.open();
  try {
    return body(ns);
  } finally {
    ns.close();
  }
}

const insert = (proto: string, sport: number, dport: number): string[] =>
  ['conntrack', '-I', '-s', '192.0.2.1', '-d', '198.51.100.1', '-p', proto, '--sport', String(sport), '--dport', String(dport), ...(proto === 'tcp' ? ['--state', 'ESTABLISHED'] : []), '-t', '300'];

test('real tools: prerequisites are installed', () => {
  requireTools();
});

test('real tools: set-timeout applies, reads back, and rolls back (per-netns key)', () => {
  inNetns((ns) => {
    const key = 'net.netfilter.nf_conntrack_tcp_timeout_established';
    const current = ns.run(['sysctl', '-n', key]).stdout.trim();
    assert.match(current, /^[0-9]+$/);
    const fix = setConntrackTimeout({ conntrack: 'builtin', moduleLoadedAtBoot: true, files: [], key, value: 7200, current, tradeOff: 'idle connections over 2 h break' });
    assert.deepEqual(ns.apply(fix).map((s) => s.ok), [true]);
    assert.deepEqual(ns.verify(fix).map((v) => [v.ok, v.observed]), [[true, '7200']]);
    assert.deepEqual(ns.rollback(fix).map((s) => s.ok), [true]);
    assert.deepEqual(ns.verify(fix).map((v) => [v.ok, v.observed]), [[false, current]]);
  });
});

test('real tools: raise-max inside a container netns is refused, and only the read-back notices', () => {
  inNetns((ns) => {
    const fix = raiseMax({ conntrack: 'builtin', moduleLoadedAtBoot: true, files: [], value: 1234567, current: 262144 });
    ns.apply(fix);
    const [v] = ns.verify(fix);
    assert.equal(v?.ok, false);
    assert.notEqual(v?.observed, '1234567');
  });
});

test('real tools: delete-entries removes exactly the filtered entries; a second run (none left) is still ok', () => {
  inNetns((ns) => {
    const filter = { proto: 'tcp', dport: 80, state: 'ESTABLISHED' };
    ns.setup([insert('tcp', 1111, 80), insert('tcp', 2222, 80), insert('tcp', 3333, 443), insert('udp', 4444, 53)]);
    const count = (f: Parameters<typeof countArgv>[0]): number => ns.run(countArgv(f)).stdout.split('\n').filter((l) => l.trim() !== '').length;
    assert.equal(count(filter), 2, 'the preview counts what the delete will remove');
    const fix = deleteEntries({ filter, expectedCount: 2 });
    assert.deepEqual(ns.apply(fix).map((s) => [s.exitCode, s.ok]), [[0, true]]);
    assert.deepEqual(ns.verify(fix).map((v) => [v.ok, v.observed]), [[true, '0']]);
    assert.deepEqual(ns.apply(fix).map((s) => [s.exitCode, s.ok]), [[1, true]]);
    assert.equal(count({ proto: 'udp' }), 1);
    assert.equal(count({ proto: 'tcp' }), 1);
  });
});

test('real tools: flush-table empties the table', () => {
  inNetns((ns) => {
    ns.setup([insert('tcp', 1, 80), insert('udp', 2, 53)]);
    const fix = flushTable({ entryCount: 2 });
    assert.deepEqual(ns.apply(fix).map((s) => s.ok), [true]);
    assert.deepEqual(ns.verify(fix).map((v) => [v.ok, v.observed]), [[true, '0']]);
  });
});

test('real tools: nft invalid-drop rule: insert, skip when present, verify, roll back by handle', () => {
  inNetns((ns) => {
    ns.setup([
      ['nft', 'add', 'table', 'inet', 'filter'],
      ['nft', 'add', 'chain', 'inet', 'filter', 'input', '{ type filter hook input priority 0; policy accept; }'],
      ['nft', 'add', 'rule', 'inet', 'filter', 'input', 'tcp', 'dport', '22', 'accept'],
    ]);
    const fix = invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'filter', chain: 'input' }, persistence: { kind: 'none' } });
    assert.deepEqual(ns.apply(fix).map((s) => [s.skipped, s.ok]), [[false, true]]);
    assert.deepEqual(ns.apply(fix).map((s) => s.skipped), [true]);
    assert.deepEqual(ns.verify(fix).map((v) => v.ok), [true]);
    const listing = ns.run(['nft', 'list', 'chain', 'inet', 'filter', 'input']).stdout;
    assert.match(listing, /ct state invalid counter packets \d+ bytes \d+ drop comment "conntrack-doctor-invalid-drop"/);
    const rolled = ns.rollback(fix);
    assert.equal(rolled.length, 1);
    assert.match(rolled[0]?.argv.join(' ') ?? '', /^nft delete rule inet filter input handle [0-9]+$/);
    assert.deepEqual(rolled.map((s) => s.ok), [true]);
    assert.deepEqual(ns.verify(fix).map((v) => v.ok), [false]);
    assert.match(ns.run(['nft', 'list', 'chain', 'inet', 'filter', 'input']).stdout, /tcp dport 22 accept/, 'the admin’s rule is untouched');
    assert.deepEqual(ns.rollback(fix), [], 'nothing left to roll back');
  });
});

test('real tools: iptables (explicit backends, IPv4+IPv6): -C/-I/-D, saved through stdoutTo', () => {
  for (const backend of ['nf_tables', 'legacy'] as const) {
    inNetns((ns) => {
      const root = mkdtempSync(join(tmpdir(), 'cd-fix-'));
      try {
        const fix = invalidDropRule({ target: { kind: 'iptables', backend, coexisting: true }, persistence: { kind: 'netfilter-persistent' }, ipv6: true });
        const applied = ns.apply(fix, root);
        assert.deepEqual(applied.map((s) => [s.skipped, s.ok]), [[false, true], [false, true], [false, true], [false, true]], `${backend}: ${JSON.stringify(applied)}`);
        assert.deepEqual(ns.apply(fix, root).slice(0, 2).map((s) => s.skipped), [true, true]);
        assert.deepEqual(ns.verify(fix).map((v) => v.ok), [true, true]);
        for (const v of ['4', '6']) {
          const saved = readFileSync(join(root, `/etc/iptables/rules.v${v}`), 'utf8');
          assert.match(saved, new RegExp(`-A INPUT -m conntrack --ctstate INVALID -m comment --comment ${RULE_TAG} -j DROP`));
        }
        assert.deepEqual(ns.rollback(fix).map((s) => s.ok), [true, true]);
        assert.deepEqual(ns.verify(fix).map((v) => v.ok), [false, false]);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
