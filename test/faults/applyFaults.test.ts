/**
 * Issue 11 items 2 and 3: a fault at any command of a multi-file fix — the connection cut
 * before or during it, or a Cancel while it runs — leaves no partial file, and the host either
 * unchanged or the change recorded; `rollback` (over a fresh connection) brings it back to the
 * byte. A rollback cut at any of its commands can be run again and finishes.
 * The product's real applyFix/rollbackLast and remote scripts run against a test host's sshd;
 * the cuts are real TCP cuts (CutRelay), the checks read the host without SSH.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useHost, type TestHost } from '../../harness/host/testHost';
import type { Fix } from '../../src/core/fix/model';
import { applyFix, ApplyError, listChanges, rollbackLast } from '../../src/io/apply';
import { openSession, scratchDir, type Session } from '../integration/helpers';
import { HookedRunner, hostFile, leftoverTemps, relayedSession, remoteScriptsGone, sha256 } from './helpers';

const dir = scratchDir('faults-apply');
const h = useHost(`flt${process.pid % 10000}a`);

const TCP = 'net.netfilter.nf_conntrack_tcp_timeout_established';
const UDP = 'net.netfilter.nf_conntrack_udp_timeout';
const FILES = {
  replaced: '/etc/sysctl.d/95-ctd-fault.conf',
  created: '/etc/modprobe.d/ctd-fault.conf',
  big: '/etc/nftables.conf',
} as const;

interface Original {
  readonly files: Record<string, Buffer | undefined>;
  readonly sysctl: Record<string, string>;
}

function bigRuleset(): string {
  const lines = ['#!/usr/sbin/nft -f', 'flush ruleset', 'table inet filter {', '  set blocked {', '    type ipv4_addr', '    elements = {'];
  for (let i = 0; i < 8_000; i++) lines.push(`      10.${(i >> 8) & 255}.${i & 255}.${i % 7},`);
  lines.push('    }', '  }', '}', '');
  return lines.join('\n');
}

/** A fix as the builders make them (data): three files (replace, create, a big one), two live values. */
function multiFileFix(orig: Original): Fix {
  const text = (p: string): string | undefined => orig.files[p]?.toString('utf8');
  return {
    id: 'apply-file',
    title: 'fault-suite fix: three files, two live values',
    summary: 'test',
    destructive: false,
    needsInitialNetns: false,
    fileEdits: [
      { path: FILES.replaced, description: 'replace', before: text(FILES.replaced), after: `${TCP} = 7200\n${UDP} = 45\n`, winsAfter: [] },
      { path: FILES.created, description: 'create', before: text(FILES.created), after: 'options nf_conntrack hashsize=65536\n', createMode: 0o644, winsAfter: [] },
      { path: FILES.big, description: 'big', before: text(FILES.big), after: bigRuleset(), winsAfter: [] },
    ],
    runtime: [
      { argv: ['sysctl', '-w', `${TCP}=7200`], description: 'tcp', privileged: true },
      { argv: ['sysctl', '-w', `${UDP}=45`], description: 'udp', privileged: true },
    ],
    verify: [
      { description: 'tcp', argv: ['sysctl', '-n', TCP], privileged: false, expect: { kind: 'equals', value: '7200' } },
      { description: 'udp', argv: ['sysctl', '-n', UDP], privileged: false, expect: { kind: 'equals', value: '45' } },
    ],
    rollback: [
      { argv: ['sysctl', '-w', `${UDP}=${orig.sysctl[UDP] ?? ''}`], description: 'udp back', privileged: true },
      { argv: ['sysctl', '-w', `${TCP}=${orig.sysctl[TCP] ?? ''}`], description: 'tcp back', privileged: true },
    ],
    notes: [],
  };
}

async function hostState(host: TestHost): Promise<Original> {
  const files: Record<string, Buffer | undefined> = {};
  for (const p of Object.values(FILES)) files[p] = await hostFile(host, p);
  const sysctl: Record<string, string> = {};
  for (const k of [TCP, UDP]) sysctl[k] = (await host.execOk(['sysctl', '-n', k])).trim();
  return { files, sysctl };
}

const describeBytes = (b: Buffer | undefined): string => (b === undefined ? 'absent' : `${b.length} bytes sha ${sha256(b).slice(0, 12)}`);

/** After a fault: nothing partial; unchanged or recorded. Returns whether the host changed. */
async function checkAfterFault(host: TestHost, direct: Session, orig: Original, fix: Fix, what: string): Promise<void> {
  await remoteScriptsGone(host);
  const now = await hostState(host);
  const changed: string[] = [];
  for (const e of fix.fileEdits) {
    const b = now.files[e.path];
    const isOrig = (b === undefined) === (orig.files[e.path] === undefined) && (b === undefined || sha256(b) === sha256(orig.files[e.path] as Buffer));
    const isNew = b !== undefined && sha256(b) === sha256(e.after);
    assert.ok(isOrig || isNew, `${what}: ${e.path} is neither as before nor the fix's content: ${describeBytes(b)}`);
    if (!isOrig) changed.push(e.path);
  }
  for (const k of [TCP, UDP]) if (now.sysctl[k] !== orig.sysctl[k]) changed.push(k);
  for (const d of ['/etc', '/etc/sysctl.d', '/etc/modprobe.d']) assert.deepEqual(await leftoverTemps(host, d), [], `${what}: no temp file in ${d}`);
  if (changed.length > 0) {
    const pending = (await listChanges(direct.session.runner)).filter((r) => r.rolledBackAt === undefined);
    assert.ok(pending.length > 0, `${what}: the host changed (${changed.join(', ')}) but no change is recorded`);
    const newest = pending[0];
    for (const p of changed.filter((c) => c.startsWith('/'))) {
      assert.ok(newest?.files.some((f) => f.path === p), `${what}: ${p} changed but the newest record does not list it: ${JSON.stringify(newest?.files)}`);
    }
  }
}

