/** The one place numbers are formatted for people (src/core/format.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBytes, formatDuration, formatDurationShort, formatInt, formatMax, formatPercent, formatRate, formatShare, formatUsage,
} from '../../src/core/format';

test('counts group thousands; bytes take binary units with one decimal below 100', () => {
  assert.equal(formatInt(262144), '262,144');
  assert.equal(formatInt(0), '0');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(80 * 1024 * 1024), '80.0 MiB');
  assert.equal(formatBytes(160 * 1024 * 1024), '160 MiB');
});

test('a configured duration takes the largest unit that divides it; a countdown its two largest units', () => {
  assert.equal(formatDuration(432000), '5 days');
  assert.equal(formatDuration(86400), '1 day');
  assert.equal(formatDuration(7200), '2 h');
  assert.equal(formatDuration(600), '10 min');
  assert.equal(formatDuration(90), '90 s');
  assert.equal(formatDurationShort(431999), '4 d 23 h');
  assert.equal(formatDurationShort(200), '3 min 20 s');
  assert.equal(formatDurationShort(3600), '1 h');
  assert.equal(formatDurationShort(90061), '1 d 1 h', 'the third unit is dropped, not rounded');
  assert.equal(formatDurationShort(0), '0 s');
});

test('rates: whole numbers from 10 up, two decimals below, 0 for none', () => {
  assert.equal(formatRate(1512.4), '1512');
  assert.equal(formatRate(10), '10');
  assert.equal(formatRate(2.5), '2.50');
  assert.equal(formatRate(0), '0');
});

test('usage: one decimal everywhere but the status bar, and the places are one table', () => {
  assert.equal(formatPercent(87.5), '87.5 %');
  assert.equal(formatPercent(87.46), '87.5 %', 'one decimal everywhere (the status bar too: issue 18 item 4)');
  assert.equal(formatPercent(100), '100.0 %');
  assert.equal(formatShare(1, 3), '33.3 %');
  assert.equal(formatShare(5, 0), '0.0 %', 'a share of nothing is 0, not NaN');
});

test('count / max: unlimited for 0, ? for what is unknown', () => {
  assert.equal(formatUsage({ count: 240007, max: 262144 }), '240,007 / 262,144');
  assert.equal(formatUsage({ count: 12, max: 0 }), '12 / unlimited');
  assert.equal(formatUsage({}), '? / ?');
  assert.equal(formatMax(undefined), '?');
});

test('host-provided text is made safe to print: controls escaped as \\uXXXX, tab/newline kept, nothing lost', async () => {
  const { safeForTerminal } = await import('../../src/core/format');
  // a keyboard-interactive prompt that sets the window title, clears the screen and fakes a prompt
  const hostile = 'Password\u001b]0;owned\u0007 for root:\u001b[2J\r\rsudo password: ';
  const shown = safeForTerminal(hostile);
  assert.equal(shown, 'Password\\u001b]0;owned\\u0007 for root:\\u001b[2J\\u000d\\u000dsudo password: ');
  assert.ok([...shown].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f), 'a control character is left');
  // 8-bit CSI, DEL, bidi overrides and zero-width characters (they reorder or hide text)
  assert.equal(safeForTerminal('a\u009b31mb\u007fc\u202eevil\u202cd\u200be'), 'a\\u009b31mb\\u007fc\\u202eevil\\u202cd\\u200be');
  // ordinary text, tabs, newlines and non-ASCII letters are untouched; CRLF becomes LF
  assert.equal(safeForTerminal('sudo: unable to resolve host\tx\nÄnderung 日本\r\n'), 'sudo: unable to resolve host\tx\nÄnderung 日本\n');
  // inside a JSON string the result is still JSON and decodes to the original character
  const json = safeForTerminal(JSON.stringify({ banner: 'x\u202ey\u0085' }));
  assert.deepEqual(JSON.parse(json), { banner: 'x\u202ey\u0085' });
});
