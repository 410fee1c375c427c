import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Fix } from '../../../src/core/fix/model';
import { deleteEntries, flushTable, invalidDropRule, loadModuleAtBoot, raiseMax, setBuckets, setSysctl } from '../../../src/core/fix/builders';
import { renderCommand } from '../../../src/core/fix/quote';
import { ON_HOST_SCRIPTS } from '../../../src/core/fix/entriesFixes';

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', '/bin/sh', '/bin/bash', 'busybox', 'eval', 'env']);

function everyFix(): Fix[] {
  const host = { conntrack: 'module', moduleLoadedAtBoot: false, files: [{ path: '/etc/sysctl.d/99-zzz.conf', content: 'net.netfilter.nf_conntrack_max = 1\n' }] } as const;
  return [
    raiseMax({ ...host, value: 262144, current: 65536 }),
    setBuckets({ ...host, value: 65536, current: 16384 }),
    setSysctl({ ...host, key: 'net.netfilter.nf_conntrack_udp_timeout', value: 10, current: 30, tradeOff: 'one-way UDP flows idle over 10 s lose their entry' }),
    loadModuleAtBoot({ conntrack: 'module', moduleLoadedAtBoot: false }),
    deleteEntries({ filter: { src: '2001:db8::/64', proto: 'udp', dport: 53 }, expectedCount: 10 }),
    flushTable({ entryCount: 100 }),
    invalidDropRule({ target: { kind: 'nft', family: 'inet', table: 'filter', chain: 'input' }, persistence: { kind: 'nftables-conf', content: 'table inet filter {\n chain input {\n  type filter hook input priority 0;\n }\n}\n' } }),
    invalidDropRule({ target: { kind: 'iptables', backend: 'legacy', coexisting: true }, persistence: { kind: 'netfilter-persistent' }, ipv6: true }),
  ];
}

test('every fix: argv arrays only (no shell), renderable, with notes and a consistent shape', () => {
  const fixes = everyFix();
  assert.equal(new Set(fixes.map((f) => f.id)).size >= 7, true);
  for (const fix of fixes) {
    assert.ok(fix.notes.length > 0, `${fix.id} has no trade-off note`);
    assert.ok(fix.title.length > 0 && fix.summary.length > 0);
    if (fix.destructive) assert.ok((fix.confirmation ?? '').length > 0, `${fix.id} is destructive without a confirmation`);
    const commands = [
      ...fix.runtime.flatMap((s) => [s.argv, ...(s.skipIf ? [s.skipIf] : []), ...(s.handleFrom ? [s.handleFrom.argv] : [])]),
      ...fix.verify.map((v) => v.argv),
      ...fix.rollback.map((s) => s.argv),
    ];
    assert.ok(commands.length > 0 || fix.fileEdits.length > 0, `${fix.id} does nothing`);
    for (const argv of commands) {
      assert.ok(argv.length > 0 && argv.every((a) => typeof a === 'string'));
      // The one exception: `sh -c <constant script> <name> values…` (entriesFixes: counting and
      // deleting on the host); every value is a positional parameter, never part of the script.
      const constantScript = argv[0] === 'sh' && argv[1] === '-c' && ON_HOST_SCRIPTS.has(argv[2] ?? '');
      assert.equal(SHELLS.has(argv[0] ?? '') && !constantScript, false, `${fix.id} runs a shell: ${argv.join(' ')}`);
      assert.doesNotThrow(() => renderCommand(argv));
    }
    for (const e of fix.fileEdits) {
      assert.match(e.path, /^\/[A-Za-z0-9_./-]+$/);
      assert.notEqual(e.before, e.after);
    }
  }
});

test('every fix: a fix that must run in the host netns says so', () => {
  const byId = new Map(everyFix().map((f) => [f.id, f]));
  assert.equal(byId.get('raise-max')?.needsInitialNetns, true);
  assert.equal(byId.get('set-buckets')?.needsInitialNetns, true);
  assert.equal(byId.get('set-timeout')?.needsInitialNetns, false);
  assert.equal(byId.get('delete-entries')?.needsInitialNetns, false);
});
