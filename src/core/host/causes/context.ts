/**
 * What every cause check gets besides the snapshot: the thresholds, usage, rates and the other
 * facts several causes read, computed once per diagnosis. A cause check is
 * `(snapshot, context) => Finding[]`; the table of them is causes/index.ts.
 */
import { lintFiles, type LintFinding } from '../../sysctl/lint';
import type { TableFullEvent } from '../../kernel/kernelLog';
import { ESTABLISHED_KEY } from '../../facts';
import { bootFacts, lintHostContext, liveInt } from '../adapters';
import type { Finding, Rates, UsageLevel } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { Thresholds } from '../thresholds';
import { entryEstimates, type EntryEstimates } from '../../sampling';

export interface CauseContext {
  readonly thresholds: Thresholds;
  /** count / max × 100 (undefined when either is unknown or max is 0) */
  readonly percent: number | undefined;
  readonly level: UsageLevel;
  /** Rates since the previous snapshot; undefined with one snapshot only. */
  readonly rates: Rates | undefined;
  /** `rates.perSecond`, or nothing. */
  readonly perSecond: Readonly<Record<string, number>>;
  /** Counters summed over CPUs. */
  readonly totals: Readonly<Record<string, number>> | undefined;
  /** Highest count seen in earlier snapshots (the extension keeps polling history). */
  readonly observedPeak: number | undefined;
  /** Not the initial network namespace. */
  readonly inNetns: boolean;
  /** Said wherever max or buckets are recommended from inside a network namespace. */
  readonly hostNote: string;
  /** Usage at or above the warning threshold, or dropping now. */
  readonly pressure: boolean;
  /** nf_conntrack_tcp_timeout_established, live. */
  readonly liveEstablished: number | undefined;
  /** "table full" kernel-log lines of this namespace, and (in the initial one) of other namespaces. */
  readonly tableFull: { readonly mine: readonly TableFullEvent[]; readonly otherNetns: readonly TableFullEvent[] };
  /** Who fills the table (exact, or scaled from the sample with bounds); undefined without an entry summary. */
  readonly entries: EntryEstimates | undefined;
  /** The linter's findings over the host's sysctl files with the host's context (once, on first use). */
  lint(): readonly LintFinding[];
}

export type CauseCheck = (s: HostSnapshot, ctx: CauseContext) => Finding[];

/** A table-full line younger than this (an hour) counts as recent. */
export const RECENT_SECONDS = 3600;

export function causeContext(
  s: HostSnapshot,
  o: { thresholds: Thresholds; percent: number | undefined; level: UsageLevel; rates: Rates | undefined; observedPeak: number | undefined },
): CauseContext {
  const perSecond = o.rates?.perSecond ?? {};
  const totals = s.counters?.totals;
  const inNetns = s.initialNetns === false;
  // The kernel log is global: `in netns N` lines belong to namespace N, the plain form to the initial one.
  const events = s.kernelLog?.events ?? [];
  let mine = events.filter((e) => (inNetns ? s.netnsInode === undefined || e.netns === s.netnsInode : e.netns === undefined));
  // Counters are per namespace: with drop = 0 here, matching lines belong to an earlier namespace
  // that had the same inode (inodes are reused), not to this one.
  if (totals?.['drop'] === 0) mine = [];
  const otherNetns = inNetns ? [] : events.filter((e) => e.netns !== undefined);
  let lint: readonly LintFinding[] | undefined;
  return {
    ...o,
    perSecond,
    totals,
    inNetns,
    hostNote: inNetns ? ' This is not the initial network namespace: max and buckets are global and can only be changed on the host (initial namespace).' : '',
    pressure: o.level === 'elevated' || o.level === 'high' || o.level === 'critical' || (perSecond['drop'] ?? 0) > 0,
    liveEstablished: liveInt(s, ESTABLISHED_KEY),
    tableFull: { mine, otherNetns },
    entries: s.entrySummary ? entryEstimates(s.entrySummary, s.count) : undefined,
    lint: () => {
      if (lint === undefined) {
        const boot = bootFacts(s);
        lint = s.sysctlFiles && s.sysctlFiles.length > 0
          ? lintFiles(s.sysctlFiles, { ...(s.loader ? { loaders: [s.loader] } : {}), context: lintHostContext(s, o.percent), ...(boot ? { boot } : {}) })
          : [];
      }
      return lint;
    },
  };
}
