/**
 * Fixes that change conntrack sysctls: raise-max, set-buckets, set-sysctl / set-timeout and
 * load-module-at-boot. Each one: runtime `sysctl -w`, persisted so that it wins at boot under
 * both loaders and survives the module-load pitfall, read back (sysctl exits 0 even when a
 * netns refuses the write), and undone at runtime with the previous value.
 */
import type { CommandStep, FileEdit, Fix, Verification } from './model';
import { lookupKey, MAX_PORTABLE_TIMEOUT, type KeyInfo } from '../sysctl/catalog';
import type { Loader, SysctlFile } from '../sysctl/loaders';
import { LOADERS, computePrecedence, loaderLabel, parseFiles, winner } from '../sysctl/loaders';
import { ValidationError, validateInteger, validateSingleLine, validateSysctlKey } from './validate';
import { persistSysctlKey } from './persistSysctl';
import { MODPROBE_PATH, MODULES_LOAD_PATH, modulesLoadEdit, setModprobeHashsize } from './moduleFiles';
import { BUCKETS_KEY, MAX_KEY } from '../facts';

const INT_MAX = 2147483647;

/** How conntrack is present on the host and what already loads it at boot. */
export interface ConntrackModuleState {
  /** `module`: nf_conntrack.ko (boot pitfall applies); `builtin`: compiled into the kernel. */
  readonly conntrack: 'module' | 'builtin';
  /** Something already loads nf_conntrack at boot (modules-load.d, /etc/modules, initramfs…). */
  readonly moduleLoadedAtBoot: boolean;
  /** Current content of /etc/modules-load.d/nf_conntrack.conf when that file exists. */
  readonly modulesLoadContent?: string | undefined;
}

/** What a persisted sysctl fix needs to know about the host. */
export interface SysctlHost extends ConntrackModuleState {
  /** Every sysctl file the loaders read (from the host or a --root tree). */
  readonly files: readonly SysctlFile[];
  /** The loader(s) this host boots with, when known (both are always checked). */
  readonly loadersInUse?: readonly Loader[];
  /** The file the user is editing; default /etc/sysctl.d/90-conntrack-doctor.conf. */
  readonly targetPath?: string | undefined;
}

function sysctlWrite(key: string, value: number, description: string): CommandStep {
  return { argv: ['sysctl', '-w', `${key}=${value}`], description, privileged: true };
}

function readBack(key: string, value: number): Verification {
  return {
    description: `Read back ${key} (expect ${value}; sysctl exits 0 even when a network namespace refuses the write)`,
    argv: ['sysctl', '-n', key],
    privileged: false,
    expect: { kind: 'equals', value: String(value) },
  };
}

function extraNotes(notes: readonly string[] | undefined): string[] {
  return (notes ?? []).map((n, i) => validateSingleLine(`notes[${i}]`, n));
}

function moduleEdits(host: ConntrackModuleState, notes: string[], loadersInUse: readonly Loader[] | undefined): FileEdit[] {
  if (host.conntrack === 'builtin') return [];
  if (host.moduleLoadedAtBoot) return [];
  const edit = modulesLoadEdit(host.modulesLoadContent);
  if (!edit) return [];
  notes.push(
    `nf_conntrack is a module and nothing loads it at boot: ${MODULES_LOAD_PATH} makes systemd-modules-load load it before systemd-sysctl runs; without it net.netfilter.* lines are skipped silently at boot.`,
  );
  if (loadersInUse && !loadersInUse.includes('systemd')) {
    notes.push('This host does not boot with systemd: modules-load.d may not be read; list nf_conntrack in /etc/modules (Debian sysvinit) or the init system’s module list instead.');
  }
  return [edit];
}

function persisted(key: string, value: number, host: SysctlHost, comment: string, notes: string[]): FileEdit[] {
  const result = persistSysctlKey({ key, value: String(value), files: host.files, targetPath: host.targetPath, comment });
  notes.push(...result.notes);
  return [...result.fileEdits, ...moduleEdits(host, notes, host.loadersInUse)];
}

