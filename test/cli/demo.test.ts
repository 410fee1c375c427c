/** The README's first command, as a newcomer runs it: the demo host is diagnosed with the expected findings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '../..');

test('npm run demo: a host in trouble, diagnosed over SSH, then removed', () => {
  const r = spawnSync('bash', [join(repo, 'scripts/demo.sh')], { cwd: repo, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const out = r.stdout;
  for (const expected of [
    /WARNING \[too-many-connections\] Conntrack table 9\d\.\d % full/,
    /\[stale-entries\] 198\.18\.66\.66 holds/,
    /\[invalid-packets\] .*INVALID packets and no rule drops them/,
    /\[iptables-backend\] Legacy iptables tables and nftables rules are both active/,
    /\[long-timeouts\]/,
    /\(inline-comment\)/,
    /Did you mean `net\.netfilter\.nf_conntrack_tcp_timeout_established`/,
    /top sources:\n\s+90,000\s+\d+\.\d %\s+198\.18\.66\.66/,
  ]) assert.match(out, expected);
  // INVALID packets are never said to sit in the table
  assert.doesNotMatch(out, /INVALID entries (fill|consume|occupy)/i);
  // the host is gone afterwards
  assert.doesNotMatch(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, /\bctd-demo\b/);
});
