/**
 * The fixes against the real tools (conntrack, nft, iptables, sysctl), applied, read back and
 * rolled back by the product's own executor (src/io/apply.ts), each in a fresh network and
 * mount namespace whose /etc and /var are overlays (helpers/netns.ts), so nothing on the
 * machine changes. Needs root and the packages conntrack, nftables, iptables, procps (see
 * scripts/setup.sh); a missing tool FAILS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { countArgv, deleteEntries, flushTable, invalidDropRule, raiseMax, setConntrackTimeout, RULE_TAG } from '../../../src/core/fix/builders';
import type { Fix } from '../../../src/core/fix/model';
import { applyFix, ApplyError, rollbackLast, verifyAll, type ChangeRecord, type RollbackReport, type VerifyReport } from '../../../src/io/apply';
import { Netns } from './helpers/netns';
import { parseSshConnection } from '../../../src/core/fix/entriesFixes';

function requireTools(): void {
  const missing = ['unshare', 'nsenter', 'conntrack', 'nft', 'iptables-nft', 'iptables-legacy', 'ip6tables-nft', 'sysctl'].filter(
    (t) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t]).status !== 0,
  );
  assert.deepEqual(missing, [], `missing tools: install the Debian packages conntrack nftables iptables procps util-linux (scripts/setup.sh)`);
}

/** Runs `body` in a fresh network namespace, closed afterwards. */
async function inNetns<T>(body: (ns: Netns) => Promise<T>): Promise<T> {
  requireTools();
  const ns = Netns.open();
  try {
    return await body(ns);
  } finally {
    ns.close();
  }
}

const apply = (ns: Netns, fix: Fix): Promise<ChangeRecord> => applyFix(ns.runner, fix, { confirm: () => Promise.resolve(true), timeoutMs: 120_000 });
const rollback = (ns: Netns): Promise<RollbackReport> => rollbackLast(ns.runner, { timeoutMs: 120_000 });
// Generous: a command here can wait long for the CPU on a loaded machine.
const verify = (ns: Netns, fix: Fix): Promise<VerifyReport[]> => verifyAll(ns.runner, fix.verify, { timeoutMs: 120_000 });

const insert = (proto: string, sport: number, dport: number): string[] =>
  ['conntrack', '-I', '-s', '192.0.2.1', '-d', '198.51.100.1', '-p', proto, '--sport', String(sport), '--dport', String(dport), ...(proto === 'tcp' ? ['--state', 'ESTABLISHED'] : []), '-t', '300'];

test('real tools: prerequisites are installed', () => {
  requireTools();
});

test('real tools: set-timeout applies, reads back, and rolls back (per-netns key)', async () => {
  await inNetns(async (ns) => {
    const key = 'net.netfilter.nf_conntrack_tcp_timeout_established';
    const current = ns.run(['sysctl', '-n', key]).stdout.trim();
    assert.match(current, /^[0-9]+$/);
    const fix = setConntrackTimeout({ conntrack: 'builtin', moduleLoadedAtBoot: true, files: [], key, value: 7200, current, tradeOff: 'idle connections over 2 h break' });
    const record = await apply(ns, fix);
    assert.deepEqual(record.steps.filter((s) => !s.skipped).map((s) => s.ok), [true]);
    assert.deepEqual(record.verification.map((v) => [v.ok, v.observed]), [[true, '7200']]);
    assert.equal(ns.run(['sysctl', '-n', key]).stdout.trim(), '7200', 'independent read');
    const rolled = await rollback(ns);
    assert.equal(rolled.record.id, record.id);
    assert.deepEqual(rolled.verification.map((v) => [v.ok, v.observed]), [[true, current]]);
    assert.deepEqual((await verify(ns, fix)).map((v) => [v.ok, v.observed]), [[false, current]]);
  });
});