// ---------------------------------------------------------------------------------------------

export interface RaiseMaxInput extends SysctlHost {
  readonly value: number | string;
  /** The live value before the fix (restored by the rollback). */
  readonly current: number | string;
  /** Bytes per entry from /proc/slabinfo (`nf_conntrack` objsize), for the memory estimate. */
  readonly objsize?: number | string;
  /** Live nf_conntrack_buckets, for the chain-length note. */
  readonly buckets?: number | string;
  readonly notes?: readonly string[];
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
}

export function raiseMax(input: RaiseMaxInput): Fix {
  const value = validateInteger('value', input.value, { min: 1, max: INT_MAX });
  const current = validateInteger('current', input.current, { max: INT_MAX });
  const objsize = input.objsize === undefined ? undefined : validateInteger('objsize', input.objsize, { min: 1, max: 65536 });
  const buckets = input.buckets === undefined ? undefined : validateInteger('buckets', input.buckets, { min: 1, max: INT_MAX });
  const notes: string[] = [];
  const perEntry = objsize ?? 320;
  notes.push(
    `Memory: a full table of ${value} entries costs about ${mib(value * perEntry)} of unswappable kernel memory (${objsize === undefined ? '~256–350 B per entry; read the nf_conntrack objsize in /proc/slabinfo for this host' : `${objsize} B per entry from /proc/slabinfo`}), per network namespace that fills up. Check it against the host's RAM.`,
  );
  if (current === 0) notes.push('The current value 0 means "unlimited" (a historic wart): this fix sets a limit.');
  else if (value < current) notes.push(`This LOWERS the limit from ${current} to ${value}.`);
  if (buckets !== undefined && value > 4 * buckets) {
    notes.push(`With ${buckets} buckets a full table averages chains of ${((2 * value) / buckets).toFixed(1)} (each entry is hashed twice): consider raising nf_conntrack_buckets too (set-buckets).`);
  }
  notes.push('nf_conntrack_max is global and can only be written from the initial (host) network namespace; inside a container the write is refused while sysctl still exits 0, hence the read-back.');
  const fileEdits = persisted(MAX_KEY, value, input, `Raised by Conntrack Doctor (was ${current}): the conntrack table was filling up.`, notes);
  notes.push(...extraNotes(input.notes));
  return {
    id: 'raise-max',
    title: `Raise nf_conntrack_max to ${value}`,
    summary: `Set net.netfilter.nf_conntrack_max from ${current} to ${value} now and at every boot, so new connections are no longer dropped when the table is full.`,
    destructive: false,
    needsInitialNetns: true,
    fileEdits,
    runtime: [sysctlWrite(MAX_KEY, value, `Set nf_conntrack_max to ${value} now`)],
    verify: [readBack(MAX_KEY, value)],
    rollback: [sysctlWrite(MAX_KEY, current, `Restore nf_conntrack_max to ${current}`)],
    notes,
    change: { key: MAX_KEY, from: current, to: value },
  };
}

// ---------------------------------------------------------------------------------------------

export interface SetBucketsInput extends ConntrackModuleState {
  readonly value: number | string;
  readonly current: number | string;
  /** Current content of /etc/modprobe.d/nf_conntrack.conf when it exists. */
  readonly modprobeContent?: string | undefined;
  /** The host's sysctl files: used to check that nf_conntrack_max is persisted too, and (built-in
   *  conntrack) to persist the bucket count through sysctl. */
  readonly files?: readonly SysctlFile[];
  readonly targetPath?: string | undefined;
  readonly loadersInUse?: readonly Loader[];
  readonly notes?: readonly string[];
}

