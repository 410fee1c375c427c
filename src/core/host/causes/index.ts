/**
 * The causes the diagnosis checks, one module each, in the order of CAUSES (docs/findings.md
 * documents each; test/unit/host/diagnose.test.ts keeps this table, CAUSES and the doc in step).
 * A new cause: add its name to CAUSES (diagnosis.ts), a module here, a row below, a section
 * in docs/findings.md.
 */
import type { Cause } from '../diagnosis';
import { bootPersistence } from './bootPersistence';
import { configDrift } from './configDrift';
import type { CauseCheck } from './context';
import { externalOwner } from './externalOwner';
import { hashBuckets } from './hashBuckets';
import { invalidPackets } from './invalidPackets';
import { iptablesBackend } from './iptablesBackend';
import { longTimeouts } from './longTimeouts';
import { memory } from './memory';
import { natRace } from './natRace';
import { netnsLimits } from './netnsLimits';
import { staleEntries } from './staleEntries';
import { tooManyConnections } from './tooManyConnections';

export const CAUSE_CHECKS: readonly { readonly cause: Cause; readonly check: CauseCheck }[] = [
  { cause: 'too-many-connections', check: tooManyConnections },
  { cause: 'long-timeouts', check: longTimeouts },
  { cause: 'stale-entries', check: staleEntries },
  { cause: 'invalid-packets', check: invalidPackets },
  { cause: 'memory', check: memory },
  { cause: 'hash-buckets', check: hashBuckets },
  { cause: 'iptables-backend', check: iptablesBackend },
  { cause: 'nat-race', check: natRace },
  { cause: 'boot-persistence', check: bootPersistence },
  { cause: 'config-drift', check: configDrift },
  { cause: 'netns-limits', check: netnsLimits },
  { cause: 'external-owner', check: externalOwner },
];
