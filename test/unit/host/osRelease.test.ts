/**
 * /etc/os-release → the distribution → how to install the conntrack program there. The Debian
 * file is the one captured on the no-conntrack-tools host (`cat /etc/os-release`, exit 0); the
 * others are the ID/ID_LIKE lines those distributions ship.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conntrackInstallAdvice, conntrackInstallCommand, parseOsRelease } from '../../../src/core/host/osRelease';
import { assertFixRunnable } from '../../../src/core/host/fixes';
import { ValidationError } from '../../../src/core/fix/validate';

const debian = readFileSync(join(__dirname, '../../fixtures/samples/cat_etc_os-release.debian12.txt'), 'utf8');

test('the captured Debian 12 file: id, pretty name (quotes removed), apt-get install conntrack', () => {
  const os = parseOsRelease(debian);
  assert.deepEqual(os, { id: 'debian', idLike: [], prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  assert.equal(conntrackInstallCommand(os), 'apt-get install conntrack');
  assert.equal(conntrackInstallAdvice(os), 'install it: apt-get install conntrack (Debian GNU/Linux 12 (bookworm))');
});

test('each family by ID, then by ID_LIKE (closest first); unknown: generic advice', () => {
  const cases: [string, string | undefined][] = [
    ['ID=ubuntu\nID_LIKE=debian', 'apt-get install conntrack'],
    ['ID="rocky"\nID_LIKE="rhel centos fedora"', 'dnf install conntrack-tools (yum on older releases)'],
    ['ID=someclone\nID_LIKE="rhel fedora"', 'dnf install conntrack-tools (yum on older releases)'],
    ['ID="opensuse-leap"\nID_LIKE="suse opensuse"', 'zypper install conntrack-tools'],
    ['ID=alpine', 'apk add conntrack-tools'],
    ["ID='arch'", 'pacman -S conntrack-tools'],
    ['ID="openwrt"\nID_LIKE="lede openwrt"', 'opkg install conntrack'],
    ['ID=plan9', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) assert.equal(conntrackInstallCommand(parseOsRelease(text)), want, text);
  assert.match(conntrackInstallAdvice(parseOsRelease('ID=plan9')), /package conntrack or conntrack-tools/);
  assert.match(conntrackInstallAdvice(undefined), /package manager/);
});

test('delete-entries and flush-table are refused up front when the program is missing; other fixes are not', () => {
  const snap = { takenAt: 0, missingPrograms: ['conntrack'], osRelease: parseOsRelease(debian) };
  for (const id of ['delete-entries', 'flush-table']) {
    assert.throws(() => assertFixRunnable(snap, id), (e: unknown) => e instanceof ValidationError && /not installed on this host; install it: apt-get install conntrack .*nothing was changed/.test(e.message));
  }
  assertFixRunnable(snap, 'set-timeout');
  assertFixRunnable({ takenAt: 0, missingPrograms: [] }, 'flush-table');
});
