import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type ConntrackEntry,
  type ConntrackLine,
  canonicalAddress,
  conntrackEntrySchema,
  parseConntrackLine,
} from '../../../src/core/kernel/conntrackEntries';
import { captured, sample } from './samples';

function entry(line: string): ConntrackEntry {
  const parsed = parseConntrackLine(line);
  if (parsed.kind !== 'entry') assert.fail(`expected an entry, got ${JSON.stringify(parsed)}`);
  conntrackEntrySchema.parse(parsed.entry);
  return parsed.entry;
}

function entries(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const parsed = parseConntrackLine(line);
    if (parsed.kind === 'error') assert.fail(`line failed: ${parsed.message}: ${parsed.line}`);
    if (parsed.kind === 'entry') out.push(conntrackEntrySchema.parse(parsed.entry));
  }
  return out;
}

const realListings = [
  'conntrack_-L.txt',
  'conntrack_-L_-o_extended.txt',
  'proc_net_nf_conntrack.txt',
  'netns-lo/conntrack_-L.txt',
  'netns-lo/conntrack_-L_-o_extended.txt',
  'netns-lo/conntrack_-L_-o_extended,id.txt',
  'netns-lo/conntrack_-L_-f_ipv6.txt',
  'netns-lo/proc_net_nf_conntrack.txt',
  'netns-lo/acct_conntrack_-L_-o_extended.txt',
  'netns-lo/acct_conntrack_-L_-o_ktimestamp,id.txt',
  'netns-lo/acct_proc_net_nf_conntrack.txt',
  'netns-lo/conntrack_-D_-p_udp.txt',
];

test('every line of every captured listing parses and matches the schema', () => {
  for (const name of realListings) {
    const text = sample(name);
    const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('conntrack v'));
    assert.equal(entries(text).length, lines.length, name);
  }
});

test('conntrack -L: a TCP line field by field', () => {
  const e = entry('tcp      6 431994 ESTABLISHED src=10.203.0.71 dst=10.203.0.128 sport=11196 dport=80 src=10.203.0.128 dst=10.203.0.71 sport=80 dport=11196 [ASSURED] mark=0 use=1');
  assert.deepEqual(e, {
    proto: 'tcp',
    protonum: 6,
    timeout: 431994,
    state: 'ESTABLISHED',
    orig: { src: '10.203.0.71', dst: '10.203.0.128', sport: 11196, dport: 80 },
    reply: { src: '10.203.0.128', dst: '10.203.0.71', sport: 80, dport: 11196 },
    assured: true,
    unreplied: false,
    mark: 0,
    use: 1,
    flags: [],
    extra: {},
  });
});

test('conntrack -L: UDP with [UNREPLIED] between the tuples, no state', () => {
  const e = entry('udp      17 24 src=10.203.0.113 dst=10.203.0.128 sport=11101 dport=514 [UNREPLIED] src=10.203.0.128 dst=10.203.0.113 sport=514 dport=11101 mark=0 use=1');
  assert.equal(e.state, undefined);
  assert.equal(e.unreplied, true);
  assert.equal(e.assured, false);
  assert.equal(e.reply.sport, 514);
});

test('-o extended and procfs: layer 3, zone, and IPv6 written in full becomes the compressed form', () => {
  const ext = entry('ipv6     10 tcp      6 431998 ESTABLISHED src=::1 dst=::1 sport=46938 dport=8080 src=::1 dst=::1 sport=8080 dport=46938 [ASSURED] mark=0 use=1');
  assert.equal(ext.l3, 'ipv6');
  assert.equal(ext.l3num, 10);
  const proc = entries(captured('acct_proc_net_nf_conntrack').stdout);
  const v6 = proc.find((e) => e.l3 === 'ipv6');
  assert.ok(v6);
  assert.equal(v6.orig.src, '::1');
  assert.equal(v6.zone, 0);
  assert.equal(v6.use, 2);
});

test('procfs and conntrack -L list the same flows (same netns, same moment)', () => {
  const key = (e: ConntrackEntry): string => `${e.proto} ${e.orig.src} ${e.orig.dst} ${e.orig.sport ?? e.orig.type ?? ''} ${e.orig.dport ?? e.orig.code ?? ''}`;
  const fromProc = entries(captured('proc_net_nf_conntrack').stdout).map(key).sort();
  const fromTool = entries(captured('conntrack_-L').stdout).map(key).sort();
  assert.deepEqual(fromProc, fromTool);
});

