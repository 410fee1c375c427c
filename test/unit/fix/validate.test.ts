import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ValidationError,
  validateAddress,
  validateHostPath,
  validateInteger,
  validateIPv4,
  validateIPv6,
  validateIptablesChain,
  validateIptablesTable,
  validateNftFamily,
  validateNftName,
  validatePort,
  validateProtocol,
  validateSingleLine,
  validateSysctlKey,
  validateTcpState,
} from '../../../src/core/fix/validate';

function refuses(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ValidationError && e.field === field && e.message.startsWith(`${field}: `));
}

test('integers: decimal digits only, within range', () => {
  assert.equal(validateInteger('v', '262144'), 262144);
  assert.equal(validateInteger('v', '0'), 0);
  assert.equal(validateInteger('v', 42), 42);
  assert.equal(validateInteger('v', String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.equal(validateInteger('v', '10', { min: 10, max: 10 }), 10);
  assert.equal(validateInteger('v', 21474836, { max: 2147483647 / 100 }), 21474836); // fractional max floored
});

test('integers: hostile and ambiguous spellings are refused, naming the field', () => {
  for (const bad of ['262144; reboot', '$(id)', '256k', '1e6', '+5', '-1', ' 5', '5 ', '010', '0x10', '', '1.0', '٣', String(Number.MAX_SAFE_INTEGER + 2)]) {
    refuses(() => validateInteger('value', bad), 'value');
  }
  for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 60, null, undefined, {}, true]) {
    refuses(() => validateInteger('value', bad), 'value');
  }
  refuses(() => validateInteger('value', '11', { max: 10 }), 'value');
  refuses(() => validateInteger('value', '0', { min: 1 }), 'value');
});

test('ports: 1–65535, decimal', () => {
  assert.equal(validatePort('dport', '443'), 443);
  assert.equal(validatePort('dport', 65535), 65535);
  for (const bad of ['0', '65536', '0443', '80/tcp', 'http', '-1']) refuses(() => validatePort('dport', bad), 'dport');
});

