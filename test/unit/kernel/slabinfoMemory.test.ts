import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFree, parseMemInfo } from '../../../src/core/kernel/memory';
import { parseSlabinfoConntrack, slabCacheSchema } from '../../../src/core/kernel/slabinfo';
import { captured, err, ok, sample } from './samples';

test('slabinfo: the nf_conntrack line read by header names', () => {
  const slab = ok(parseSlabinfoConntrack(sample('proc_slabinfo_nf_conntrack.txt')));
  assert.ok(slab);
  slabCacheSchema.parse(slab);
  assert.deepEqual(
    { activeObjs: slab.activeObjs, numObjs: slab.numObjs, objSize: slab.objSize, objPerSlab: slab.objPerSlab, pagesPerSlab: slab.pagesPerSlab, numSlabs: slab.numSlabs },
    { activeObjs: 224, numObjs: 224, objSize: 256, objPerSlab: 16, pagesPerSlab: 1, numSlabs: 14 },
  );
  const withVersion = ok(parseSlabinfoConntrack(sample('netns-lo/proc_slabinfo_head_and_nf_conntrack.txt')));
  assert.equal(withVersion?.objSize, 256);
  assert.deepEqual(withVersion?.caches, ['nf_conntrack']);
});

test('slabinfo: columns follow the header, not a fixed position', () => {
  const text = '# name <num_objs> <active_objs> <objperslab> <objsize> <pagesperslab>\nnf_conntrack 300 250 16 320 2\nnf_conntrack_expect 0 0 64 208 4\n';
  const slab = ok(parseSlabinfoConntrack(text));
  assert.equal(slab?.activeObjs, 250);
  assert.equal(slab?.numObjs, 300);
  assert.equal(slab?.objSize, 320);
  assert.equal(slab?.activeSlabs, undefined);
});

test('slabinfo: version line without header, and old per-netns caches added up', () => {
  const text = [
    'slabinfo - version: 2.1',
    'nf_conntrack_ffffffff81a2b3c0   1000   1200    312   26    2 : tunables    0    0    0 : slabdata     46     46      0',
    'nf_conntrack_ffff88003a4c0000    500    520    312   26    2 : tunables    0    0    0 : slabdata     20     20      0',
    'nf_conntrack_expect        0      0    240   17    1 : tunables    0    0    0 : slabdata      0      0      0',
  ].join('\n');
  const slab = ok(parseSlabinfoConntrack(text));
  assert.equal(slab?.caches.length, 2);
  assert.equal(slab?.activeObjs, 1500);
  assert.equal(slab?.numObjs, 1720);
  assert.equal(slab?.objSize, 312);
  assert.equal(slab?.numSlabs, 66);
});

test('slabinfo: absent cache → undefined; unreadable or headerless → error', () => {
  const head = sample('netns-lo/proc_slabinfo_head_and_nf_conntrack.txt').split('\n').slice(0, 2).join('\n');
  const none = parseSlabinfoConntrack(head);
  assert.equal(ok(none), undefined);
  const denied = captured('nobody_proc_slabinfo');
  assert.equal(err(parseSlabinfoConntrack(denied.stderr)).kind, 'tool-error');
  assert.equal(err(parseSlabinfoConntrack('nf_conntrack 224 224 256 16 1\n')).kind, 'malformed');
  assert.equal(err(parseSlabinfoConntrack('# name <active_objs> <num_objs>\nnf_conntrack 1 x\n')).kind, 'malformed');
  assert.equal(err(parseSlabinfoConntrack('')).kind, 'empty');
});

test('/proc/meminfo: kB → bytes, unitless counts apart', () => {
  const mem = ok(parseMemInfo(captured('proc_meminfo').stdout));
  assert.equal(mem.bytes['MemTotal'], 24683620 * 1024);
  assert.equal(typeof mem.bytes['Active(anon)'], 'number', 'names with parentheses');
  assert.equal(mem.counts['HugePages_Total'], 0);
  assert.equal(mem.bytes['HugePages_Total'], undefined);
});

test('/proc/meminfo: no MemTotal or not meminfo at all → error', () => {
  assert.equal(err(parseMemInfo('')).kind, 'empty');
  assert.equal(err(parseMemInfo('MemFree: 10 kB\n')).kind, 'malformed');
  assert.equal(err(parseMemInfo('cat: /proc/meminfo: No such file or directory\n')).kind, 'malformed');
});

test('free -b: columns by header', () => {
  const free = ok(parseFree(sample('free_-b.txt')));
  assert.equal(free.memTotal, 25276026880);
  assert.equal(free.memAvailable, 24018337792);
  assert.equal(free.swapTotal, 0);
  assert.equal(free.rows['Mem']?.['buff/cache'], 1625374720);
  const captured2 = ok(parseFree(captured('free_-b').stdout));
  assert.equal(captured2.memTotal, 25276026880);
});

test('free -b: old procps layout with -/+ buffers/cache', () => {
  const text = [
    '             total       used       free     shared    buffers     cached',
    'Mem:    8254705664 7998902272  255803392   12345678  400000000 3000000000',
    '-/+ buffers/cache: 4598902272 3655803392',
    'Swap:   2147479552          0 2147479552',
  ].join('\n');
  const free = ok(parseFree(text));
  assert.equal(free.memTotal, 8254705664);
  assert.equal(free.memAvailable, undefined, 'no available column: absent, not zero');
  assert.deepEqual(free.rows['-/+ buffers/cache'], { used: 4598902272, free: 3655803392 });
});

test('free: malformed input', () => {
  assert.equal(err(parseFree('')).kind, 'empty');
  assert.equal(err(parseFree('total used\nMem: 1\n')).kind, 'malformed');
  assert.equal(err(parseFree('total used\nSwap: 1 0\n')).kind, 'malformed', 'no Mem row');
  assert.equal(err(parseFree('total used\nMem: 1 x\n')).kind, 'malformed');
});
