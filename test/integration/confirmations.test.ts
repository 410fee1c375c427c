/**
 * Issue 18 item 1, the CLI side: a destructive fix is never one Enter away. On a real terminal
 * (a pty from util-linux `script`) `apply flush-table` asks for the host's name: Enter, or "y",
 * leaves the table as it was (counted in the host, without SSH); the name flushes it. A delete
 * of a few entries is a question whose default is No.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHost } from '../../harness/host/testHost';
import { cli, cliOnTerminal, countsWithoutSsh, scratchDir, sshOk, writeSshConfig } from './helpers';

const dir = scratchDir('confirm');
const h = useHost(`itc${process.pid % 10000}`);
const TYPE_PROMPT = /Type \S+ to confirm \(anything else cancels\): $/;
const SRC = '203.0.113.5';

describe('CLI confirmations of destructive fixes', () => {
  test('flush-table: Enter and "y" leave the table; typing the host name flushes it', async () => {
    const host = h.host;
    const config = writeSshConfig(dir, host);
    await host.fill({ assured: 1000 });
    const before = (await countsWithoutSsh(host)).other;
    assert.ok(before >= 1000, `the table holds ${before} entries`);

    for (const answer of ['', 'y', `${host.name}x`]) {
      const r = await cliOnTerminal(['apply', host.name, 'flush-table', '--ssh-config', config], TYPE_PROMPT, answer);
      assert.ok(r.prompted, r.output);
      assert.match(r.output, new RegExp(`Flush the whole conntrack table on ${host.name}\\? All \\d+ tracked entries`), r.output);
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /Not applied\./);
      assert.equal((await countsWithoutSsh(host)).other, before, `after answering "${answer}" the table must hold what it held`);
    }
    // Without a terminal and without --yes nothing is asked and nothing runs.
    const noTty = await cli(['apply', host.name, 'flush-table', '--ssh-config', config], { input: '\n' });
    assert.equal(noTty.code, 1, noTty.stderr);
    assert.match(noTty.stderr, /confirm with --yes/);
    assert.equal((await countsWithoutSsh(host)).other, before);

    const r = await cliOnTerminal(['apply', host.name, 'flush-table', '--ssh-config', config], TYPE_PROMPT, host.name);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Applied and verified: Flush the conntrack table/);
    const after = (await countsWithoutSsh(host)).other;
    assert.ok(after < before / 10, `after typing the host name: ${after} (before: ${before})`);
  });

  test('delete-entries of a few entries: [y/N], Enter keeps them, y deletes them', async () => {
    const host = h.host;
    const config = writeSshConfig(dir, host);
    await host.fill({ unreplied: 3, src: SRC });
    const count = async (): Promise<number> => Number((await sshOk(host, `conntrack -L -s ${SRC} 2>/dev/null | wc -l`)).trim());
    assert.equal(await count(), 3);
    const args = ['apply', host.name, 'delete-entries', '--src', SRC, '--ssh-config', config];
    const kept = await cliOnTerminal(args, /\[y\/N\] $/, '');
    assert.equal(kept.code, 1, kept.output);
    assert.match(kept.output, /Delete 3 conntrack entries matching IPv4, source 203\.0\.113\.5 on/);
    assert.equal(await count(), 3, 'Enter kept the entries');
    const deleted = await cliOnTerminal(args, /\[y\/N\] $/, 'y');
    assert.equal(deleted.code, 0, deleted.output);
    assert.equal(await count(), 0);
  });
});
