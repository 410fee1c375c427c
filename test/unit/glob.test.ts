/** The one glob matcher (src/core/glob.ts): sysctl.d keys and ssh config Include patterns. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatch, hasGlob } from '../../src/core/glob';

test('*, ? and classes, anchored at both ends', () => {
  assert.equal(globMatch('net.ipv4.conf.*.rp_filter', 'net.ipv4.conf.eth0.rp_filter'), true);
  assert.equal(globMatch('net.ipv4.conf.*.rp_filter', 'net.ipv4.conf.eth0.forwarding'), false);
  assert.equal(globMatch('net.ipv4.conf.eth[01].rp_filter', 'net.ipv4.conf.eth1.rp_filter'), true);
  assert.equal(globMatch('net.ipv4.conf.eth[!01].rp_filter', 'net.ipv4.conf.eth1.rp_filter'), false);
  assert.equal(globMatch('net.ipv4.conf.eth[^01].rp_filter', 'net.ipv4.conf.eth2.rp_filter'), true);
  assert.equal(globMatch('*.conf', 'a.conf.bak'), false);
  assert.equal(globMatch('?.conf', 'ab.conf'), false);
  assert.equal(globMatch('[a-c]x', 'bx'), true);
  assert.equal(globMatch('[a-c]x', 'dx'), false);
});

test('fnmatch corners: a ] first in a class is a member, [ without ] is literal, \\ escapes, regex characters are plain', () => {
  assert.equal(globMatch('[]]', ']'), true, 'the two matchers this one replaced disagreed here');
  assert.equal(globMatch('[!]]', 'a'), true);
  assert.equal(globMatch('[!]]', ']'), false);
  assert.equal(globMatch('a[b', 'a[b'), true);
  assert.equal(globMatch('a\\*', 'a*'), true);
  assert.equal(globMatch('a\\*', 'ab'), false);
  assert.equal(globMatch('a.b', 'axb'), false);
  assert.equal(globMatch('(x)+', '(x)+'), true);
  assert.equal(globMatch('[a-]', '-'), true);
  assert.equal(globMatch('[\\]]', ']'), true);
});

test('hasGlob: *, ? and [ make a pattern', () => {
  assert.equal(hasGlob('net.ipv4.conf.all.rp_filter'), false);
  assert.equal(hasGlob('net.ipv4.conf.*.rp_filter'), true);
  assert.equal(hasGlob('config.d/[0-9]*'), true);
  assert.equal(hasGlob('a?'), true);
});