test('IPv4: strict dotted quad', () => {
  assert.equal(validateIPv4('src', '192.0.2.10'), '192.0.2.10');
  assert.equal(validateIPv4('src', '0.0.0.0'), '0.0.0.0');
  assert.equal(validateIPv4('src', '255.255.255.255'), '255.255.255.255');
  for (const bad of ['010.0.0.1', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.4 ', '1.2.3.-1', '0x7f.0.0.1', '127.1', '1..2.3', '']) {
    refuses(() => validateIPv4('src', bad), 'src');
  }
});

test('IPv6: RFC 4291 text forms, no zone ids', () => {
  for (const good of ['::', '::1', '1::', '2001:db8::1', '2001:DB8:0:0:8:800:200C:417A', 'fe80::1:2', '::ffff:192.0.2.1', '64:ff9b::192.0.2.33', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:1.2.3.4', '0:0:0:0:0:0:0:0']) {
    assert.equal(validateIPv6('dst', good), good.toLowerCase(), good);
  }
  for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', ':1::', '1::2:', 'fe80::1%eth0', '::1.2.3', '1.2.3.4::', '::ffff:1.2.3.4:1', '1:2:3:4:5:6:7:1.2.3.4', '::01.2.3.4']) {
    refuses(() => validateIPv6('dst', bad), 'dst');
  }
});

test('addresses with optional prefix', () => {
  assert.deepEqual(validateAddress('src', '10.0.0.0/8', { allowPrefix: true }), { family: 'ipv4', address: '10.0.0.0', prefix: 8, text: '10.0.0.0/8' });
  assert.deepEqual(validateAddress('src', '2001:db8::/32', { allowPrefix: true }), { family: 'ipv6', address: '2001:db8::', prefix: 32, text: '2001:db8::/32' });
  assert.equal(validateAddress('src', '::1').family, 'ipv6');
  refuses(() => validateAddress('src', '10.0.0.0/8'), 'src');
  refuses(() => validateAddress('src', '10.0.0.0/33', { allowPrefix: true }), 'src prefix');
  refuses(() => validateAddress('src', '10.0.0.0/08', { allowPrefix: true }), 'src prefix');
  refuses(() => validateAddress('src', '::/129', { allowPrefix: true }), 'src prefix');
  refuses(() => validateAddress('src', '$(id)'), 'src');
});

test('protocols: names (any case) or numbers, normalised to the name', () => {
  assert.deepEqual(validateProtocol('proto', 'TCP'), { number: 6, name: 'tcp', text: 'tcp' });
  assert.deepEqual(validateProtocol('proto', '17'), { number: 17, name: 'udp', text: 'udp' });
  assert.deepEqual(validateProtocol('proto', 112), { number: 112, text: '112' });
  assert.equal(validateProtocol('proto', 'udplite').number, 136);
  assert.equal(validateProtocol('proto', 'icmpv6').number, 58);
  for (const bad of ['ipv6', 'tcp ', '256', '-1', '06', 'tcp;id', '']) refuses(() => validateProtocol('proto', bad), 'proto');
});

test('TCP states: conntrack names', () => {
  assert.equal(validateTcpState('state', 'ESTABLISHED'), 'ESTABLISHED');
  assert.equal(validateTcpState('state', 'time_wait'), 'TIME_WAIT');
  assert.equal(validateTcpState('state', 'SYN_SENT2'), 'SYN_SENT2');
  for (const bad of ['INVALID', 'NEW', 'ESTABLISHED,RELATED', 'CLOSED', '']) refuses(() => validateTcpState('state', bad), 'state');
});

test('sysctl keys: dotted or slashed, no traversal or shell characters', () => {
  assert.equal(validateSysctlKey('key', 'net.netfilter.nf_conntrack_max'), 'net.netfilter.nf_conntrack_max');
  assert.equal(validateSysctlKey('key', 'net/netfilter/nf_conntrack_max'), 'net.netfilter.nf_conntrack_max');
  assert.equal(validateSysctlKey('key', 'net.ipv4.conf.enp3s0/200.forwarding'), 'net.ipv4.conf.enp3s0/200.forwarding');
  for (const bad of ['', 'net..x', 'net/../../etc/passwd', '../x', 'net.x.', '.net', '/net/x', 'net//x', 'net./x', '-net.x', 'net.*.x', 'net.x=1', 'net.x;id', 'net x', 'net.$(id)', 'net.~x', 'a'.repeat(257)]) {
    refuses(() => validateSysctlKey('key', bad), 'key');
  }
});

test('nft and iptables identifiers', () => {
  assert.equal(validateNftName('chain', 'input'), 'input');
  assert.equal(validateNftName('table', 'my_filter-1.v2'), 'my_filter-1.v2');
  assert.equal(validateIptablesChain('chain', 'INPUT'), 'INPUT');
  assert.equal(validateIptablesChain('chain', 'KUBE-FIREWALL'), 'KUBE-FIREWALL');
  for (const bad of ['', '-j', '1abc', 'in put', 'x;y', '"x"', 'a'.repeat(256)]) refuses(() => validateNftName('chain', bad), 'chain');
  for (const bad of ['', '!INPUT', '-A', 'a'.repeat(29), 'x y']) refuses(() => validateIptablesChain('chain', bad), 'chain');
  assert.equal(validateIptablesTable('table', 'filter'), 'filter');
  refuses(() => validateIptablesTable('table', 'filters'), 'table');
  assert.equal(validateNftFamily('family', 'inet'), 'inet');
  refuses(() => validateNftFamily('family', 'bridge'), 'family');
});

test('host paths and single lines', () => {
  assert.equal(validateHostPath('path', '/etc/sysctl.d/90-conntrack-doctor.conf'), '/etc/sysctl.d/90-conntrack-doctor.conf');
  for (const bad of ['etc/x', '/etc/../x', '/etc/./x', '/etc//x', '/etc/x/', '/etc/x y', '/etc/$(id)', '/']) refuses(() => validateHostPath('path', bad), 'path');
  assert.equal(validateSingleLine('note', 'fine, really'), 'fine, really');
  for (const bad of ['a\nb', 'a\rb', 'a\0b', 'a\u2028b']) refuses(() => validateSingleLine('note', bad), 'note');
});

test('an address with a slash: the error names the whole input', () => {
  assert.throws(() => validateAddress('src', 'a; touch /x', { allowPrefix: true }), (e: unknown) => e instanceof ValidationError && e.message.includes('"a; touch /x"'));
  assert.throws(() => validateAddress('src', '10.0.0.1/x', { allowPrefix: true }), /prefix/);
});
