/**
 * The firewall side, on one host (its native nft ruleset first, then iptables):
 *  - acceptance 4 (native nft): INVALID packets with no rule dropping them. The product reports
 *    the rate between two snapshots and never claims INVALID entries sit in the table (they
 *    never do: `conntrack -L | grep INVALID` finds nothing). The invalid-drop-rule fix goes into
 *    the host's own `inet filter input` chain, tagged, once however often it is applied, counts
 *    the packets it drops, and is removed by the rollback (persisted file restored too);
 *  - acceptance 5: legacy iptables tables next to the nft ruleset → `iptables-backend` finding;
 *  - acceptance 4 (iptables path): a host whose firewall is legacy iptables only (the legacy
 *    backend selected with update-alternatives, its native nft table removed): invalid-drop-rule
 *    goes into legacy `INPUT` (tagged, once however often applied, counting drops, removed by
 *    the rollback); then iptables-nft rules while legacy tables also exist: the product names
 *    iptables-nft explicitly.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { diagnose } from '../../src/core/host/diagnose';
import type { Finding } from '../../src/core/host/diagnosis';
import { buildHostFix } from '../../src/core/host/fixes';
import { NFT_TAG_TEXT, RULE_TAG } from '../../src/core/fix/invalidRule';
import { applyFix, listChanges, rollbackLast } from '../../src/io/apply';
import { useHost, type TestHost } from '../../harness/host/testHost';
import { cli, findingTexts, openSession, scratchDir, sshOk, writeSshConfig, type Session } from './helpers';

const dir = scratchDir('firewall');
let s: Session | undefined;
after(async () => {
  await s?.session.close();
});
const h = useHost(`itw${process.pid % 10000}`);

/**
 * The sentence of a text that says (or implies) that INVALID packets are entries of the table
 * (the seed guide's mistake): one that mentions INVALID together with entries, the table, slots
 * or a table listing (`conntrack -L | grep INVALID`) without a negation.
 */
function claimsInvalidEntries(text: string): string | undefined {
  for (const sentence of text.split(/(?<=[.!?])\s+|\n/)) {
    if (!/invalid/i.test(sentence)) continue;
    if (!/\bentr(y|ies)\b|\btable\b|\bslots?\b|conntrack -L/i.test(sentence)) continue;
    if (/\b(never|not|no|nothing|cannot|don't|doesn't)\b/i.test(sentence)) continue;
    return sentence;
  }
  return undefined;
}

/** The tagged rules of `inet filter input`, read with OpenSSH's client, with their counters. */
async function taggedRules(host: TestHost): Promise<{ packets: number; handle: number; line: string }[]> {
  const listing = await sshOk(host, 'nft -a list chain inet filter input');
  return listing.split('\n').filter((l) => l.includes(NFT_TAG_TEXT)).map((line) => {
    const m = /ct state invalid counter packets (\d+) bytes \d+ drop comment "conntrack-doctor-invalid-drop" # handle (\d+)/.exec(line);
    assert.ok(m, `unexpected rule text: ${line}`);
    return { packets: Number(m[1]), handle: Number(m[2]), line };
  });
}

