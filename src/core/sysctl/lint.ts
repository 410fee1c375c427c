/**
 * The sysctl linter: every rule of rules.ts over a set of files, with the host context when
 * there is one (live keys and values, RAM, netns, boot files). Pure: callers read the files.
 */
import type { DocRef, Range, Severity } from '../types';
import type { LintFix, TextEdit } from '../fix/model';
import {
  DEFAULT_MEMORY_BUDGET_PERCENT, ESTIMATED_OBJ_SIZE, averageChainWhenFull, defaultSizing, maxWithinBudget, parseKernelVersion, tableMemoryBytes,
} from '../sizing';
import { formatBytes, formatDuration, formatInt } from '../format';
import { BUCKETS_KEY, ESTABLISHED_KEY, KUBE_PROXY_ESTABLISHED_TIMEOUT, LONG_CHAIN_AVERAGE, MAX_KEY, OPS_GUIDE_ESTABLISHED_TIMEOUT } from '../facts';
import {
  CATALOG, LEGACY_KEYS, MAX_ALIAS, MAX_PORTABLE_TIMEOUT, canonicalKey, isNetfilterKey, lookupKey, suggestKey, type KeyInfo,
} from './catalog';
import { LOADERS, computePrecedence, effectiveOf, resolveLink, writeFails, isLoaderPath, loaderLabel, planLoader, type Loader, type Occurrence, type ParsedSysctlFile, type SysctlFile } from './loaders';
import { MODULES_LOAD_FILE, MODPROBE_FILE, conntrackLoadedBy, configuredHashsize, type BootFacts } from './boot';
import { RULES, ruleDoc, type RuleCode } from './rules';
import { MAX_VALUE_LENGTH, inlineCommentOffset, lineRange, parseSysctl, spanRange, suppressedCodes, type Assignment, type SysctlLine } from './syntax';
import { parseKernelInt, readShorthandFor } from './values';

export interface RelatedLocation {
  readonly path: string;
  readonly range: Range;
  readonly message: string;
}

export interface LintFinding {
  readonly path: string;
  readonly code: RuleCode;
  /** The dotted key of the line, when the finding is about an assignment. */
  readonly key?: string;
  readonly severity: Severity;
  readonly message: string;
  readonly range: Range;
  /** Dead line (overridden, duplicated): editors fade it. */
  readonly unnecessary: boolean;
  readonly fixes: readonly LintFix[];
  readonly related: readonly RelatedLocation[];
  readonly doc: DocRef;
}

/** What is known about the host the files belong to (all optional: offline linting has none). */
export interface HostContext {
  /** Every key the host's kernel has (`sysctl -a`): the authority for "unknown key". */
  readonly liveKeys?: ReadonlySet<string>;
  /** Live values by dotted key (for drift). */
  readonly liveValues?: ReadonlyMap<string, string>;
  readonly memTotalBytes?: number;
  readonly slabObjSize?: number;
  readonly kernelRelease?: string;
  /** false when the files are read from inside a non-initial network namespace. */
  readonly initialNetns?: boolean;
  /** count / max × 100 right now. */
  readonly usagePercent?: number;
  readonly liveBuckets?: number;
}

export interface LintOptions {
  /** Loaders whose precedence is judged (default both). */
  readonly loaders?: readonly Loader[];
  readonly context?: HostContext;
  /** modules-load.d / modprobe.d contents; without them no boot-persistence verdict is made. */
  readonly boot?: BootFacts;
  /** Only report findings in these paths (others are context for precedence). Default: all. */
  readonly targets?: readonly string[];
  readonly memoryBudgetPercent?: number;
}

/** Smallest kernel default max for hosts with ≥ 1 GiB RAM. */
const SMALLEST_COMMON_DEFAULT_MAX = 65536;
/** Without RAM figures, a max this large needs > 5 GiB of unswappable memory when full. */
const OFFLINE_HUGE_MAX = 16 * 1024 * 1024;

