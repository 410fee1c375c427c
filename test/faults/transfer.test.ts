/**
 * Issue 11 item 1: a transfer cut off mid-way never installs a partial file. The product's own
 * writer (`writeRemoteFile`, used by every fix, the iptables-save persistence and conntrack://
 * saves) runs against a real sshd in a test host; a relay cuts the TCP connection after N
 * client→server bytes, so sshd closes the command's stdin early, exactly as on a dropped link.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHost } from '../../harness/host/testHost';
import { writeRemoteFile } from '../../src/io/apply';
import { scratchDir } from '../integration/helpers';
import { hostFile, leftoverTemps, relayedSession, remoteScriptsGone, sha256 } from './helpers';

const dir = scratchDir('faults-transfer');
const h = useHost(`flt${process.pid % 10000}t`);

/** ~320 KB of ruleset-like text: many SSH packets. */
function bigRuleset(): string {
  const lines = ['#!/usr/sbin/nft -f', 'flush ruleset', 'table inet filter {', '  set blocked {', '    type ipv4_addr', '    elements = {'];
  for (let i = 0; i < 16_000; i++) lines.push(`      10.${(i >> 8) & 255}.${i & 255}.${i % 7},`);
  lines.push('    }', '  }', '}', '');
  return lines.join('\n');
}

describe('a cut transfer', () => {
  const target = '/etc/nftables.conf';
  const content = bigRuleset();

  for (const offset of [1_000, 60_000, 250_000]) {
    test(`cut ${offset} bytes into the content: the file stays as it was, no temp file is left`, async () => {
      const host = h.host;
      const before = await hostFile(host, target);
      const { session, relay } = await relayedSession(dir, host, `cut${offset}`);
      // The exec request carries the writer script (~2 KB) before the content.
      const cut = relay.cutAfter(3_000 + offset);
      const attempt = writeRemoteFile(session.session.runner, target, content, before === undefined ? '-' : sha256(before), '/var/backups/conntrack-doctor/fault-test', 0o644, { timeoutMs: 60_000 });
      await cut;
      await assert.rejects(attempt, 'the write cannot report success over a cut connection');
      await remoteScriptsGone(host);
      const after = await hostFile(host, target);
      assert.ok(after !== undefined, `${target} still exists`);
      const afterSha = sha256(after);
      assert.ok(
        before === undefined ? false : afterSha === sha256(before),
        `${target} is unchanged (was ${before?.length ?? 'absent'} bytes, now ${after.length} of the ${Buffer.byteLength(content)} sent)`,
      );
      assert.deepEqual(await leftoverTemps(host, '/etc'), [], 'no temp file left beside the target');
    });
  }
});