test('real tools: raise-max inside a container netns is refused, and only the read-back notices', async () => {
  await inNetns(async (ns) => {
    const fix = raiseMax({ conntrack: 'builtin', moduleLoadedAtBoot: true, files: [], value: 1234567, current: 262144 });
    const err = await apply(ns, fix).then(() => assert.fail('applied'), (e: unknown) => e);
    assert.ok(err instanceof ApplyError, String(err));
    assert.match(err.message, /^read-back failed: /);
    const [v] = err.record?.verification ?? [];
    assert.equal(v?.ok, false);
    assert.notEqual(v?.observed, '1234567');
  });
});

test('real tools: delete-entries removes exactly the filtered entries; a second run (none left) is still ok', async () => {
  await inNetns(async (ns) => {
    const filter = { proto: 'tcp', dport: 80, state: 'ESTABLISHED' };
    ns.setup([insert('tcp', 1111, 80), insert('tcp', 2222, 80), insert('tcp', 3333, 443), insert('udp', 4444, 53)]);
    const count = (f: Parameters<typeof countArgv>[0]): number => Number(ns.run(countArgv(f)).stdout.trim());
    assert.equal(count(filter), 2, 'the preview counts what the delete will remove');
    const fix = deleteEntries({ filter, expectedCount: 2 });
    const first = await apply(ns, fix);
    assert.deepEqual(first.steps.map((s) => [s.exitCode, s.ok]), [[0, true]]);
    assert.deepEqual(first.verification.map((v) => [v.ok, v.observed]), [[true, '0']]);
    assert.deepEqual((await apply(ns, fix)).steps.map((s) => [s.exitCode, s.ok]), [[1, true]]);
    assert.equal(count({ proto: 'udp' }), 1);
    assert.equal(count({ proto: 'tcp' }), 1);
  });
});

test('real tools: flush-table empties the table', async () => {
  await inNetns(async (ns) => {
    ns.setup([insert('tcp', 1, 80), insert('udp', 2, 53)]);
    const fix = flushTable({ entryCount: 2 });
    const record = await apply(ns, fix);
    assert.deepEqual(record.steps.map((s) => s.ok), [true]);
    assert.deepEqual(record.verification.map((v) => [v.ok, v.observed]), [[true, '0']]);
  });
});

test('real tools: delete and flush keep the own connection\'s entry (state and mark unchanged), delete the rest', async () => {
  await inNetns(async (ns) => {
    // the "own" SSH entry 192.0.2.1:5555 → 198.51.100.1:22, next to others on port 22 and 80
    const own = parseSshConnection('192.0.2.1 5555 198.51.100.1 22');
    ns.setup([insert('tcp', 5555, 22), insert('tcp', 6666, 22), insert('tcp', 7777, 80), insert('udp', 8888, 53)]);
    const ownEntry = (): string => ns.run(['conntrack', '-L', '-p', 'tcp', '--orig-port-src', '5555']).stdout.trim();
    const del = await apply(ns, deleteEntries({ filter: { proto: 'tcp', dport: 22 }, expectedCount: 2, ...(own ? { ownConnection: own } : {}) }));
    assert.deepEqual(del.steps.map((s) => [s.exitCode, s.ok]), [[0, true]]);
    assert.match(del.steps[0]?.stderr ?? '', /1 flow entries have been deleted/);
    assert.equal(del.steps[0]?.stdout, '', 'the listing stays on the host');
    assert.deepEqual(del.verification.map((v) => [v.ok, v.observed]), [[true, '1']]);
    assert.match(ownEntry(), /ESTABLISHED src=192\.0\.2\.1 dst=198\.51\.100\.1 sport=5555 dport=22 .* mark=0 /);
    const flush = await apply(ns, flushTable({ entryCount: 3, ...(own ? { ownConnection: own } : {}) }));
    assert.deepEqual(flush.steps.map((s) => [s.exitCode, s.ok]), [[0, true]]);
    assert.match(flush.steps[0]?.stderr ?? '', /2 flow entries have been deleted/);
    assert.equal(ns.run(['conntrack', '-C']).stdout.trim(), '1', 'only the own entry is left');
    assert.match(ownEntry(), /sport=5555 dport=22 .* mark=0 /);
  });
});

