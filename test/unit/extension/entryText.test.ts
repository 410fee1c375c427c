/** The Entries group's pure half (src/extension/entryText.ts), on real `conntrack -L` lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConntrackLine, type ConntrackEntry } from '../../../src/core/kernel/conntrackEntries';
import { entryDetail, entryFilter, entryLabel, filterKey, filterProblem, filterText, inputProblem, valueFilter, withField } from '../../../src/extension/entryText';

function entry(line: string): ConntrackEntry {
  const p = parseConntrackLine(line);
  assert.equal(p.kind, 'entry', line);
  if (p.kind !== 'entry') throw new Error('unreachable');
  return p.entry;
}

const tcp = entry('ipv4     2 tcp      6 431992 ESTABLISHED src=10.203.0.71 dst=10.203.0.128 sport=11196 dport=80 src=10.203.0.128 dst=10.203.0.71 sport=80 dport=11196 [ASSURED] mark=0 use=1');
const udp = entry('ipv4     2 udp      17 22 src=10.203.0.113 dst=10.203.0.128 sport=11101 dport=514 [UNREPLIED] src=10.203.0.128 dst=10.203.0.113 sport=514 dport=11101 mark=0 use=1');

test('an entry\'s label and tooltip: protocol, original tuple, state, flags; every field in the detail', () => {
  assert.equal(entryLabel(tcp), 'tcp 10.203.0.71:11196 → 10.203.0.128:80  ESTABLISHED  [ASSURED]');
  assert.equal(entryLabel(udp), 'udp 10.203.0.113:11101 → 10.203.0.128:514  [UNREPLIED]');
  const detail = entryDetail(tcp);
  assert.match(detail, /^ipv4 tcp \(protocol 6\), ESTABLISHED\nexpires in 431,992 s \(4 d 23 h\)\noriginal: 10\.203\.0\.71:11196 → 10\.203\.0\.128:80\nreply: {4}10\.203\.0\.128:80 → 10\.203\.0\.71:11196\nflags: ASSURED\nmark=0 use=1$/);
});

test('the filter of an entry selects exactly it; a grouping value\'s filter, or none when conntrack cannot select it', () => {
  assert.deepEqual(entryFilter(tcp), { proto: 'tcp', src: '10.203.0.71', dst: '10.203.0.128', sport: 11196, dport: 80 });
  assert.deepEqual(valueFilter('state', 'ESTABLISHED'), { proto: 'tcp', state: 'ESTABLISHED' });
  assert.deepEqual(valueFilter('protocol', 'udp'), { proto: 'udp' });
  assert.deepEqual(valueFilter('source', '10.0.0.1'), { src: '10.0.0.1' });
  assert.equal(valueFilter('protocol', 'other'), undefined);
  assert.equal(valueFilter('source', 'a; rm -rf /'), undefined);
});

test('filters in words and as a key that does not depend on the order of fields', () => {
  assert.equal(filterText({ src: '10.0.0.1', proto: 'tcp' }), 'protocol tcp, source 10.0.0.1');
  assert.equal(filterText({ family: 'ipv6', src: '::1' }), 'IPv6, source ::1');
  assert.equal(filterKey({ src: '10.0.0.1', proto: 'tcp' }), filterKey({ proto: 'tcp', src: '10.0.0.1' }));
});

test('a typed value is refused in the user\'s words first, then by the whole filter\'s validation', () => {
  assert.match(inputProblem('src', 'a; rm -rf /', { src: 'a; rm -rf /' }) ?? '', /^src: "a; rm -rf \/" is not an IP address/);
  assert.match(inputProblem('dport', 'http', withField({}, 'dport', 'http')) ?? '', /^dport: "http" is not a port/);
  assert.match(inputProblem('src', '999.1.1.1', { src: '999.1.1.1' }) ?? '', /^src: /);
  assert.equal(inputProblem('src', '10.0.0.0/8', { src: '10.0.0.0/8' }), undefined);
  assert.deepEqual(withField({ src: '10.0.0.1' }, 'state', 'TIME_WAIT'), { src: '10.0.0.1', proto: 'tcp', state: 'TIME_WAIT' });
  assert.match(filterProblem({ state: 'ESTABLISHED' }) ?? '', /^state: /, 'a state without TCP');
  assert.equal(filterProblem({ proto: 'tcp', state: 'ESTABLISHED' }), undefined);
});