export function setBuckets(input: SetBucketsInput): Fix {
  const value = validateInteger('value', input.value, { min: 1, max: INT_MAX });
  const current = validateInteger('current', input.current, { min: 1, max: INT_MAX });
  const notes: string[] = [];
  const fileEdits: FileEdit[] = [];
  if (input.conntrack === 'module') {
    const after = setModprobeHashsize(input.modprobeContent, value);
    if (after !== input.modprobeContent) {
      fileEdits.push({
        path: MODPROBE_PATH,
        description: `Persist the hash size: options nf_conntrack hashsize=${value} in ${MODPROBE_PATH} (applied when the module loads)`,
        before: input.modprobeContent,
        after,
        ...(input.modprobeContent === undefined ? { createMode: 0o644 } : {}),
        winsAfter: [],
      });
    }
    notes.push('Other files in /etc/modprobe.d and a kernel command line nf_conntrack.hashsize= may also set hashsize; the last one given wins. They were not checked.');
  } else {
    notes.push('nf_conntrack is built into this kernel: modprobe.d options do not apply. The bucket count is persisted through sysctl (applied at boot, when the key exists); the kernel command line nf_conntrack.hashsize= is the alternative.');
    if (input.files) {
      const r = persistSysctlKey({ key: BUCKETS_KEY, value: String(value), files: input.files, targetPath: input.targetPath, comment: `Set by Conntrack Doctor (was ${current}).` });
      fileEdits.push(...r.fileEdits);
      notes.push(...r.notes);
    } else {
      notes.push('The host’s sysctl files were not given, so the bucket count is NOT persisted by this fix.');
    }
  }
  // An explicit hashsize makes the boot-time default max 8 × hashsize.
  if (input.files) {
    const parsed = parseFiles(input.files);
    const missing = LOADERS.filter((l) => !winner(computePrecedence(l, parsed), MAX_KEY));
    if (missing.length > 0) {
      notes.push(
        `nf_conntrack_max is not persisted (${missing.map((l) => loaderLabel[l]).join(', ')}): with an explicit hashsize the default max at boot becomes 8 × ${value} = ${8 * value}. Persist nf_conntrack_max too (raise-max).`,
      );
    }
  } else {
    notes.push(`With an explicit hashsize the default nf_conntrack_max at boot becomes 8 × ${value} = ${8 * value} unless max is persisted too.`);
  }
  notes.push(`Resizing rehashes every entry (0.7 s for 1M entries was observed, nothing lost) and costs 8 B per bucket (${mib(8 * value)}).`);
  notes.push('nf_conntrack_buckets is global: writable only from the initial network namespace, and read-only on some kernels (then only /sys/module/nf_conntrack/parameters/hashsize or a reboot with the new option changes it).');
  notes.push(...extraNotes(input.notes));
  return {
    id: 'set-buckets',
    title: `Set nf_conntrack_buckets to ${value}`,
    summary: `Resize the conntrack hash table from ${current} to ${value} buckets now, and persist it${input.conntrack === 'module' ? ` as options nf_conntrack hashsize=${value}` : ''}.`,
    destructive: false,
    needsInitialNetns: true,
    fileEdits,
    runtime: [sysctlWrite(BUCKETS_KEY, value, `Resize the hash table to ${value} buckets now`)],
    verify: [readBack(BUCKETS_KEY, value)],
    rollback: [sysctlWrite(BUCKETS_KEY, current, `Restore ${current} buckets`)],
    notes,
  };
}

// ---------------------------------------------------------------------------------------------

export interface SetSysctlInput extends SysctlHost {
  readonly key: string;
  readonly value: number | string;
  readonly current: number | string;
  /** The trade-off of this change, in words (shown as the first note). */
  readonly tradeOff: string;
  readonly notes?: readonly string[];
}

function catalogKey(key: unknown): KeyInfo {
  const dotted = validateSysctlKey('key', key);
  const info = lookupKey(dotted);
  if (!info) throw new ValidationError('key', `${dotted} is not a known conntrack sysctl`);
  if (info.scope === 'read-only') throw new ValidationError('key', `${info.key} is read-only`);
  if (info.key === BUCKETS_KEY) throw new ValidationError('key', `${info.key} is persisted as a module option: use set-buckets`);
  return info;
}