/** Below these, idle flows of the kind lose their entry while still in use. */
const SHORT_TIMEOUTS: ReadonlyMap<string, { min: number; why: string }> = new Map([
  [ESTABLISHED_KEY, { min: 600, why: 'idle TCP connections (SSH sessions, database pools, long polls) lose their entry and break silently unless keepalives are more frequent; Linux\'s default tcp_keepalive_time is 7200 s' }],
  ['net.netfilter.nf_conntrack_udp_timeout_stream', { min: 30, why: 'UDP streams with pauses (VPN tunnels, QUIC, media) lose their entry between packets' }],
  ['net.netfilter.nf_conntrack_udp_timeout', { min: 10, why: 'replies slower than this (DNS over a slow resolver) no longer match their request' }],
  ['net.netfilter.nf_conntrack_generic_timeout', { min: 60, why: 'untracked protocols (e.g. ESP, IP-in-IP) lose their entry between packets' }],
]);

/** Work shared by every line of one lint run (keeps a 10,000-line file linear). */
interface RunCache {
  readonly suggestions: Map<string, string | undefined>;
  readonly livePool: readonly string[] | undefined;
  buckets?: { value: number; source: string } | null;
}

interface Emit {
  (code: RuleCode, line: SysctlLine, range: Range, message: string, extra?: { severity?: Severity; fixes?: LintFix[]; unnecessary?: boolean; related?: RelatedLocation[] }): void;
}

function replaceSpan(line: number, start: number, end: number, newText: string): TextEdit {
  return { range: { startLine: line, startCol: start, endLine: line, endCol: end }, newText };
}

function deleteLine(line: number): TextEdit {
  return { range: { startLine: line, startCol: 0, endLine: line + 1, endCol: 0 }, newText: '' };
}

function fix(title: string, edits: TextEdit[], preferred = false, files?: { path: string; content: string }[]): LintFix {
  return files ? { title, preferred, edits, files } : { title, preferred, edits };
}

function setValueFix(a: Assignment, value: string, title: string, preferred: boolean): LintFix {
  return fix(title, [replaceSpan(a.line, a.value.start, a.value.end, value)], preferred);
}