test('ICMP / ICMPv6: type, code and echo id in the tuple; the conntrack id after', () => {
  const e = entry('ipv4     2 icmp     1 29 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=4777 src=127.0.0.1 dst=127.0.0.1 type=0 code=0 id=4777 mark=0 use=1 id=369648606');
  assert.deepEqual(e.orig, { src: '127.0.0.1', dst: '127.0.0.1', type: 8, code: 0, id: 4777 });
  assert.deepEqual(e.reply, { src: '127.0.0.1', dst: '127.0.0.1', type: 0, code: 0, id: 4777 });
  assert.equal(e.id, 369648606);
  const v6 = entries(captured('conntrack_-L').stdout).find((x) => x.proto === 'icmpv6');
  assert.equal(v6?.protonum, 58);
  assert.equal(v6?.orig.type, 128);
  assert.equal(v6?.reply.type, 129);
});

test('GRE keys and an unknown protocol (captured)', () => {
  const all = entries(captured('conntrack_-L').stdout);
  const gre = all.find((e) => e.proto === 'gre');
  assert.deepEqual(gre?.orig, { src: '127.0.0.1', dst: '127.0.0.2', srckey: '0x0', dstkey: '0x0' });
  assert.equal(gre?.unreplied, true);
  const unknown = all.find((e) => e.proto === 'unknown');
  assert.equal(unknown?.protonum, 253);
  assert.deepEqual(unknown?.orig, { src: '127.0.0.1', dst: '127.0.0.3' });
  assert.equal(unknown?.orig.sport, undefined);
});

test('accounting and timestamps: packets/bytes per direction, delta-time, [start=…] with spaces', () => {
  const all = entries(captured('acct_conntrack_-L_-o_ktimestamp,id').stdout);
  const tcp = all.find((e) => e.state === 'CLOSE_WAIT');
  assert.ok(tcp);
  assert.deepEqual(tcp.origCounters, { packets: 4, bytes: 3216 });
  assert.deepEqual(tcp.replyCounters, { packets: 3, bytes: 164 });
  assert.equal(tcp.deltaTime, 2);
  assert.match(tcp.extra['start'] ?? '', /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \d{4}$/);
  assert.equal(typeof tcp.id, 'number');
  const icmp = all.find((e) => e.proto === 'icmp');
  assert.equal(icmp?.orig.id !== undefined && icmp.id !== undefined && icmp.orig.id !== icmp.id, true);
  const plain = entry('tcp 6 10 CLOSE src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 mark=0 use=1');
  assert.equal(plain.origCounters, undefined, 'no acct: counters absent, not zero');
});

// Lines in libnetfilter_conntrack's format for features this machine cannot produce (flowtable
// offload, SELinux, zones, labels); synthetic, written to its snprintf order.
test('[OFFLOAD], [HW_OFFLOAD], secctx, zone, unknown flags and keys are kept', () => {
  const off = entry('ipv4     2 tcp      6 120 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=1000 [OFFLOAD] mark=0 zone=3 use=2');
  assert.equal(off.offload, 'software');
  assert.equal(off.assured, false, 'procfs prints OFFLOAD instead of ASSURED');
  assert.equal(off.zone, 3);
  const hw = entry('tcp      6 86399 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=443 src=10.0.0.2 dst=10.0.0.1 sport=443 dport=1000 [HW_OFFLOAD] mark=7 secctx=system_u:object_r:unlabeled_t:s0 use=1');
  assert.equal(hw.offload, 'hardware');
  assert.equal(hw.mark, 7);
  assert.equal(hw.secctx, 'system_u:object_r:unlabeled_t:s0');
  const odd = entry('udp 17 30 src=10.0.0.1 dst=10.0.0.2 sport=53 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=53 [SEEN_REPLY] mark=0 labels=a,b helper=tftp use=1');
  assert.deepEqual(odd.flags, ['SEEN_REPLY']);
  assert.deepEqual(odd.extra, { labels: 'a,b', helper: 'tftp' });
});