describe('INVALID packets without a drop rule (native nft)', () => {
  let original = '';

  test('invalid-packets finding with the rate between two snapshots; nothing claims INVALID entries', async () => {
    const host = h.host;
    s = await openSession(dir, host);
    original = await sshOk(host, 'cat /etc/nftables.conf');
    const first = await s.session.snapshot({ entries: false });
    const sent = await host.invalid(500);
    assert.ok(sent.invalidAfter - sent.invalidBefore >= 500, JSON.stringify(sent));
    assert.equal(sent.countAfter, sent.countBefore, 'INVALID packets create no entries');
    const second = await s.session.snapshot();

    const d = diagnose(second, { previous: first });
    const f = d.findings.find((x) => x.cause === 'invalid-packets');
    assert.ok(f, JSON.stringify(d.findings.map((x) => x.code)));
    const rate = d.rates?.perSecond['invalid'] ?? 0;
    const dt = (second.takenAt - first.takenAt) / 1000;
    const delta = (second.counters?.totals['invalid'] ?? 0) - (first.counters?.totals['invalid'] ?? 0);
    assert.ok(delta >= 500, `invalid counter rose by ${delta}`);
    assert.ok(Math.abs(rate - delta / dt) < 1e-6, `rate ${rate} = ${delta} / ${dt} s`);
    assert.ok(rate >= 1);
    assert.equal(f.severity, 'warning');
    assert.match(f.title, /INVALID, not dropped$/);
    assert.ok(f.evidence.some((e) => e.label === 'invalid counter' && /\/s now$/.test(e.value)), JSON.stringify(f.evidence));
    assert.ok(f.evidence.some((e) => e.label === 'INVALID drop rule' && e.value === 'none found'));
    assert.deepEqual(f.fixes.map((x) => x.id), ['invalid-drop-rule']);

    // No finding says INVALID packets are entries of the table (title, detail and evidence are
    // what the CLI and the extension show).
    const texts = d.findings.flatMap((x: Finding) => findingTexts(x));
    for (const t of texts) assert.equal(claimsInvalidEntries(t), undefined, `claims INVALID entries: ${t}`);
    // and the kernel agrees: there is no such entry to find
    const grep = await host.ssh('root', 'conntrack -L 2>/dev/null | grep -c INVALID');
    assert.equal(grep.stdout.trim(), '0', grep.stderr);
    assert.equal(grep.code, 1, 'grep found nothing');
  });

  test('invalid-drop-rule: the tagged nft rule in inet filter input, once however often applied, counting drops', async () => {
    const host = h.host;
    assert.ok(s);
    const snap = await s.session.snapshot({ entries: false });
    const fix = buildHostFix(snap, 'invalid-drop-rule');
    assert.equal(fix.title, 'Drop INVALID packets (nft inet filter input)');
    assert.deepEqual(fix.fileEdits.map((e) => e.path), ['/etc/nftables.conf'], 'persisted in the host\'s nftables.conf');
    const rec = await applyFix(s.session.runner, fix, { host: host.name });
    assert.equal(rec.ok, true);
    let rules = await taggedRules(host);
    assert.equal(rules.length, 1, JSON.stringify(rules));
    // inserted at the top of the chain, before the rule that accepts INVALID packets
    const chain = (await sshOk(host, 'nft list chain inet filter input')).split('\n').map((l) => l.trim()).filter(Boolean);
    const hook = chain.findIndex((l) => l.startsWith('type filter hook input'));
    assert.ok(hook >= 0 && chain[hook + 1]?.includes(RULE_TAG), chain.join('\n'));
    const conf = await sshOk(host, 'cat /etc/nftables.conf');
    assert.equal(conf.split(RULE_TAG).length - 1, 1, conf);
    assert.equal((await host.ssh('root', 'nft -c -f /etc/nftables.conf')).code, 0, 'the persisted file still parses');

    // Applied again (the CLI, as a user would): no second rule, no second line in the file.
    const again = await cli(['apply', host.name, 'invalid-drop-rule', '--ssh-config', writeSshConfig(dir, host), '--yes']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /skip {2}nft insert rule inet filter input .* \(already in place\)/);
    assert.match(again.stdout, /Already in place and verified: Drop INVALID packets \(nft inet filter input\) \(nothing changed, so nothing was recorded\)/);
    rules = await taggedRules(host);
    assert.equal(rules.length, 1, JSON.stringify(rules));
    assert.equal((await sshOk(host, 'cat /etc/nftables.conf')).split(RULE_TAG).length - 1, 1);

    // More INVALID packets: the rule's counter rises (it drops them).
    const before = rules[0]?.packets ?? 0;
    await host.invalid(200);
    const afterRules = await taggedRules(host);
    assert.ok((afterRules[0]?.packets ?? 0) - before >= 200, `counter ${before} → ${afterRules[0]?.packets}`);

    // The diagnosis now names the rule and its counter.
    const d = diagnose(await s.session.snapshot({ entries: false }));
    const f = d.findings.find((x) => x.cause === 'invalid-packets');
    assert.equal(f?.title, 'INVALID dropped by a rule');
    assert.ok(f.evidence.some((e) => e.label === 'rule (nft) filter/input' && e.value.includes(RULE_TAG)), JSON.stringify(f.evidence));
  });

  test('rollback removes the rule (and the persisted line)', async () => {
    const host = h.host;
    assert.ok(s);
    const config = writeSshConfig(dir, host);
    // The second apply changed nothing and recorded nothing: one rollback undoes the change that
    // really did it — the live rule goes and /etc/nftables.conf is restored.
    assert.equal((await listChanges(s.session.runner)).length, 1, 'only the apply that changed something is recorded');
    // Issue 11 item 12: the preview first; without --yes (not a terminal) nothing is rolled back.
    const asked = await cli(['rollback', host.name, '--ssh-config', config]);
    assert.equal(asked.code, 1, asked.stderr);
    assert.match(asked.stderr, /not rolled back: confirm with --yes/);
    assert.match(asked.stdout, /^# Roll back: Drop INVALID packets \(nft inet filter input\) on /);
    assert.match(asked.stdout, /^restore \/etc\/nftables\.conf from \/var\/backups\/conntrack-doctor\/\S+\/etc\/nftables\.conf$/m);
    assert.match(asked.stdout, /^# nft delete rule inet filter input handle '?\{handle\}'?$/m);
    assert.match(asked.stdout, /once per rule whose line contains .* in `nft -a list chain inet filter input`, with its handle/);
    assert.notDeepEqual(await taggedRules(host), [], 'not rolled back without a confirmation');
    const r1 = await cli(['rollback', host.name, '--ssh-config', config, '--yes']);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /^# Roll back: Drop INVALID packets/);
    assert.match(r1.stdout, /Rolled back: Drop INVALID packets \(nft inet filter input\)/);
    assert.match(r1.stdout, /restored \/etc\/nftables\.conf/);
    assert.deepEqual(await taggedRules(host), []);
    assert.equal(await sshOk(host, 'cat /etc/nftables.conf'), original);
    assert.ok((await listChanges(s.session.runner)).every((c) => c.rolledBackAt !== undefined), 'the change is marked rolled back');
    const r2 = await cli(['rollback', host.name, '--ssh-config', config, '--yes']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /nothing to roll back on this host/);
  });
});

const SPEC = `-m conntrack --ctstate INVALID -m comment --comment ${RULE_TAG} -j DROP`;

/** The tagged rules in INPUT of one backend, with their packet counters (iptables -L -v -x), read over ssh. */
async function tagged(host: TestHost, bin: 'iptables-legacy' | 'iptables-nft'): Promise<number[]> {
  const out = await sshOk(host, `${bin} -w -L INPUT -v -n -x`);
  return out.split('\n').filter((l) => l.includes(RULE_TAG)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('legacy iptables next to nftables', () => {
  test('iptables-backend: legacy tables and nft rules both active', async () => {
    const host = h.host;
    assert.match((await host.backend('legacy')).iptablesV, /\(legacy\)/);
    assert.match((await host.mix()).legacyTables, /filter/);
    assert.ok(s);
    const snap = await s.session.snapshot({ entries: false });
    assert.equal(snap.firewall?.iptablesBackend, 'legacy');
    assert.deepEqual(snap.firewall?.legacyTables, ['filter']);
    const d = diagnose(snap);
    const f = d.findings.find((x) => x.cause === 'iptables-backend');
    assert.ok(f, JSON.stringify(d.findings.map((x) => x.code)));
    assert.equal(f.code, 'iptables-mixed-backends');
    assert.equal(f.severity, 'warning');
    assert.ok(f.evidence.some((e) => e.label === 'legacy tables (/proc/net/ip_tables_names)' && e.value === 'filter'), JSON.stringify(f.evidence));
    assert.ok(f.evidence.some((e) => e.label === 'nft tables' && e.value.includes('inet filter')));
    assert.ok(f.evidence.some((e) => e.label === 'iptables' && e.value.includes('(legacy')));
  });

  test('a legacy-iptables host: CLI apply inserts the tagged rule into legacy INPUT, once; it counts; rollback removes it', async () => {
    const host = h.host;
    assert.ok(s);
    // The host's firewall becomes legacy iptables only: no native nft table, a conntrack rule in legacy INPUT.
    await sshOk(host, 'nft delete table inet filter && iptables -w -I INPUT 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT && iptables -V');
    const snap = await s.session.snapshot({ entries: false });
    assert.deepEqual(snap.firewall?.nftTables, []);
    assert.equal(snap.firewall?.iptablesBackend, 'legacy');
    const config = writeSshConfig(dir, host);
    const r = await cli(['apply', host.name, 'invalid-drop-rule', '--ssh-config', config, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /# Drop INVALID packets \(iptables INPUT\)/);
    assert.match(r.stdout, /Applied and verified/);
    assert.match(r.stdout, /read back: iptables finds the rule in INPUT/);
    // independently: the legacy backend has it (checked with its own -C), the nft side does not
    assert.equal((await host.ssh('root', `iptables-legacy -w -C INPUT ${SPEC}`)).code, 0);
    assert.deepEqual((await tagged(host, 'iptables-legacy')).length, 1);
    assert.doesNotMatch(await sshOk(host, 'nft list ruleset'), new RegExp(RULE_TAG), 'not in the nft ruleset');
    const first = (await sshOk(host, 'iptables-legacy -w -S INPUT')).split('\n').filter((l) => l.startsWith('-A INPUT'))[0] ?? '';
    assert.ok(first.includes(RULE_TAG), `inserted first in INPUT: ${first}`);

    const again = await cli(['apply', host.name, 'invalid-drop-rule', '--ssh-config', config, '--yes']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /skip {2}iptables -w -I INPUT 1 .* \(already in place\)/);
    const rules = await tagged(host, 'iptables-legacy');
    assert.equal(rules.length, 1, 'applying twice does not add it twice');

    await host.invalid(200);
    const counted = await tagged(host, 'iptables-legacy');
    assert.ok((counted[0] ?? 0) - (rules[0] ?? 0) >= 200, `counter ${rules[0]} → ${counted[0]}`);

    const rb = await cli(['rollback', host.name, '--ssh-config', config, '--yes']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /Rolled back: Drop INVALID packets \(iptables INPUT\)/);
    assert.equal((await host.ssh('root', `iptables-legacy -w -C INPUT ${SPEC}`)).code, 1, 'the rule is gone');
    assert.deepEqual(await tagged(host, 'iptables-legacy'), []);
    assert.match(await sshOk(host, 'iptables-legacy -w -S INPUT'), /-A INPUT -j CTD_LEG/, 'the admin\'s own rule stays');
  });

  test('iptables-nft rules while legacy tables exist: the rule goes to iptables-nft, named explicitly', async () => {
    const host = h.host;
    assert.ok(s);
    await host.backend('nft');
    await sshOk(host, 'iptables -w -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT');
    const snap = await s.session.snapshot({ entries: false });
    assert.equal(snap.firewall?.iptablesBackend, 'nf_tables');
    assert.ok(snap.firewall?.nftTables?.includes('ip filter'), JSON.stringify(snap.firewall?.nftTables));
    const fix = buildHostFix(snap, 'invalid-drop-rule');
    assert.equal(fix.title, 'Drop INVALID packets (iptables-nft INPUT)');
    assert.ok(fix.notes.some((n) => n.includes('both are active')), fix.notes.join('\n'));
    const rec = await applyFix(s.session.runner, fix, { host: host.name });
    assert.equal(rec.ok, true);
    assert.equal((await host.ssh('root', `iptables-nft -w -C INPUT ${SPEC}`)).code, 0);
    // nft sees it as the first rule of the ip filter table iptables-nft manages
    assert.match(await sshOk(host, 'nft list chain ip filter INPUT'), /policy accept;\n\s+ct state invalid\s+counter packets \d+ bytes \d+ drop\n/);
    assert.equal((await host.ssh('root', `iptables-legacy -w -C INPUT ${SPEC}`)).code, 1, 'not in the legacy tables');
    await rollbackLast(s.session.runner, { host: host.name });
    assert.equal((await host.ssh('root', `iptables-nft -w -C INPUT ${SPEC}`)).code, 1);
  });
});