/** Any writable conntrack sysctl from the catalog, validated against its range. */
export function setSysctl(input: SetSysctlInput): Fix {
  const info = catalogKey(input.key);
  const value = validateInteger('value', input.value, { min: info.min, max: info.max });
  const current = validateInteger('current', input.current);
  const tradeOff = validateSingleLine('tradeOff', input.tradeOff).trim();
  if (tradeOff.length === 0) throw new ValidationError('tradeOff', 'say what this change costs or risks');
  const notes: string[] = [tradeOff];
  if (info.unit === 'seconds' && value > MAX_PORTABLE_TIMEOUT) {
    notes.push(`${value} s is above ${MAX_PORTABLE_TIMEOUT} s: kernels built with HZ=1000 refuse it.`);
  }
  if (info.unit === 'seconds') notes.push('A new timeout applies to an existing entry only when its next packet arrives.');
  const initOnly = info.scope === 'init';
  notes.push(
    initOnly
      ? `${info.key} is global: writable only from the initial network namespace (a refused write still exits 0, hence the read-back).`
      : `${info.key} is per network namespace: the runtime write changes the namespace the command runs in; the files are applied to the host’s initial namespace at boot.`,
  );
  if (info.availability) notes.push(`Availability: ${info.availability}.`);
  const fileEdits = persisted(info.key, value, input, `Set by Conntrack Doctor (was ${current}).`, notes);
  notes.push(...extraNotes(input.notes));
  const name = info.key.replace(/^net\.netfilter\./, '');
  return {
    id: info.unit === 'seconds' ? 'set-timeout' : 'set-sysctl',
    title: `Set ${name} to ${value}`,
    summary: `Set ${info.key} from ${current} to ${value} now and at every boot.`,
    destructive: false,
    needsInitialNetns: initOnly,
    fileEdits,
    runtime: [sysctlWrite(info.key, value, `Set ${name} to ${value} now`)],
    verify: [readBack(info.key, value)],
    rollback: [sysctlWrite(info.key, current, `Restore ${name} to ${current}`)],
    notes,
    change: { key: info.key, from: current, to: value },
  };
}

/** setSysctl restricted to timeout keys (unit seconds). */
export function setConntrackTimeout(input: SetSysctlInput): Fix {
  const info = catalogKey(input.key);
  if (info.unit !== 'seconds') throw new ValidationError('key', `${info.key} is not a timeout`);
  return setSysctl(input);
}

// ---------------------------------------------------------------------------------------------

export interface LoadModuleInput extends ConntrackModuleState {
  readonly notes?: readonly string[];
}

/** Only the modules-load.d file (nothing changes at runtime). */
export function loadModuleAtBoot(input: LoadModuleInput): Fix {
  if (input.conntrack === 'builtin') {
    throw new ValidationError('conntrack', 'nf_conntrack is built into this kernel: there is no module to load at boot');
  }
  const edit = modulesLoadEdit(input.modulesLoadContent);
  if (!edit) throw new ValidationError('modulesLoadContent', `${MODULES_LOAD_PATH} already loads nf_conntrack`);
  return {
    id: 'load-module-at-boot',
    title: 'Load nf_conntrack at boot',
    summary: `Add nf_conntrack to ${MODULES_LOAD_PATH} so the module is loaded before systemd-sysctl applies net.netfilter.* settings; otherwise they are skipped silently at every boot.`,
    destructive: false,
    needsInitialNetns: false,
    fileEdits: [edit],
    runtime: [],
    verify: [
      {
        description: `${MODULES_LOAD_PATH} lists nf_conntrack`,
        argv: ['cat', MODULES_LOAD_PATH],
        privileged: false,
        expect: { kind: 'contains', value: 'nf_conntrack' },
      },
    ],
    rollback: [],
    notes: [
      'Loading the module at boot costs a little memory even on hosts whose firewall would not use conntrack; on hosts that persist net.netfilter.* settings it is what makes them apply.',
      'Takes effect at the next boot; the running system is unchanged (the file is restored from its backup on rollback).',
      ...extraNotes(input.notes),
    ],
  };
}
