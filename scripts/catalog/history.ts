/**
 * Keys the kernel had and no longer has (or never had in mainline), written by hand because
 * no file of a current kernel tree says so. Each entry cites where the fact comes from; the
 * generator (generate.ts) checks every entry against the sources it reads: a key marked
 * removed must be absent from the 6.12 ctl_tables and from the reference kernel's /proc/sys.
 */

export interface HistoryEntry {
  /** Dotted key. */
  readonly key: string;
  /** Kernel version that no longer has it ('distribution' for keys mainline never had). */
  readonly removedIn: string;
  /** Where the setting lives now, when it moved. */
  readonly movedTo?: string;
  /** One sentence for the finding (what it did, why it went). */
  readonly note: string;
  /** Citation: commit, mailing-list message or file. */
  readonly source: string;
  /** Integer values per write (for the inline-comment rule on kernels that still have it). */
  readonly count?: number;
}

const TW_RECYCLE_SOURCE = 'torvalds/linux commit 4396e46187ca5070219b81773c4e65088dac50cc "tcp: remove tcp_tw_recycle" (v4.12)';
const SCHED_DEBUGFS_SOURCE = 'torvalds/linux commit 8a99b6833c884fa0e7919030d93fecedc69fc625 "sched: Move SCHED_DEBUG sysctl to debugfs" (v5.13); targets from kernel/sched/debug.c:509-531 (6.12)';
const HELPER_SOURCE = 'netfilter patch "netfilter: remove nf_conntrack_helper sysctl and modparam toggles", lore.kernel.org message 20220830153319.71890-1-pablo@netfilter.org (merged for v6.0); absent from net/netfilter/nf_conntrack_standalone.c in 6.12';

const sched = (name: string, target: string, note: string): HistoryEntry => ({
  key: `kernel.sched_${name}`,
  removedIn: '5.13',
  movedTo: `/sys/kernel/debug/sched/${target}`,
  note,
  source: SCHED_DEBUGFS_SOURCE,
});

export const HISTORY: readonly HistoryEntry[] = [
  {
    key: 'net.ipv4.tcp_tw_recycle',
    removedIn: '4.12',
    note: 'Fast TIME_WAIT recycling dropped connections from clients behind NAT (it compared per-host TCP timestamps, which NATed clients do not share).',
    source: TW_RECYCLE_SOURCE,
  },
  sched('min_granularity_ns', 'min_granularity_ns', 'A CFS tunable; by 6.12 debugfs has base_slice_ns instead (kernel/sched/debug.c:509, the EEVDF scheduler).'),
  sched('latency_ns', 'latency_ns', 'A CFS tunable; gone from debugfs too by 6.12 (kernel/sched/debug.c has base_slice_ns).'),
  sched('wakeup_granularity_ns', 'wakeup_granularity_ns', 'A CFS tunable; gone from debugfs too by 6.12 (kernel/sched/debug.c has base_slice_ns).'),
  sched('migration_cost_ns', 'migration_cost_ns', 'A scheduler tunable (still in debugfs in 6.12, kernel/sched/debug.c:516).'),
  sched('nr_migrate', 'nr_migrate', 'A scheduler tunable (still in debugfs in 6.12, kernel/sched/debug.c:517).'),
  sched('tunable_scaling', 'tunable_scaling', 'A scheduler tunable (still in debugfs in 6.12, kernel/sched/debug.c:515).'),
  {
    key: 'net.netfilter.nf_conntrack_helper',
    removedIn: '6.0',
    note: 'Automatic helper assignment by port was insecure; helpers are attached by explicit CT rules (nft `ct helper`, iptables `-j CT --helper`).',
    source: HELPER_SOURCE,
  },
  {
    key: 'kernel.exec-shield',
    removedIn: 'distribution',
    note: 'A Red Hat kernel patch (RHEL 5/6 era), never part of mainline Linux; NX and address-space randomisation are always on or set by kernel.randomize_va_space.',
    source: 'absent from every ctl_table of the 6.12 source and from Documentation/admin-guide/sysctl/kernel.rst (checked by the generator)',
  },
  {
    key: 'kernel.exec-shield-randomize',
    removedIn: 'distribution',
    note: 'A Red Hat kernel patch, never part of mainline Linux; use kernel.randomize_va_space.',
    source: 'absent from every ctl_table of the 6.12 source (checked by the generator)',
  },
];

/**
 * Keys of the reference kernel's own vendor patches: in no mainline source (not in the 6.12
 * ctl_tables, and no match in a code search of public trees), so they stay out of a catalogue
 * that claims "the kernel has this key".
 */
export const REFERENCE_VENDOR_KEYS: readonly RegExp[] = [/^kernel\.init_private/, /^kernel\.sched_vcpu_pack$/, /^fs\.pipe-keep$/];
