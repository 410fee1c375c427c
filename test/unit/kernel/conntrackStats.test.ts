import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conntrackStatsSchema, parseConntrackStats, parseProcConntrackStats } from '../../../src/core/kernel/conntrackStats';
import { captured, err, ok, sample } from './samples';

test('conntrack -S (netlink): per-CPU records by name and sums', () => {
  const stats = ok(parseConntrackStats(sample('conntrack_-S.txt')));
  assert.equal(stats.source, 'netlink');
  assert.deepEqual(stats.perCpu.map((c) => c.cpu), [0, 1]);
  assert.equal(stats.perCpu[1]?.counters['invalid'], 150);
  assert.equal(stats.totals['invalid'], 150);
  assert.equal(stats.totals['drop'], 0);
  assert.equal(stats.totals['chaintoolong'], 0);
  assert.equal(stats.entries, undefined);
  assert.deepEqual(Object.keys(stats.totals), ['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart', 'clash_resolve', 'chaintoolong']);
  conntrackStatsSchema.parse(stats);
});

test('conntrack -S from the loopback netns sums across CPUs', () => {
  const stats = ok(parseConntrackStats(captured('conntrack_-S').stdout));
  assert.equal(stats.totals['invalid'], 50);
  assert.equal(stats.perCpu.length, 2);
});

test('conntrack -S: fields are read by name, whatever their order, and older names are kept', () => {
  const text = [
    'cpu=0 searched=12 found=3 new=7 invalid=1 ignore=2 delete=1 delete_list=1 insert=7 insert_failed=0 drop=4 early_drop=0 icmp_error=0 expect_new=0 expect_create=0 expect_delete=0',
    'cpu=1 drop=6 found=1 searched=1 new=1 invalid=0 ignore=0 delete=0 delete_list=0 insert=1 insert_failed=2 early_drop=5 icmp_error=1 expect_new=0 expect_create=0 expect_delete=0 extra_future=9',
  ].join('\n');
  const stats = ok(parseConntrackStats(text));
  assert.equal(stats.source, 'netlink');
  assert.equal(stats.totals['drop'], 10);
  assert.equal(stats.totals['searched'], 13);
  assert.equal(stats.totals['icmp_error'], 1, 'netlink names are not renamed');
  assert.equal(stats.totals['extra_future'], 9, 'a field on one CPU only is summed over the CPUs that have it');
  assert.equal(stats.totals['clash_resolve'], undefined, 'a field absent everywhere stays absent');
});

test('conntrack -S without CAP_NET_ADMIN: procfs fallback values are real, the error is kept', () => {
  const { stdout, stderr, exitCode } = captured('nobody_conntrack_-S');
  assert.equal(exitCode, 1);
  const stats = ok(parseConntrackStats(stdout + stderr));
  assert.equal(stats.source, 'procfs-fallback');
  assert.equal(stats.entries, 22);
  assert.equal(stats.totals['invalid'], 50);
  assert.equal(stats.totals['clash_resolve'], 0);
  assert.equal(stats.totals['chaintoolong'], 0);
  assert.equal(stats.totals['entries'], undefined, 'entries is not summed');
  assert.equal(stats.totals['new'], undefined, 'placeholder columns are not zeros');
  assert.deepEqual(stats.placeholderColumns.sort(), ['delete', 'ignore', 'new']);
  assert.match(stats.toolMessages[0] ?? '', /CAP_NET_ADMIN/);
});

test('conntrack -S that only printed an error is an error, not zeros', () => {
  const e = err(parseConntrackStats('conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted\n'));
  assert.equal(e.kind, 'tool-error');
  assert.match(e.message, /Operation not permitted/);
});

test('conntrack -S: malformed lines and empty output are errors', () => {
  assert.equal(err(parseConntrackStats('')).kind, 'empty');
  assert.equal(err(parseConntrackStats('cpu=0 found=x\n')).kind, 'malformed');
  assert.equal(err(parseConntrackStats('found=1 invalid=2\n')).kind, 'malformed', 'no cpu=');
  assert.equal(err(parseConntrackStats('cpu=0\n')).kind, 'malformed', 'no counters');
  assert.equal(err(parseConntrackStats('cpu=0 __proto__=1\n')).kind, 'malformed');
  assert.equal(err(parseConntrackStats('hello world\n')).line, 'hello world');
  const twice = sample('conntrack_-S.txt') + sample('conntrack_-S.txt');
  assert.match(err(parseConntrackStats(twice)).message, /appears twice/, 'would double the sums');
});

test('/proc/net/stat/nf_conntrack: hex rows, netlink names, entries once', () => {
  const stats = ok(parseProcConntrackStats(sample('proc_net_stat_nf_conntrack.txt')));
  assert.equal(stats.source, 'procfs');
  assert.equal(stats.entries, 0xda);
  assert.equal(stats.totals['invalid'], 0x96);
  assert.equal(stats.totals['clash_resolve'], 0, 'clashres is clash_resolve');
  assert.equal(stats.totals['chaintoolong'], 0, 'chainlength is chaintoolong');
  assert.equal(stats.totals['error'], 0, 'icmp_error is error');
  assert.equal(stats.totals['clashres'], undefined);
  assert.equal(stats.totals['entries'], undefined);
  assert.equal(stats.totals['ignore'], undefined);
});

test('procfs and netlink from the same netns give the same totals for shared counters', () => {
  const proc = ok(parseProcConntrackStats(captured('proc_net_stat_nf_conntrack').stdout));
  const netlink = ok(parseConntrackStats(captured('conntrack_-S').stdout));
  for (const name of Object.keys(netlink.totals)) assert.equal(proc.totals[name], netlink.totals[name], name);
  assert.equal(proc.entries, 22);
});

test('/proc/net/stat/nf_conntrack: old `searched` header keeps every column', () => {
  const text = [
    'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart',
    '00000010  0000000a 00000001 00000002 00000000 00000003 00000000 00000000 00000002 00000000 00000004 00000001 00000000  00000000 00000000 00000000 00000000',
    '00000010  00000001 00000001 00000002 00000000 00000003 00000000 00000000 00000002 00000000 00000004 00000001 00000000  00000000 00000000 00000000 00000000',
  ].join('\n');
  const stats = ok(parseProcConntrackStats(text));
  assert.equal(stats.entries, 16);
  assert.equal(stats.totals['searched'], 11);
  assert.equal(stats.totals['ignore'], 6);
  assert.equal(stats.totals['drop'], 8);
  assert.deepEqual(stats.placeholderColumns, []);
});

test('/proc/net/stat/nf_conntrack: bad input is an error', () => {
  assert.equal(err(parseProcConntrackStats('')).kind, 'empty');
  assert.equal(err(parseProcConntrackStats('entries found\n')).kind, 'empty', 'header only');
  assert.equal(err(parseProcConntrackStats('entries found\n00000001\n')).kind, 'malformed', 'missing column');
  assert.equal(err(parseProcConntrackStats('entries found\n0000000g 00000001\n')).kind, 'malformed', 'not hex');
  assert.equal(err(parseProcConntrackStats('00000001 00000002\n')).kind, 'malformed', 'no header');
});
