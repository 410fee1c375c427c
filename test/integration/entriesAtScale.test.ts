/**
 * Deleting entries when it matters (issue 11 items 5 and 8), on a real test host over SSH:
 *  - 250,000 matching entries: more than the runner's 32 MiB output cap holds as a listing
 *    (≈ 150 bytes an entry). The count is made on the host and the deleted entries' listing is
 *    discarded there; the user sees conntrack's summary line.
 *  - nf_conntrack_tcp_loose = 0 plus an INVALID drop rule (ufw's default): a flush is refused
 *    with the reason; confirmed anyway, it keeps the tool's own SSH connection (its entry is
 *    shielded), so the read-back and the record still happen.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHost } from '../../harness/host/testHost';
import { cli, scratchDir, sshOk, writeSshConfig } from './helpers';

const dir = scratchDir('entries-scale');
const h = useHost(`f11d${process.pid % 10000}`);

const FLOWS = 250_000;

/** Entries to TCP port 443 (the fill's flows), counted independently (OpenSSH + conntrack + wc). */
async function port443(): Promise<number> {
  return Number((await sshOk(h.host, 'conntrack -L -p tcp --orig-port-dst 443 2>/dev/null | wc -l')).trim());
}

describe('deleting 250,000 entries', () => {
  test('the preview counts them on the host; apply deletes them all and reports conntrack\'s summary', async () => {
    const host = h.host;
    const fill = await host.fill({ assured: FLOWS });
    assert.ok(fill.countAfter - fill.countBefore >= FLOWS, JSON.stringify(fill));
    const config = writeSshConfig(dir, host);
    const args = ['apply', host.name, 'delete-entries', '--proto', 'tcp', '--dport', '443', '--ssh-config', config];

    const preview = await cli([...args, '--dry-run'], { timeoutMs: 600_000 });
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.stdout, new RegExp(`DESTRUCTIVE: Delete ${FLOWS} conntrack entries matching protocol tcp, destination port 443`), preview.stdout);
    assert.equal(await port443(), FLOWS, 'a dry run deletes nothing');

    const r = await cli([...args, '--yes'], { timeoutMs: 600_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^\\s+${FLOWS} flow entries have been deleted\\.$`, 'm'), r.stderr);
    assert.match(r.stdout, /Applied and verified: Delete conntrack entries matching protocol tcp, destination port 443 \(change /);
    assert.match(r.stdout, /read back: No more than 0 entries match protocol tcp, destination port 443: 0$/m);
    assert.equal(await port443(), 0);
  });
});

describe('tcp_loose = 0 and an INVALID drop rule', () => {
  test('a flush is refused with the reason; confirmed anyway, the own SSH session survives and the change is recorded', async () => {
    const host = h.host;
    await host.fill({ assured: 500 });
    await host.execOk(['sysctl', '-w', 'net.netfilter.nf_conntrack_tcp_loose=0']);
    await host.execOk(['nft', 'insert', 'rule', 'inet', 'filter', 'input', 'ct', 'state', 'invalid', 'counter', 'drop']);
    const config = writeSshConfig(dir, host);
    const before = await host.conntrackCount();

    const refused = await cli(['apply', host.name, 'flush-table', '--ssh-config', config, '--yes'], { timeoutMs: 300_000 });
    assert.equal(refused.code, 2, `${refused.stdout}\n${refused.stderr}`);
    assert.match(refused.stderr, /flush-table refused: nf_conntrack_tcp_loose is 0 and nft drops INVALID packets \(.*\): every established TCP connection whose entry is deleted becomes INVALID/);
    assert.match(refused.stderr, /this tool.s own session is kept\. .*\(CLI: --even-if-connections-drop\)\. Nothing was changed\./);
    assert.ok((await host.conntrackCount()) >= before, 'nothing was flushed');

    const r = await cli(['apply', host.name, 'flush-table', '--ssh-config', config, '--yes', '--even-if-connections-drop'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const own = /The entry of the tool's own SSH connection \((\S+):(\d+) → (\S+):(\d+)\) is left in place/.exec(r.stdout);
    assert.ok(own, r.stdout);
    assert.match(r.stderr, /^\s+\d+ flow entries have been deleted\.$/m);
    assert.match(r.stdout, /Applied and verified: Flush the conntrack table \(change /);
    // Independently (in the host, not over SSH): the own entry is the one left, still ESTABLISHED, mark cleared.
    const left = await host.execOk(['conntrack', '-L', '-p', 'tcp', '--orig-src', own[1] ?? '', '--orig-port-src', own[2] ?? '', '--orig-port-dst', own[4] ?? '']);
    // The CLI has closed its connection since (FIN seen: the entry was never lost), the bit is cleared.
    assert.match(left, new RegExp(`sport=${own[2] ?? ''} dport=${own[4] ?? ''} .*mark=0 `), left);
    const drops = await host.execOk(['nft', 'list', 'chain', 'inet', 'filter', 'input']);
    assert.match(drops, /ct state invalid counter packets \d+ bytes \d+ drop/);
  });
});