async function rollBackAndCheck(host: TestHost, direct: Session, orig: Original, what: string): Promise<void> {
  const pending = (await listChanges(direct.session.runner)).filter((r) => r.rolledBackAt === undefined);
  if (pending.length > 0) await rollbackLast(direct.session.runner, { host: host.name });
  const now = await hostState(host);
  for (const p of Object.values(FILES)) assert.equal(describeBytes(now.files[p]), describeBytes(orig.files[p]), `${what}: ${p} back to the byte`);
  assert.deepEqual(now.sysctl, orig.sysctl, `${what}: live values back`);
  assert.deepEqual((await listChanges(direct.session.runner)).filter((r) => r.rolledBackAt === undefined).map((r) => r.id), [], `${what}: nothing left to roll back`);
}

describe('faults during apply and rollback', () => {
  let host: TestHost;
  let direct: Session;
  let orig: Original;
  let fix: Fix;
  let applyCalls = 0;
  let rollbackCalls = 0;

  before(async () => {
    host = h.host;
    await host.execOk(['sh', '-c', `printf '%s = 300000\\n' ${TCP} > ${FILES.replaced}; rm -f ${FILES.created}`]);
    direct = await openSession(dir, host, { alias: 'direct' });
    orig = await hostState(host);
    fix = multiFileFix(orig);
  });

  test('without a fault: applied, recorded, rolled back to the byte (and how many commands each takes)', async () => {
    const counted = new HookedRunner(direct.session.runner, () => undefined);
    const rec = await applyFix(counted, fix, { host: host.name });
    applyCalls = counted.calls;
    assert.equal(rec.ok, true);
    assert.equal((await hostState(host)).sysctl[TCP], '7200');
    const back = new HookedRunner(direct.session.runner, () => undefined);
    await rollbackLast(back, { host: host.name });
    rollbackCalls = back.calls;
    await rollBackAndCheck(host, direct, orig, 'no fault');
    assert.ok(applyCalls > 8 && rollbackCalls > 6, `${applyCalls} / ${rollbackCalls} commands`);
  });

  for (const mode of ['before', 'during'] as const) {
    test(`the connection cut ${mode} each command of apply`, async () => {
      for (let k = 1; k <= applyCalls; k++) {
        const what = `cut ${mode} apply command ${k}/${applyCalls}`;
        const { session, relay } = await relayedSession(dir, host, `a${mode}${k}`);
        const hooked = new HookedRunner(session.session.runner, (n) => {
          if (n === k) void relay.cutAfter(mode === 'before' ? 1 : 1500);
        });
        const outcome = await applyFix(hooked, fix, { host: host.name, timeoutMs: 30_000 }).then(() => 'ok', (e: unknown) => e);
        if (outcome !== 'ok') assert.ok(outcome instanceof ApplyError || outcome instanceof Error, `${what}: ${String(outcome)}`);
        await session.session.close().catch(() => undefined);
        await checkAfterFault(host, direct, orig, fix, what);
        await rollBackAndCheck(host, direct, orig, what);
      }
    });
  }

  test('Cancel pressed while each command of apply runs: the command finishes, the rest does not run, what ran is recorded', async () => {
    for (let k = 1; k <= applyCalls; k++) {
      const what = `Cancel during apply command ${k}/${applyCalls}`;
      const cancel = new AbortController();
      const hooked = new HookedRunner(direct.session.runner, (n) => {
        if (n === k) cancel.abort();
      });
      const outcome = await applyFix(hooked, fix, { host: host.name, signal: cancel.signal }).then((r) => r, (e: unknown) => e);
      if (!(outcome instanceof Error)) {
        // Only once every change is made (the read-backs and the last save remain) can a Cancel come too late: then it is applied and recorded.
        assert.ok(k > applyCalls - 4, `${what}: a Cancel before the last change must stop the fix`);
        assert.equal((await listChanges(direct.session.runner)).find((r) => r.id === (outcome as { id: string }).id)?.state, 'applied', what);
      } else {
        assert.ok(outcome instanceof ApplyError, `${what}: ${String(outcome)}`);
        assert.match(outcome.message, /cancel|nothing was changed/i, what);
      }
      await checkAfterFault(host, direct, orig, fix, what);
      if (outcome instanceof ApplyError && /recorded as/.test(outcome.message)) {
        const rec = (await listChanges(direct.session.runner)).find((r) => r.id === outcome.record?.id);
        assert.ok(rec, `${what}: "recorded" is said only when it was (${outcome.message})`);
      }
      await rollBackAndCheck(host, direct, orig, what);
    }
  });

  test('a rollback cut at each of its commands can be run again and finishes', async () => {
    for (let k = 1; k <= rollbackCalls; k++) {
      const what = `rollback cut during command ${k}/${rollbackCalls}`;
      await applyFix(direct.session.runner, fix, { host: host.name });
      const { session, relay } = await relayedSession(dir, host, `r${k}`);
      const hooked = new HookedRunner(session.session.runner, (n) => {
        if (n === k) void relay.cutAfter(1500);
      });
      await rollbackLast(hooked, { host: host.name, timeoutMs: 30_000 }).catch(() => undefined);
      await session.session.close().catch(() => undefined);
      await remoteScriptsGone(host);
      for (const d of ['/etc', '/etc/sysctl.d', '/etc/modprobe.d']) assert.deepEqual(await leftoverTemps(host, d), [], `${what}: no temp file in ${d}`);
      await rollBackAndCheck(host, direct, orig, what);
    }
  });
});