/** Lints a set of files. Findings come out sorted by path and position. */
export function lintFiles(files: readonly SysctlFile[], options: LintOptions = {}): LintFinding[] {
  const parsed: ParsedSysctlFile[] = files.map((f) => ({ ...f, doc: parseSysctl(f.content ?? '') }));
  const loaders = options.loaders ?? LOADERS;
  const ctx = options.context ?? {};
  const targets = new Set(options.targets ?? parsed.map((f) => f.path));
  const precedence = new Map(loaders.map((l) => [l, computePrecedence(l, parsed)] as const));
  const findings: LintFinding[] = [];
  const cache: RunCache = {
    suggestions: new Map(),
    livePool: ctx.liveKeys ? [...ctx.liveKeys].filter(isNetfilterKey) : undefined,
  };

  const paths = new Set(parsed.map((f) => f.path));
  for (const file of parsed) {
    if (!targets.has(file.path)) continue;
    // A link (99-sysctl.conf -> ../sysctl.conf) is linted through its target when both are here.
    if (file.linkTarget !== undefined && paths.has(resolveLink(file.path, file.linkTarget))) continue;
    const lines = file.doc.lines;
    const emit: Emit = (code, line, range, message, extra = {}) => {
      const meta = RULES.get(code);
      if (!meta) throw new Error(`unknown rule ${code}`);
      if (suppressedCodes(lines[line.line - 1]).has(code)) return;
      findings.push({
        path: file.path,
        code,
        ...(line.kind === 'assignment' || line.kind === 'exclusion' ? { key: line.normalizedKey } : {}),
        severity: extra.severity ?? meta.severity,
        message,
        range,
        unnecessary: extra.unnecessary ?? false,
        fixes: extra.fixes ?? [],
        related: extra.related ?? [],
        doc: ruleDoc(code),
      });
    };
    for (const line of lines) {
      if (line.kind === 'invalid') checkInvalid(line, emit);
      else if (line.kind === 'assignment') checkAssignment(line, emit, ctx, options, parsed, cache);
    }
    checkDuplicates(lines, emit);
    if (isLoaderPath(file.path)) {
      checkPrecedence(file, precedence, emit);
      checkLoaded(file, parsed, loaders, emit);
    }
    if (options.boot) checkBoot(file, options.boot, emit, file.doc.eol);
    if (ctx.liveValues) checkDrift(file, precedence, ctx.liveValues, emit, ctx.initialNetns === false);
  }
  return findings.sort(
    (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || a.range.startLine - b.range.startLine || a.range.startCol - b.range.startCol || (a.code < b.code ? -1 : 1),
  );
}

/** Convenience for one file without context (the editor's offline case). */
export function lintText(path: string, content: string, options: LintOptions = {}): LintFinding[] {
  return lintFiles([{ path, content }], options);
}

function checkInvalid(line: Extract<SysctlLine, { kind: 'invalid' }>, emit: Emit): void {
  const range = spanRange(line.line, line.span);
  if (line.reason === 'no-equals') {
    const looksLikeKey = /^[\w./-]+\s+\S/.exec(line.span.text);
    const fixes = looksLikeKey ? [fix('Insert `=` after the key', [replaceSpan(line.line, line.span.start + line.span.text.search(/\s/), line.span.start + line.span.text.search(/\s/), ' =')], true)] : [];
    emit('invalid-syntax', line, range, `Not a comment, \`key = value\` or \`-key\`: loaders skip it ("invalid syntax, continuing...").`, { fixes });
  } else if (line.reason === 'empty-key') {
    emit('invalid-syntax', line, range, 'Missing key before `=`: loaders skip this line.');
  } else {
    emit('invalid-syntax', line, range, `Key \`${line.span.text}\` contains whitespace: no such key can exist, so the write fails.`);
  }
}

function checkAssignment(a: Assignment, emit: Emit, ctx: HostContext, options: LintOptions, files: readonly ParsedSysctlFile[], cache: RunCache): void {
  const keyRange = spanRange(a.line, a.key);
  const valueRange = a.value.text.length > 0 ? spanRange(a.line, a.value) : keyRange;
  if (a.value.text.length > MAX_VALUE_LENGTH) {
    emit('value-too-long', a, valueRange, `Value is ${formatInt(a.value.text.length)} characters; loaders accept at most ${MAX_VALUE_LENGTH}.`);
  }
  if (a.glob) return;
  const key = a.normalizedKey;

  // Key existence.
  const legacy = LEGACY_KEYS.get(key);
  let info: KeyInfo | undefined;
  if (legacy) {
    emit('legacy-key', a, keyRange, `\`${key}\` was removed with the old ip_conntrack module and does not exist on current kernels: the line does nothing. Use \`${legacy}\`.`, {
      fixes: [fix(`Rename to ${legacy}`, [replaceSpan(a.line, a.key.start, a.key.end, legacy)], true)],
    });
    info = lookupKey(legacy);
  } else if (key === MAX_ALIAS) {
    emit('key-alias', a, keyRange, `\`${MAX_ALIAS}\` is an alias of \`${MAX_KEY}\` that exists only in the initial network namespace; inside a container or netns the write fails.`, {
      fixes: [fix(`Rename to ${MAX_KEY}`, [replaceSpan(a.line, a.key.start, a.key.end, MAX_KEY)], true)],
    });
    info = lookupKey(key);
  } else if (isNetfilterKey(key)) {
    info = CATALOG.get(key);
    const live = ctx.liveKeys;
    if (!info) {
      let suggestion = cache.suggestions.get(key);
      if (!cache.suggestions.has(key)) {
        const pool = cache.livePool && cache.livePool.length > 0 ? cache.livePool : [...CATALOG.keys()];
        suggestion = suggestKey(key, pool);
        cache.suggestions.set(key, suggestion);
      }
      const hint = suggestion ? ` Did you mean \`${suggestion}\`?` : '';
      emit('unknown-key', a, keyRange, `\`${key}\` is not a conntrack sysctl${live ? ' on this host' : ''}: the write fails${a.ignoreFailure ? ' (ignored because of the `-` prefix)' : ''}.${hint}`, {
        fixes: suggestion ? [fix(`Change to ${suggestion}`, [replaceSpan(a.line, a.key.start, a.key.end, suggestion)], true)] : [],
      });
    } else if (live && live.size > 0 && !live.has(key)) {
      const why = info.availability ? ` (${info.availability})` : ' (nf_conntrack not loaded, or a protocol tracker not built in)';
      emit('unknown-key', a, keyRange, `\`${key}\` does not exist on this host's kernel${why}: the write fails.`, { severity: a.ignoreFailure ? 'info' : 'warning' });
    }
  } else if (ctx.liveKeys && ctx.liveKeys.size > 0 && !ctx.liveKeys.has(key)) {
    emit('unknown-key', a, keyRange, `\`${key}\` does not exist on this host: the write fails${a.ignoreFailure ? ' (ignored because of the `-` prefix)' : ''}.`, {
      severity: a.ignoreFailure ? 'info' : 'warning',
    });
  }
  if (info?.scope === 'read-only') {
    emit('read-only-key', a, keyRange, `\`${info.key}\` is read-only (it reports the current number of entries); writing it fails.`, { fixes: [fix('Remove this line', [deleteLine(a.line)], true)] });
    return;
  }
  if (info && ctx.initialNetns === false && info.scope === 'init') {
    emit('global-key-in-netns', a, keyRange, `\`${info.key}\` is one global value, read-only inside this network namespace: \`sysctl -w\` prints "Invalid argument" yet exits 0. Set it on the host (initial namespace).`);
  }

  // Values.
  const value = a.value.text;
  if (value.length === 0) {
    emit('empty-value', a, keyRange, info ? `\`${info.key}\` needs an integer; an empty value is refused.` : `\`${key}\` is set to an empty string.`, { severity: info ? 'error' : 'warning' });
    return;
  }
  const commentAt = inlineCommentOffset(value);
  if (commentAt >= 0) {
    const clean = value.slice(0, commentAt).trimEnd();
    const comment = value.slice(commentAt);
    const indent = /^\s*/.exec(a.text)?.[0] ?? '';
    const consequence = info ? `the kernel refuses \`${value}\` and the setting is not applied` : `\`${comment}\` is written as part of the value`;
    emit('inline-comment', a, { startLine: a.line, startCol: a.value.start + commentAt, endLine: a.line, endCol: a.value.end }, `sysctl files have no inline comments: the value is \`${value}\`, so ${consequence}. Put the comment on its own line.`, {
      severity: info ? 'error' : 'warning',
      fixes: [
        fix('Move the comment to the line above', [
          replaceSpan(a.line, 0, 0, `${indent}${comment.startsWith(';') ? '#' + comment.slice(1) : comment}\n`),
          replaceSpan(a.line, a.value.start, a.value.end, clean),
        ], true),
      ],
    });
    if (info) checkInteger(a, clean, info, emit, ctx, options, files, cache, { start: a.value.start, end: a.value.start + clean.length });
    return;
  }
  if (info) checkInteger(a, value, info, emit, ctx, options, files, cache, { start: a.value.start, end: a.value.end });
}

function checkInteger(
  a: Assignment, text: string, info: KeyInfo, emit: Emit, ctx: HostContext, options: LintOptions, files: readonly ParsedSysctlFile[], cache: RunCache,
  span: { start: number; end: number },
): void {
  const range: Range = { startLine: a.line, startCol: span.start, endLine: a.line, endCol: span.end };
  const parsed = parseKernelInt(text);
  const reportOnly = text !== a.value.text; // inline comment already reported: don't offer overlapping edits
  if (!parsed) {
    const guess = readShorthandFor(info.unit, text);
    emit('not-an-integer', a, range, `\`${info.key}\` takes a whole number${info.unit === 'seconds' ? ' of seconds' : ''}; \`${text}\` is refused by the kernel.${guess !== undefined ? ` Did you mean ${guess}?` : ''}`, {
      fixes: guess !== undefined && !reportOnly ? [setValueFix(a, String(guess), `Replace with ${guess}`, false)] : [],
    });
    return;
  }
  if (parsed.form === 'octal') {
    const decimal = text.replace(/^([-+]?)0+(?=\d)/, '$1');
    emit('octal-value', a, range, `The kernel reads \`${text}\` as octal, i.e. ${parsed.value}, not ${decimal}.`, {
      fixes: reportOnly ? [] : [setValueFix(a, String(parsed.value), `Replace with ${parsed.value} (what the kernel reads)`, false), setValueFix(a, decimal, `Replace with ${decimal}`, true)],
    });
  }
  const v = parsed.value;
  if (v < info.min || v > info.max) {
    const range_ = info.unit === 'boolean' ? '0 or 1' : `${formatInt(info.min)}–${formatInt(info.max)}`;
    emit('out-of-range', a, range, `\`${info.key}\` accepts ${range_}; ${v} is refused by the kernel.`);
    return;
  }
  const key = info.key;
  if (info.unit === 'seconds' && v > MAX_PORTABLE_TIMEOUT) {
    emit('timeout-not-portable', a, range, `${formatInt(v)} s is above ${formatInt(MAX_PORTABLE_TIMEOUT)} s (INT_MAX / 1000): kernels built with HZ=1000 refuse it.`);
  }
  if (key === MAX_KEY) checkMax(a, v, range, emit, ctx, options, files, cache, reportOnly);
  else if (key === BUCKETS_KEY) {
    emit('buckets-via-sysctl', a, range, `The hash size can be written only in the initial netns, and at boot this line runs before nf_conntrack may be loaded. Persist it as \`options nf_conntrack hashsize=${v}\` in ${MODPROBE_FILE} (an explicit hashsize makes the default max 8 × hashsize: keep nf_conntrack_max set too).`, {
      fixes: reportOnly ? [] : [fix(`Move to ${MODPROBE_FILE}`, [deleteLine(a.line)], true, [{ path: MODPROBE_FILE, content: `options nf_conntrack hashsize=${v}\n` }])],
    });
  } else if (key === ESTABLISHED_KEY && v > KUBE_PROXY_ESTABLISHED_TIMEOUT) {
    const pressure = ctx.usagePercent !== undefined && ctx.usagePercent >= 75 ? ` The table is ${ctx.usagePercent.toFixed(0)} % full right now.` : '';
    emit('established-timeout-long', a, range, `ESTABLISHED entries whose peers vanished without FIN/RST stay ${formatDuration(v)}: ${formatInt(v)} s × the rate of such flows is what they hold (1 per second fills ${formatInt(v)} entries). kube-proxy uses ${KUBE_PROXY_ESTABLISHED_TIMEOUT} (1 day); many ops guides ${OPS_GUIDE_ESTABLISHED_TIMEOUT}.${pressure}`, {
      severity: pressure ? 'error' : 'warning',
      fixes: reportOnly ? [] : [setValueFix(a, String(KUBE_PROXY_ESTABLISHED_TIMEOUT), `Set to ${KUBE_PROXY_ESTABLISHED_TIMEOUT} (1 day, as kube-proxy)`, true), setValueFix(a, String(OPS_GUIDE_ESTABLISHED_TIMEOUT), `Set to ${OPS_GUIDE_ESTABLISHED_TIMEOUT} (2 h; idle connections need keepalives under 2 h)`, false)],
    });
  } else if (key === 'net.netfilter.nf_conntrack_tcp_loose' && v === 0) {
    emit('tcp-loose-off', a, range, 'With tcp_loose = 0 conntrack does not pick up connections it did not see start: after a flush, a firewall reload or a failover every existing TCP connection is INVALID (and dropped by an INVALID drop rule). The default is 1.', {
      fixes: reportOnly ? [] : [setValueFix(a, '1', 'Set to 1 (default)', true)],
    });
  } else if (key === 'net.netfilter.nf_conntrack_checksum' && v === 0) {
    emit('checksum-off', a, range, 'With checksum = 0, packets with bad checksums are not INVALID: they are tracked and can change a connection\'s state (e.g. a corrupt RST closing it). The default is 1; turn it off only when offload hardware already verified checksums.', {
      fixes: reportOnly ? [] : [setValueFix(a, '1', 'Set to 1 (default)', true)],
    });
  }
  const short = SHORT_TIMEOUTS.get(key);
  if (short && v < short.min) {
    emit('timeout-too-short', a, range, `${formatDuration(v)} is very short for \`${key.replace('net.netfilter.', '')}\`: ${short.why}.`, {
      fixes: reportOnly || info.defaultValue === undefined ? [] : [setValueFix(a, String(info.defaultValue), `Set to ${info.defaultValue} (kernel default)`, true)],
    });
  }
}

function checkMax(
  a: Assignment, v: number, range: Range, emit: Emit, ctx: HostContext, options: LintOptions, files: readonly ParsedSysctlFile[], cache: RunCache, reportOnly: boolean,
): void {
  if (v === 0) {
    emit('max-unlimited', a, range, 'nf_conntrack_max = 0 removes the limit: a flood can then take kernel memory until allocations fail. Set an explicit maximum.');
    return;
  }
  const objSize = ctx.slabObjSize ?? ESTIMATED_OBJ_SIZE;
  const objNote = ctx.slabObjSize ? `${objSize} B per entry (slabinfo)` : `~${objSize} B per entry (estimated)`;
  const kernel = ctx.kernelRelease ? parseKernelVersion(ctx.kernelRelease) : undefined;
  if (ctx.memTotalBytes !== undefined) {
    const def = defaultSizing(ctx.memTotalBytes, kernel);
    const budget = options.memoryBudgetPercent ?? DEFAULT_MEMORY_BUDGET_PERCENT;
    const need = tableMemoryBytes(v, ctx.liveBuckets ?? v, objSize);
    const cap = maxWithinBudget(ctx.memTotalBytes, objSize, budget);
    if (v > cap) {
      const share = (100 * need) / ctx.memTotalBytes;
      emit('max-exceeds-memory', a, range, `A full table of ${formatInt(v)} entries needs ~${formatBytes(need)} of unswappable kernel memory (${objNote}) = ${share.toFixed(1)} % of ${formatBytes(ctx.memTotalBytes)} RAM; the budget is ${budget} % → at most ${formatInt(cap)} entries.`, {
        severity: share > 25 ? 'error' : 'warning',
        fixes: reportOnly ? [] : [setValueFix(a, String(cap), `Set to ${cap} (within the ${budget} % budget)`, true)],
      });
    } else if (v < def.max / 2) {
      emit('max-below-default', a, range, `${formatInt(v)} is below half the kernel's own default for this host (${formatInt(def.max)}: ${def.rule}): the table fills sooner than it would untouched.`, {
        fixes: reportOnly ? [] : [setValueFix(a, String(def.max), `Set to ${def.max} (kernel default here)`, true)],
      });
    }
  } else if (v > OFFLINE_HUGE_MAX) {
    emit('max-exceeds-memory', a, range, `A full table of ${formatInt(v)} entries needs ~${formatBytes(tableMemoryBytes(v, v, objSize))} of unswappable kernel memory (${objNote}); check the host's RAM (the budget is ${DEFAULT_MEMORY_BUDGET_PERCENT} % of MemTotal).`);
  } else if (v < SMALLEST_COMMON_DEFAULT_MAX) {
    emit('max-below-default', a, range, `${formatInt(v)} is below the kernel's default on any host with ≥ 1 GiB RAM (65,536 for 1–4 GiB, 262,144 above 4 GiB): the table fills sooner than it would untouched.`, {
      fixes: reportOnly ? [] : [setValueFix(a, '262144', 'Set to 262144 (default above 4 GiB RAM)', true)],
    });
  }
  // Chain length against the buckets the host will have.
  if (cache.buckets === undefined) {
    const hashsize = options.boot ? configuredHashsize(options.boot) : undefined;
    cache.buckets = ctx.liveBuckets !== undefined
      ? { value: ctx.liveBuckets, source: 'live value' }
      : (bucketsFromFiles(files) ?? (hashsize ? { value: hashsize.value, source: `hashsize= in ${hashsize.path}` } : null));
  }
  const buckets = cache.buckets ?? undefined;
  if (buckets !== undefined) {
    const avg = averageChainWhenFull(v, buckets.value);
    if (avg > LONG_CHAIN_AVERAGE) {
      const suggested = Math.min(v, 2 ** Math.ceil(Math.log2(v)));
      emit('hash-chains-long', a, range, `${formatInt(v)} entries over ${formatInt(buckets.value)} buckets (${buckets.source}) average ${avg.toFixed(0)} entries per chain when full (each entry is hashed twice); lookups slow down and inserts fail past 64 (\`chaintoolong\`). Use buckets ≈ max (the default since 5.15): \`options nf_conntrack hashsize=${suggested}\` in ${MODPROBE_FILE}.`);
    }
  }
}

function bucketsFromFiles(files: readonly ParsedSysctlFile[]): { value: number; source: string } | undefined {
  for (const f of files) {
    for (const l of f.doc.lines) {
      if (l.kind === 'assignment' && l.normalizedKey === BUCKETS_KEY) {
        const n = parseKernelInt(l.value.text);
        if (n) return { value: n.value, source: `${f.path}:${l.line + 1}` };
      }
    }
  }
  return undefined;
}

function checkDuplicates(lines: readonly SysctlLine[], emit: Emit): void {
  const last = new Map<string, Assignment>();
  // The line that sets the key is the last one the kernel accepts: a refused later write leaves it in force.
  for (const l of lines) if (l.kind === 'assignment' && !l.glob && !writeFails(l)) last.set(canonicalKey(l.normalizedKey), l);
  for (const l of lines) {
    if (l.kind !== 'assignment' || l.glob) continue;
    const winner = last.get(canonicalKey(l.normalizedKey));
    if (!winner || winner === l || winner.line < l.line) continue;
    emit('duplicate-key', l, lineRange(l), `\`${l.normalizedKey}\` is set again on line ${winner.line + 1} (\`${winner.value.text}\`), which wins: this line has no effect.`, {
      unnecessary: true,
      fixes: [fix('Remove this line', [deleteLine(l.line)], true)],
      related: [],
    });
  }
}

function checkPrecedence(file: ParsedSysctlFile, precedence: ReadonlyMap<Loader, ReturnType<typeof computePrecedence>>, emit: Emit): void {
  // For each key this file sets (its effective line), who wins under each loader that reads the file?
  const mine = new Map<string, Assignment>();
  for (const l of file.doc.lines) if (l.kind === 'assignment' && !l.glob && !writeFails(l)) mine.set(canonicalKey(l.normalizedKey), l);
  for (const [key, l] of mine) {
    const readers: Loader[] = [];
    const lost: { loader: Loader; winner: Occurrence }[] = [];
    for (const [loader, p] of precedence) {
      const occ = p.byKey.get(key) ?? [];
      if (!occ.some((o) => o.contentPath === file.path && o.assignment.line === l.line)) continue; // loader does not read this file
      readers.push(loader);
      const win = effectiveOf(occ);
      if (win && !(win.contentPath === file.path && win.assignment.line === l.line)) lost.push({ loader, winner: win });
    }
    const others = lost.filter((v) => v.winner.assignment.value.text !== l.value.text);
    if (others.length === 0) continue; // not overridden, or overridden with the same value: harmless
    const all = others.length === readers.length;
    const parts = others.map((v) => {
      const link = v.winner.path !== v.winner.contentPath ? ` (read through ${v.winner.path})` : '';
      return `under ${loaderLabel[v.loader]} by ${v.winner.contentPath}:${v.winner.assignment.line + 1}${link} (\`${v.winner.assignment.value.text}\`)`;
    });
    const winsUnder = readers.filter((r) => !others.some((o) => o.loader === r));
    const myPaths = new Set<string>();
    for (const [loader, p] of precedence) {
      if (!others.some((o) => o.loader === loader)) continue;
      for (const o of p.byKey.get(key) ?? []) if (o.contentPath === file.path && o.path !== file.path) myPaths.add(o.path);
    }
    const viaLink = myPaths.size > 0 ? ` This file is read as ${[...myPaths].join(', ')}, and a file sorting after that name wins.` : '';
    const disagree = winsUnder.length > 0 ? ` The loaders disagree: under ${winsUnder.map((r) => loaderLabel[r]).join(' and ')} this line wins.` : '';
    emit('overridden', l, lineRange(l), `\`${l.normalizedKey} = ${l.value.text}\` is overridden ${parts.join('; ')}.${viaLink}${disagree}`, {
      unnecessary: all,
      related: others.map((v) => ({ path: v.winner.contentPath, range: lineRange(v.winner.assignment), message: `wins under ${loaderLabel[v.loader]}` })),
    });
  }
}

function checkLoaded(file: ParsedSysctlFile, files: readonly ParsedSysctlFile[], loaders: readonly Loader[], emit: Emit): void {
  const first = file.doc.lines.find((l): l is Assignment => l.kind === 'assignment');
  if (!first) return;
  const notes: string[] = [];
  for (const loader of loaders) {
    const plan = planLoader(loader, files);
    const skip = plan.skipped.find((s) => s.path === file.path);
    if (!skip) continue;
    const label = loaderLabel[loader];
    if (skip.reason === 'shadowed') notes.push(`${label} skips it: ${skip.by ?? 'a file with the same name'} shadows it`);
    else if (skip.reason === 'masked') notes.push(`${label} skips it: it is masked (link to /dev/null)`);
    else if (skip.reason === 'not-conf') notes.push(`${label} reads only *.conf files`);
    else if (file.path === '/etc/sysctl.conf') notes.push(`${label} does not read /etc/sysctl.conf unless /etc/sysctl.d/99-sysctl.conf links to it, and that link is missing`);
    else notes.push(`${label} does not read this directory`);
  }
  if (notes.length === 0) return;
  emit('file-not-loaded', first, lineRange(first), `At boot, ${notes.join('; ')}: the settings of this file are not applied by that loader.`);
}

function checkBoot(file: ParsedSysctlFile, boot: BootFacts, emit: Emit, eol: string): void {
  if (boot.conntrackBuiltin) return;
  const first = file.doc.lines.find((l): l is Assignment => l.kind === 'assignment' && !l.glob && (l.normalizedKey.startsWith('net.netfilter.nf_conntrack') || l.normalizedKey === MAX_ALIAS));
  if (!first) return;
  if (conntrackLoadedBy(boot)) return;
  const hashsize = configuredHashsize(boot);
  const extra = hashsize ? ` (${hashsize.path} sets options for nf_conntrack, but options do not load a module)` : '';
  emit('module-not-loaded-at-boot', first, lineRange(first), `At boot the sysctl loader runs before nf_conntrack is loaded unless modules-load.d loads it${extra}; /proc/sys/net/netfilter does not exist yet, the keys are skipped silently, and \`sysctl -p\` by hand later "works". Add \`nf_conntrack\` to ${MODULES_LOAD_FILE}.`, {
    fixes: [fix(`Create ${MODULES_LOAD_FILE}`, [], true, [{ path: MODULES_LOAD_FILE, content: `# Load conntrack before systemd-sysctl applies net.netfilter.* keys (conntrack-doctor)${eol}nf_conntrack${eol}` }])],
  });
}

function checkDrift(file: ParsedSysctlFile, precedence: ReadonlyMap<Loader, ReturnType<typeof computePrecedence>>, live: ReadonlyMap<string, string>, emit: Emit, inNetns: boolean): void {
  for (const l of file.doc.lines) {
    if (l.kind !== 'assignment' || l.glob) continue;
    const key = canonicalKey(l.normalizedKey);
    // Global keys cannot be set from a netns at all: global-key-in-netns says so; drift would be noise.
    if (inNetns && lookupKey(key)?.scope === 'init') continue;
    const liveValue = live.get(key);
    if (liveValue === undefined) continue;
    // Only the line that wins under every loader that reads it speaks for the file set.
    let wins = false;
    let loses = false;
    for (const p of precedence.values()) {
      const occ = p.byKey.get(key) ?? [];
      const win = effectiveOf(occ);
      if (!win) continue;
      if (win.contentPath === file.path && win.assignment.line === l.line) wins = true;
      else if (occ.some((o) => o.contentPath === file.path)) loses = true;
    }
    if (!wins || loses) continue;
    const norm = (s: string): string => s.trim().split(/\s+/).join(' ');
    const fileInt = parseKernelInt(l.value.text);
    const same = fileInt ? String(fileInt.value) === norm(liveValue) : norm(l.value.text) === norm(liveValue);
    if (same) continue;
    emit('drift', l, spanRange(l.line, l.value), `The files set \`${l.value.text}\` but the live value is \`${liveValue}\`: not applied since it was written, changed at runtime, or overwritten (kube-proxy, Docker, a boot-order problem).`, {
      severity: 'warning',
    });
  }
}
