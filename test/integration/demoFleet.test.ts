/**
 * The fleet part of `npm run demo` (scripts/demo/fleet.ts), run on its own with names of this
 * file (the demo's are fixed and machine-wide): real demo hosts, node_exporter in each, a real
 * Prometheus; `conntrack-doctor fleet` puts the host in trouble first, says which has no counters.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { checkDemoFleet, startDemoFleet, type DemoFleet } from '../../scripts/demo/fleet';
import { CLI, ensureCliBuilt, scratchDir } from './helpers';
import { globalConntrackLock } from '../../harness/conntrackLock';

const dir = scratchDir('demofleet');
let fleet: DemoFleet | undefined;
let release: (() => Promise<void>) | undefined;
after(async () => {
  await fleet?.stop();
  await release?.();
});

test('the demo fleet: three hosts, the one in trouble ranked first by the CLI, one without counters', async () => {
  ensureCliBuilt();
  // Its percentages are of the global max: nobody may change it meanwhile.
  const held = await globalConntrackLock('shared');
  release = () => held.release();
  fleet = await startDemoFleet({ prefix: `idf${process.pid % 10000}`, hosts: 3, dir });
  assert.equal(fleet.instances.length, 3);
  assert.equal(fleet.troubled, `${fleet.hosts[0]?.address}:9100`);
  for (const h of fleet.hosts) assert.match(fleet.sshConfig, new RegExp(`Host ${h.address.replace(/\./g, '\\.')}\\n  User root\\n  IdentityFile ${h.info.users.root.key}`));
  const lines: string[] = [];
  assert.deepEqual(checkDemoFleet(fleet, CLI, (l) => lines.push(l)), []);
  assert.match(lines.join('\n'), /3 instance\(s\) from .*: 1 at warning or above or dropping, 0 down, 1 without counters/);
});