test('real tools: nft invalid-drop rule: insert, skip when present, verify, roll back by handle', async () => {
  await inNetns(async (ns) => {
    ns.setup([
      ['nft', 'add', 'table', 'inet', 'filter'],
      ['nft', 'add', 'chain', 'inet', 'filter', 'input', '{ type filter hook input priority 0; policy accept; }'],
      ['nft', 'add', 'rule', 'inet', 'filter', 'input', 'tcp', 'dport', '22', 'accept'],
    ]);
    const fix = invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'filter', chain: 'input' }, persistence: { kind: 'none' } });
    const first = await apply(ns, fix);
    assert.deepEqual(first.steps.map((s) => [s.skipped ?? false, s.ok]), [[false, true]]);
    assert.deepEqual(first.verification.map((v) => v.ok), [true]);
    const again = await apply(ns, fix);
    assert.deepEqual(again.steps.map((s) => s.skipped), [true]);
    assert.equal(again.unchanged, true, 'already in place: verified, not recorded');
    const listing = ns.run(['nft', 'list', 'chain', 'inet', 'filter', 'input']).stdout;
    assert.match(listing, /ct state invalid counter packets \d+ bytes \d+ drop comment "conntrack-doctor-invalid-drop"/);
    const rolled = await rollback(ns);
    assert.equal(rolled.record.id, first.id);
    const deletes = rolled.steps.filter((s) => !s.readOnly);
    assert.equal(deletes.length, 1);
    assert.match(deletes[0]?.command ?? '', /^nft delete rule inet filter input handle [0-9]+$/);
    assert.deepEqual(deletes.map((s) => s.ok), [true]);
    assert.deepEqual((await verify(ns, fix)).map((v) => v.ok), [false]);
    assert.match(ns.run(['nft', 'list', 'chain', 'inet', 'filter', 'input']).stdout, /tcp dport 22 accept/, 'the admin’s rule is untouched');
    await assert.rejects(rollback(ns), /nothing to roll back/);
  });
});

test('real tools: iptables (explicit backends, IPv4+IPv6): -C/-I/-D, saved through stdoutTo', async () => {
  for (const backend of ['nf_tables', 'legacy'] as const) {
    await inNetns(async (ns) => {
      const fix = invalidDropRule({ target: { kind: 'iptables', backend, coexisting: true }, persistence: { kind: 'netfilter-persistent' }, ipv6: true });
      const applied = await apply(ns, fix);
      assert.deepEqual(applied.steps.map((s) => [s.skipped ?? false, s.ok]), [[false, true], [false, true], [false, true], [false, true]], `${backend}: ${JSON.stringify(applied.steps)}`);
      assert.deepEqual(applied.files.map((f) => f.path), ['/etc/iptables/rules.v4', '/etc/iptables/rules.v6'], 'the saved rules were written atomically, as files of the change');
      const again = await apply(ns, fix);
      assert.deepEqual(again.steps.slice(0, 2).map((s) => s.skipped), [true, true]);
      assert.deepEqual(again.verification.map((v) => v.ok), [true, true]);
      for (const v of ['4', '6']) {
        const saved = ns.run(['cat', `/etc/iptables/rules.v${v}`]).stdout;
        assert.match(saved, new RegExp(`-A INPUT -m conntrack --ctstate INVALID -m comment --comment ${RULE_TAG} -j DROP`));
      }
      // iptables-save's "# Generated … on <date>" line differs from one second to the next: a
      // second apply then rewrites the saved rules and is a change of its own, the newest one.
      const rolled = await rollback(ns);
      assert.equal(rolled.record.id, again.unchanged ? applied.id : again.id);
      assert.deepEqual(rolled.steps.map((s) => s.ok), [true, true]);
      assert.deepEqual((await verify(ns, fix)).map((v) => v.ok), [false, false]);
    });
  }
});
