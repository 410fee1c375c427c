import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendFromPath, parseAlternativesDisplay, parseIpTablesNames, parseIptablesVersion } from '../../../src/core/kernel/iptablesBackend';
import { captured, err, ok, sample } from './samples';

test('iptables -V: version and backend', () => {
  assert.deepEqual(ok(parseIptablesVersion(captured('iptables_-V').stdout)), { tool: 'iptables', version: '1.8.9', backend: 'nf_tables' });
  assert.deepEqual(ok(parseIptablesVersion(captured('iptables-legacy_-V').stdout)), { tool: 'iptables', version: '1.8.9', backend: 'legacy' });
  const lines = sample('versions.txt').split('\n');
  assert.equal(ok(parseIptablesVersion(lines[1] ?? '')).backend, 'legacy');
  assert.deepEqual(ok(parseIptablesVersion('iptables v1.6.1\n')), { tool: 'iptables', version: '1.6.1' }, 'pre-1.8: no backend printed');
  assert.equal(ok(parseIptablesVersion('ip6tables v1.8.7 (nf_tables)')).tool, 'ip6tables');
});

test('iptables -V: not a version line', () => {
  assert.equal(err(parseIptablesVersion('')).kind, 'empty');
  assert.equal(err(parseIptablesVersion('bash: iptables: command not found')).kind, 'malformed');
});

test('update-alternatives --display iptables (captured, auto mode)', () => {
  const alt = ok(parseAlternativesDisplay(captured('update-alternatives_--display_iptables').stdout));
  assert.deepEqual(alt, {
    name: 'iptables',
    mode: 'auto',
    current: '/usr/sbin/iptables-nft',
    best: '/usr/sbin/iptables-nft',
    backend: 'nf_tables',
    alternatives: [
      { path: '/usr/sbin/iptables-legacy', priority: 10 },
      { path: '/usr/sbin/iptables-nft', priority: 20 },
    ],
  });
});

test('update-alternatives in manual mode pointing at legacy (from the experiment transcript)', () => {
  const transcript = sample('iptables_no_chain_experiment.txt').split('\n');
  const start = transcript.findIndex((l) => l === 'iptables - manual mode');
  const alt = ok(parseAlternativesDisplay(transcript.slice(start, start + 3).join('\n')));
  assert.equal(alt.mode, 'manual');
  assert.equal(alt.current, '/usr/sbin/iptables-legacy');
  assert.equal(alt.best, '/usr/sbin/iptables-nft');
  assert.equal(alt.backend, 'legacy');
});

test('RHEL alternatives --display wording', () => {
  const text = [
    'iptables - status is auto.',
    ' link currently points to /usr/sbin/iptables-nft',
    '/usr/sbin/iptables-nft - priority 10',
    "Current `best' version is /usr/sbin/iptables-nft.",
  ].join('\n');
  const alt = ok(parseAlternativesDisplay(text));
  assert.equal(alt.mode, 'auto');
  assert.equal(alt.best, '/usr/sbin/iptables-nft');
  assert.equal(alt.backend, 'nf_tables');
});

test('update-alternatives errors', () => {
  const e = err(parseAlternativesDisplay('update-alternatives: error: no alternatives for iptables\n'));
  assert.equal(e.kind, 'tool-error');
  assert.equal(e.message, 'no alternatives for iptables');
  assert.equal(err(parseAlternativesDisplay('something else\n')).kind, 'malformed');
  assert.equal(err(parseAlternativesDisplay('')).kind, 'empty');
});

test('backendFromPath', () => {
  assert.equal(backendFromPath('/usr/sbin/xtables-legacy-multi'), 'legacy');
  assert.equal(backendFromPath('/usr/sbin/xtables-nft-multi'), 'nf_tables');
  assert.equal(backendFromPath('/usr/sbin/iptables'), undefined);
});

test('/proc/net/ip_tables_names: empty = no legacy tables; names otherwise', () => {
  assert.deepEqual(ok(parseIpTablesNames(captured('ip_tables_names.before_legacy').stdout)), []);
  assert.deepEqual(ok(parseIpTablesNames(captured('ip_tables_names').stdout)), ['filter']);
  assert.deepEqual(ok(parseIpTablesNames('nat\nfilter\nmangle\n')), ['nat', 'filter', 'mangle']);
  assert.equal(err(parseIpTablesNames('cat: /proc/net/ip_tables_names: No such file or directory')).kind, 'malformed');
});