test('tool messages: the shown summary, other messages', () => {
  assert.deepEqual(parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 214 flow entries have been shown.'), { kind: 'summary', shown: 214 });
  const lines = sample('conntrack_-L_-o_extended.txt').split('\n').map(parseConntrackLine);
  assert.deepEqual(lines.filter((l) => l.kind === 'summary'), [{ kind: 'summary', shown: 214 }]);
  const denied = parseConntrackLine(captured('nobody_conntrack_-L').stderr.trim());
  assert.equal(denied.kind, 'tool-message');
  assert.equal(parseConntrackLine('   ').kind, 'blank');
});

test('malformed lines give an error with the line', () => {
  const bad: [string, RegExp][] = [
    ['tcp 6 ESTABLISHED src=1.1.1.1 dst=2.2.2.2', /timeout/],
    ['tcp 6 10 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 mark=0', /original and a reply/],
    ['tcp 6 10 src=1.1.1.1 dst=2.2.2.2 sport=99999 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1', /out of range/],
    ['tcp 6 10 src=1.1.1.1 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1', /src= and dst=/],
    ['tcp 6 10 src=1.1.1.1 dst=2.2.2.2 packets=3 src=2.2.2.2 dst=1.1.1.1', /packets= without bytes=/],
    ['tcp 6 10 src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1 src=3.3.3.3 dst=1.1.1.1', /more than two/],
    ['tcp 6 10 src=1.1.1.1 dst=2.2.2.2 [ASSURED src=2.2.2.2 dst=1.1.1.1', /unterminated|tuple/],
    ['tcp 6 10 src=1.1.1.1 dst=2.2.2.2 junk src=2.2.2.2 dst=1.1.1.1', /unexpected token/],
    ['6 tcp 10 src=1.1.1.1', /protocol name/],
    ['tcp 6 10 src= dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1', /empty src=/],
    ['tcp 999 10 src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1', /protocol number/],
    ['udp 17 24 src=10.0.0.1 dst=10.0.0.2 sport=x dport=1 src=10.0.0.2 dst=10.0.0.1 sport=1 dport=2', /not a number/],
  ];
  for (const [line, why] of bad) {
    const parsed = parseConntrackLine(line);
    assert.equal(parsed.kind, 'error', line);
    if (parsed.kind === 'error') {
      assert.equal(parsed.line, line);
      assert.match(parsed.message, why, line);
    }
  }
});

test('the line parser never throws and always returns a valid kind', () => {
  const tokens = fc.constantFrom('tcp', '6', '17', '120', 'ESTABLISHED', 'src=1.2.3.4', 'dst=::1', 'sport=1', 'dport=65536', 'id=3', 'packets=1', 'bytes=2', '[ASSURED]', '[UNREPLIED', ']', 'mark=0', '=', 'x=', '__proto__=1', '[__proto__=1]', 'type=8', 'zone=70000');
  fc.assert(
    fc.property(fc.array(tokens, { maxLength: 30 }), fc.string(), (words, noise) => {
      for (const line of [words.join(' '), noise, `${words.join(' ')} ${noise}`]) {
        const parsed: ConntrackLine = parseConntrackLine(line);
        assert.ok(['entry', 'summary', 'tool-message', 'blank', 'error'].includes(parsed.kind));
        if (parsed.kind === 'entry') conntrackEntrySchema.parse(parsed.entry);
      }
    }),
    { numRuns: 2000 },
  );
});

test('canonicalAddress compresses only fully written IPv6 addresses', () => {
  assert.equal(canonicalAddress('0000:0000:0000:0000:0000:0000:0000:0001'), '::1');
  assert.equal(canonicalAddress('2001:0db8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
  assert.equal(canonicalAddress('2001:0db8:0001:0002:0003:0004:0005:0006'), '2001:db8:1:2:3:4:5:6');
  assert.equal(canonicalAddress('2001:0db8:0000:0001:0002:0003:0004:0005'), '2001:db8:0:1:2:3:4:5', 'a single zero group is not compressed');
  assert.equal(canonicalAddress('0000:0000:0000:0000:0000:0000:0000:0000'), '::');
  assert.equal(canonicalAddress('10.0.0.1'), '10.0.0.1');
  assert.equal(canonicalAddress('fe80::1'), 'fe80::1');
});
