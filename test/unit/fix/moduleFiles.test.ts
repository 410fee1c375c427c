import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODULES_LOAD_PATH, loadsNfConntrack, modulesLoadContent, modulesLoadEdit, setModprobeHashsize } from '../../../src/core/fix/moduleFiles';
import { ValidationError } from '../../../src/core/fix/validate';

test('modules-load.d: created, appended, or left alone when it already loads nf_conntrack', () => {
  const created = modulesLoadContent(undefined);
  assert.ok(created?.endsWith('\nnf_conntrack\n'));
  assert.equal(modulesLoadContent('br_netfilter\n'), 'br_netfilter\nnf_conntrack\n');
  assert.equal(modulesLoadContent('br_netfilter\r\n'), 'br_netfilter\r\nnf_conntrack\r\n');
  assert.equal(modulesLoadContent('  nf-conntrack  \n'), undefined);
  assert.equal(modulesLoadContent('# nf_conntrack\n'), '# nf_conntrack\nnf_conntrack\n', 'a comment does not load it');
  assert.equal(loadsNfConntrack('nf_conntrack_netlink\n'), false);
  assert.equal(loadsNfConntrack(undefined), false);
  const edit = modulesLoadEdit(undefined);
  assert.equal(edit?.path, MODULES_LOAD_PATH);
  assert.equal(edit?.before, undefined);
  assert.equal(edit?.createMode, 0o644);
  assert.equal(modulesLoadEdit('nf_conntrack\n'), undefined);
});

test('modprobe.d: hashsize replaced in place, other options kept', () => {
  assert.equal(setModprobeHashsize('options nf_conntrack expect_hashsize=64 hashsize=16384 acct=1\n', 65536), 'options nf_conntrack expect_hashsize=64 hashsize=65536 acct=1\n');
  assert.equal(setModprobeHashsize('options  nf-conntrack\thashsize=1\r\n', 2), 'options  nf-conntrack\thashsize=2\r\n');
  // continuation lines belong to the statement
  assert.equal(setModprobeHashsize('options nf_conntrack acct=1 \\\n  hashsize=5\n', 7), 'options nf_conntrack acct=1 \\\n  hashsize=7\n');
  // another module's hashsize is not touched
  assert.equal(setModprobeHashsize('options nf_conntrack_ipv4 hashsize=1\n', 9), 'options nf_conntrack_ipv4 hashsize=1\noptions nf_conntrack hashsize=9\n');
});

test('modprobe.d: added to an options line without hashsize, or appended, or a new file', () => {
  assert.equal(setModprobeHashsize('options nf_conntrack acct=1\n', 8), 'options nf_conntrack acct=1 hashsize=8\n');
  assert.equal(setModprobeHashsize('# nothing\n', 8), '# nothing\noptions nf_conntrack hashsize=8\n');
  assert.equal(setModprobeHashsize('blacklist x \\\n', 8), 'blacklist x \\\n\noptions nf_conntrack hashsize=8\n');
  const created = setModprobeHashsize(undefined, 262144);
  assert.match(created, /^# /);
  assert.ok(created.endsWith('options nf_conntrack hashsize=262144\n'));
  assert.match(created, /8 × hashsize/);
});

test('modprobe.d: the size is validated', () => {
  for (const bad of [0, -1, 1.5, 2 ** 31]) assert.throws(() => setModprobeHashsize(undefined, bad), ValidationError);
});
