/**
 * Issue 11 item 15: a file that is not UTF-8 (a Latin-1 comment in rules.v4 or a sysctl file),
 * with the product's own executor and real shell scripts in a fresh namespace (helpers/netns.ts):
 * reading it for an edit says "not UTF-8" (not "changed since it was read"), and a backup of
 * it is restored to the byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Fix } from '../../../src/core/fix/model';
import { editFile } from '../../../src/core/fix/managedPaths';
import { applyFix, ApplyError, readRemoteFile, rollbackLast } from '../../../src/io/apply';
import { Netns } from './helpers/netns';

/** "# café" in Latin-1 (0xe9), then a rule line. */
const LATIN1 = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\n-A INPUT -j ACCEPT\n')]);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function withNetns<T>(body: (ns: Netns) => Promise<T>): Promise<T> {
  const ns = Netns.open();
  return body(ns).finally(() => ns.close());
}

/** The file's sha256 read in the namespace, independently of the product. */
function hostSha(ns: Netns, path: string): string {
  const r = ns.run(['sha256sum', '--', path]);
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout.split(' ')[0] ?? '';
}

test('not UTF-8: an edit is refused saying so, and nothing is written', async () => {
  await withNetns(async (ns) => {
    const path = '/etc/sysctl.d/90-latin1.conf';
    ns.setup([['sh', '-c', 'mkdir -p /etc/sysctl.d && printf "# caf\\351\\nnet.netfilter.nf_conntrack_tcp_timeout_established = 7200\\n" > "$1"', 'sh', path]]);
    await assert.rejects(readRemoteFile(ns.runner, path), /90-latin1\.conf is not UTF-8 text \(\d+ bytes\): Conntrack Doctor edits only UTF-8 files — nothing was changed/);
    const before = hostSha(ns, path);
    // an edit computed from a lossy read of the file (what a UTF-8 decoder makes of it)
    const lossy = '# caf\ufffd\nnet.netfilter.nf_conntrack_tcp_timeout_established = 7200\n';
    const err = await applyFix(ns.runner, editFile({ path, before: lossy, after: lossy.replace('7200', '3600') }), { confirm: () => Promise.resolve(true), timeoutMs: 120_000 }).then(() => assert.fail('applied'), (e: unknown) => e);
    assert.ok(err instanceof ApplyError, String(err));
    assert.match(err.message, /is not UTF-8 text/);
    assert.doesNotMatch(err.message, /changed since it was read/);
    assert.equal(hostSha(ns, path), before);
  });
});

test('not UTF-8: a file replaced through stdoutTo is backed up and restored to the byte', async () => {
  await withNetns(async (ns) => {
    const path = '/etc/iptables/rules.v4';
    ns.setup([['sh', '-c', 'mkdir -p /etc/iptables && printf "# caf\\351\\n-A INPUT -j ACCEPT\\n" > "$1"', 'sh', path]]);
    assert.equal(hostSha(ns, path), sha(LATIN1));
    const fix: Fix = {
      id: 'invalid-drop-rule', title: 'save rules', summary: '', destructive: false, needsInitialNetns: false, fileEdits: [], verify: [], rollback: [], notes: [],
      runtime: [{ argv: ['printf', '%s\\n', '-A INPUT -m conntrack --ctstate INVALID -j DROP'], description: 'the new rules', privileged: true, stdoutTo: path }],
    };
    const record = await applyFix(ns.runner, fix, { confirm: () => Promise.resolve(true), timeoutMs: 120_000 });
    assert.equal(ns.run(['cat', path]).stdout, '-A INPUT -m conntrack --ctstate INVALID -j DROP\n');
    assert.equal(record.files[0]?.beforeSha, sha(LATIN1), 'the record names the original bytes');
    const back = await rollbackLast(ns.runner, { timeoutMs: 120_000 });
    assert.deepEqual(back.restored, [path]);
    assert.equal(hostSha(ns, path), sha(LATIN1), 'restored to the byte');
  });
});
