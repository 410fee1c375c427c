import { test } from 'node:test';
import assert from 'node:assert/strict';
import { managedPathRefusal } from '../../../src/core/fix/managedPaths';

test('conntrack:// allow-list: the managed locations are readable and writable, others refused with the reason', () => {
  for (const p of ['/etc/sysctl.conf', '/etc/sysctl.d/99-conntrack.conf', '/usr/lib/sysctl.d/50-default.conf', '/etc/modprobe.d/nf_conntrack.conf', '/etc/modules-load.d/nf_conntrack.conf', '/etc/modules', '/etc/nftables.conf', '/etc/iptables/rules.v4', '/etc/sysconfig/ip6tables']) {
    assert.equal(managedPathRefusal(p, 'read'), undefined, p);
    assert.equal(managedPathRefusal(p, 'write'), undefined, p);
  }
  for (const p of ['/etc/shadow', '/root/.ssh/authorized_keys', '/etc/sysctl.d/../shadow', '/etc/sysctl.d/./x.conf', '/etc//sysctl.conf', '/etc/sysctl.d/sub/x.conf', '/etc/sysctl.d/.hidden', 'etc/sysctl.conf', '/etc/sysctl.d', '/etc/iptables/other']) {
    assert.match(managedPathRefusal(p, 'read') ?? '', /is not a location Conntrack Doctor manages \(sysctl\.conf, sysctl\.d, modprobe\.d, modules-load\.d, .*\): refused$/, p);
    assert.ok(managedPathRefusal(p, 'write'), p);
  }
  assert.equal(managedPathRefusal('/etc/sysctl.d', 'list'), undefined);
  assert.ok(managedPathRefusal('/etc', 'list'), 'an ancestor is not listed');
  assert.equal(managedPathRefusal('/etc', 'stat'), undefined, 'an ancestor can be stat-ed');
  assert.equal(managedPathRefusal('/', 'stat'), undefined);
  assert.ok(managedPathRefusal('/root', 'stat'));
  assert.ok(managedPathRefusal('/etc/shadow', 'stat'));
});
