/**
 * The sysctl linter: every rule of rules.ts over a set of files, with the host context when
 * there is one (live keys and values, RAM, netns, boot files). Pure: callers read the files.
 */
import type { DocRef, Range, Severity } from '../types';
import type { LintFix, TextEdit } from '../fix/model';
import {
  DEFAULT_MEMORY_BUDGET_PERCENT, ESTIMATED_OBJ_SIZE, averageChainWhenFull, defaultSizing, maxWithinBudget, parseKernelVersion, tableMemoryBytes,
} from '../sizing';
import { formatBytes, formatDuration, formatInt, formatPercent } from '../format';
import { BUCKETS_KEY, ESTABLISHED_KEY, KUBE_PROXY_ESTABLISHED_TIMEOUT, LONG_CHAIN_AVERAGE, MAX_KEY, OPS_GUIDE_ESTABLISHED_TIMEOUT } from '../facts';
import {
  CATALOG, LEGACY_KEYS, MAX_ALIAS, MAX_PORTABLE_TIMEOUT, canonicalKey, isNetfilterKey, lookupKey, suggestKey, type KeyInfo,
} from './catalog';
import { KEY_CATALOG_KERNEL, KEY_CATALOG_SOURCE_RELEASE, lookupSysctl, suggestSysctlKey, type SysctlKeyInfo } from './keyCatalog';
import { kernelWrite, normalizeLiveValue, valueShape, type ValueShape } from './kernelWrite';
import { detectTemplate, type TemplateInfo } from './template';
import { LOADERS, SYSCTL_CONF, computePrecedences, keyedAssignments, effectiveOf, resolveLink, isLoaderPath, isVendorPath, loaderLabel, planLoader, type Loader, type Occurrence, type ParsedSysctlFile, type Precedence, type SysctlFile } from './loaders';
import { MODULES_LOAD_FILE, MODPROBE_FILE, OPENWRT_MODULES_DIR, OPENWRT_MODULES_FILE, conntrackLoadedBy, configuredHashsize, type BootFacts } from './boot';
import { RULES, ruleDoc, type RuleCode } from './rules';
import { MAX_VALUE_LENGTH, inlineCommentOffset, lineRange, parseSysctl, spanRange, suppressedCodes, type Assignment, type SysctlLine } from './syntax';
import { kernelReadInts, parseKernelInt, readShorthandFor, type KernelInt } from './values';

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

const TW_RECYCLE = 'net.ipv4.tcp_tw_recycle';
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
  /** False once the line is found dead: advice (ADVICE) about it would be dropped, so checks skip building it. */
  advises(line: SysctlLine): boolean;
}

/** Shared by every finding without fixes or related locations, and one doc reference per rule: a mistake-heavy file has thousands. */
const NO_FIXES: readonly LintFix[] = Object.freeze([]);
const NO_RELATED: readonly RelatedLocation[] = Object.freeze([]);
const DOCS = new Map<RuleCode, DocRef>();
function docOf(code: RuleCode): DocRef {
  let d = DOCS.get(code);
  if (!d) {
    d = Object.freeze(ruleDoc(code));
    DOCS.set(code, d);
  }
  return d;
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
  // Built on first use: a file linted alone (the editor offline) needs no index of who wins.
  let precedenceIndex: Map<Loader, Precedence> | undefined;
  const precedence = (): Map<Loader, Precedence> => (precedenceIndex ??= computePrecedences(loaders, parsed));
  const findings: LintFinding[] = [];
  const cache: RunCache = {
    suggestions: new Map(),
    livePool: ctx.liveKeys && ctx.liveKeys.size > 0 ? [...ctx.liveKeys] : undefined,
  };

  const paths = new Set(parsed.map((f) => f.path));
  for (const file of parsed) {
    if (!targets.has(file.path)) continue;
    // A link (99-sysctl.conf -> ../sysctl.conf) is linted through its target when both are here.
    if (file.unreadable === undefined && file.linkTarget !== undefined && paths.has(resolveLink(file.path, file.linkTarget))) continue;
    const lines = file.doc.lines;
    // Lines found dead (a duplicate, overridden under every loader) before the value checks run:
    // advice about their values would be noise, so it is never built.
    const dead = new Set<number>();
    const emit: Emit = Object.assign((code: RuleCode, line: SysctlLine, range: Range, message: string, extra: Parameters<Emit>[4] = {}) => {
      if (dead.has(line.line) && ADVICE.has(code)) return;
      const meta = RULES.get(code);
      if (!meta) throw new Error(`unknown rule ${code}`);
      const above = lines[line.line - 1];
      if (above?.kind === 'comment' && suppressedCodes(above).has(code)) return;
      if (extra.unnecessary) dead.add(line.line);
      const severity = extra.severity ?? meta.severity;
      const unnecessary = extra.unnecessary ?? false;
      const fixes = extra.fixes && extra.fixes.length > 0 ? extra.fixes : NO_FIXES;
      const related = extra.related && extra.related.length > 0 ? extra.related : NO_RELATED;
      findings.push(line.kind === 'assignment' || line.kind === 'exclusion'
        ? { path: file.path, code, key: line.normalizedKey, severity, message, range, unnecessary, fixes, related, doc: docOf(code) }
        : { path: file.path, code, severity, message, range, unnecessary, fixes, related, doc: docOf(code) });
    }, { advises: (line: SysctlLine) => !dead.has(line.line) });
    if (file.unreadable !== undefined) {
      const at = { kind: 'blank', line: 0, text: '' } as const;
      emit('file-unreadable', at, lineRange(at), `${file.path} is ${file.unreadable}: its settings (if any) were not read, so nothing here is judged.`);
      continue;
    }
    // A file in a loader directory without `.conf` (README.sysctl, a backup) is read by no loader:
    // only say so (file-not-loaded, when it has settings), do not lint its lines.
    if (isLoaderPath(file.path) && file.path !== SYSCTL_CONF && !file.path.endsWith('.conf')) {
      checkLoaded(file, parsed, loaders, emit);
      continue;
    }
    const template = detectTemplate(lines.map((l) => l.text));
    if (template) checkTemplate(file, template, emit);
    // Lines whose value the kernel refuses: they set nothing, so they never win or make others dead.
    const refused = new Set<number>();
    for (const k of keyedAssignments(file.doc)) if (!k.accepted) refused.add(k.assignment.line);
    checkDuplicates(lines, emit, template, refused);
    if (isLoaderPath(file.path)) {
      // Alone, a file's last accepted line for a key is what every loader reading it applies: nothing overrides it.
      if (parsed.length > 1) checkPrecedence(file, precedence(), emit, refused);
      checkLoaded(file, parsed, loaders, emit);
    }
    for (const line of lines) {
      if (template?.templated.has(line.line)) continue;
      if (line.kind === 'invalid') checkInvalid(line, emit);
      else if (line.kind === 'assignment') checkAssignment(line, emit, ctx, options, parsed, cache);
    }
    if (options.boot) checkBoot(file, options.boot, emit, file.doc.eol);
    if (ctx.liveValues) checkDrift(file, precedence(), ctx.liveValues, emit, ctx.initialNetns === false);
  }
  return findings.sort(
    (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || a.range.startLine - b.range.startLine || a.range.startCol - b.range.startCol || (a.code < b.code ? -1 : 1),
  );
}

/** Convenience for one file without context (the editor's offline case). */
export function lintText(path: string, content: string, options: LintOptions = {}): LintFinding[] {
  return lintFiles([{ path, content }], options);
}

/** Advice about a value: noise on a line that does nothing (a dead key, a duplicate, overridden everywhere). */
const ADVICE: ReadonlySet<RuleCode> = new Set<RuleCode>([
  'established-timeout-long', 'timeout-too-short', 'max-below-default', 'max-exceeds-memory', 'hash-chains-long', 'tcp-loose-off',
  'checksum-off', 'max-unlimited', 'timeout-not-portable', 'buckets-via-sysctl', 'pages-not-bytes', 'octal-value', 'tcp-tw-recycle',
]);

function checkTemplate(file: ParsedSysctlFile, t: TemplateInfo, emit: Emit): void {
  const line = file.doc.lines[t.line];
  if (!line) return;
  // In a directory a loader reads, the file is applied as it is: every templated line fails.
  const onHost = isLoaderPath(file.path);
  emit('unrendered-template', line, { startLine: t.line, startCol: t.col, endLine: t.line, endCol: line.text.length },
    `This is an unrendered ${t.engine} template (${t.templated.size} line${t.templated.size === 1 ? '' : 's'} of template code): render it first and lint the result. Templated lines are not checked, and lines inside conditional blocks are not called duplicates.${onHost ? ' A loader reading this file as it is skips or fails every templated line.' : ''}`,
    { severity: onHost ? 'warning' : 'info' });
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

/** Why a line's key cannot take effect; value checks on such a line would be noise. */
type DeadKey = 'legacy' | 'unknown' | 'removed' | 'read-only';

function hostKeyList(ctx: HostContext): ReadonlySet<string> | undefined {
  return ctx.liveKeys && ctx.liveKeys.size > 0 ? ctx.liveKeys : undefined;
}

/** How sure the catalogue is: named in messages so a reader knows what "unknown" was checked against. */
const CATALOG_BASIS = `Linux ${KEY_CATALOG_SOURCE_RELEASE} sources and a ${KEY_CATALOG_KERNEL.replace(/-.*$/, '')} kernel`;

function checkKeyExists(a: Assignment, emit: Emit, ctx: HostContext, cache: RunCache, keyRange: Range, known: SysctlKeyInfo | undefined): DeadKey | undefined {
  const key = a.normalizedKey;
  const canonical = canonicalKey(key);
  const live = hostKeyList(ctx);
  const inCatalogue = (known !== undefined && known.removedIn === undefined) || CATALOG.has(canonical);
  if (live ? live.has(key) || live.has(canonical) : inCatalogue) return undefined;
  const ignored = a.ignoreFailure ? ' (systemd-sysctl ignores the failure because of the `-` prefix; procps 4.0.2 still reports it)' : '';
  const removeFix = [fix('Remove this line', [deleteLine(a.line)], true)];
  if (known?.removedIn !== undefined) {
    const host = live ? ' and this host\'s kernel does not have it' : '';
    const gone = known.removedIn === 'distribution'
      ? `\`${key}\` never existed in mainline Linux, so on a mainline kernel the write fails${ignored} and the line does nothing. ${known.summary ?? 'A distribution patch.'}`
      : known.movedTo
        ? `\`${key}\` left sysctl in Linux ${known.removedIn}${host}: it is \`${known.movedTo}\` in debugfs now, and the write fails${ignored}, so the line does nothing. ${known.summary ?? ''}`
        : `\`${key}\` was removed in Linux ${known.removedIn}${host}: the write fails${ignored} and the line does nothing. ${known.summary ?? ''}`;
    const nat = canonical === TW_RECYCLE && /^\s*[1-9]/.test(a.value.text) ? ' On older kernels that still have it, `= 1` drops SYNs from clients behind NAT.' : '';
    emit('removed-key', a, keyRange, `${gone.trim()}${nat}`, { severity: a.ignoreFailure ? 'info' : 'warning', fixes: removeFix, unnecessary: true });
    return 'removed';
  }
  const suggestion = suggestionFor(key, cache);
  const hint = suggestion ? ` Did you mean \`${suggestion}\`?` : '';
  const fixes = suggestion ? [fix(`Change to ${suggestion}`, [replaceSpan(a.line, a.key.start, a.key.end, suggestion)], true)] : [];
  const severity: Severity = a.ignoreFailure ? 'info' : 'warning';
  if (live) {
    const ct = CATALOG.get(canonical);
    const why = ct?.availability ? ` (${ct.availability})` : ct ? ' (nf_conntrack not loaded, or a protocol tracker not built in)' : known ? ' (a module not loaded, or an option this kernel was built without)' : '';
    emit('unknown-key', a, keyRange, `\`${key}\` does not exist on this host${known ? '\'s kernel' : ''}${why}: the write fails${ignored}.${hint}`, { severity, fixes });
  } else if (isNetfilterKey(key)) {
    emit('unknown-key', a, keyRange, `\`${key}\` is not a conntrack sysctl: the write fails${ignored}.${hint}`, { severity, fixes });
  } else {
    emit('unknown-key', a, keyRange, `\`${key}\` is not a sysctl of Linux (checked against the ${CATALOG_BASIS}): the write fails${ignored} ("cannot stat /proc/sys/…: No such file or directory").${hint || ' A key of an out-of-tree module or a vendor kernel is only known on its host: connect to it to check.'}`, { severity, fixes });
  }
  return 'unknown';
}

function suggestionFor(key: string, cache: RunCache): string | undefined {
  if (cache.suggestions.has(key)) return cache.suggestions.get(key);
  let suggestion: string | undefined;
  if (cache.livePool && cache.livePool.length > 0) suggestion = suggestSysctlKey(key, cache.livePool);
  else if (isNetfilterKey(key)) suggestion = suggestKey(key);
  if (suggestion === undefined && !cache.livePool) suggestion = suggestSysctlKey(key);
  cache.suggestions.set(key, suggestion);
  return suggestion;
}

function checkAssignment(a: Assignment, emit: Emit, ctx: HostContext, options: LintOptions, files: readonly ParsedSysctlFile[], cache: RunCache): void {
  const keyRange = spanRange(a.line, a.key);
  if (a.value.text.length > MAX_VALUE_LENGTH) {
    emit('value-too-long', a, spanRange(a.line, a.value), `Value is ${formatInt(a.value.text.length)} characters; loaders accept at most ${MAX_VALUE_LENGTH}.`);
  }
  if (a.glob) return;
  const key = a.normalizedKey;

  // Key existence. A line whose key cannot take effect gets no value advice: it is dead.
  const legacy = LEGACY_KEYS.get(key);
  if (legacy) {
    emit('legacy-key', a, keyRange, `\`${key}\` was removed with the old ip_conntrack module and does not exist on current kernels: the line does nothing. Use \`${legacy}\`.`, {
      fixes: [fix(`Rename to ${legacy}`, [replaceSpan(a.line, a.key.start, a.key.end, legacy)], true)],
      unnecessary: true,
    });
    return;
  }
  if (key === MAX_ALIAS) {
    emit('key-alias', a, keyRange, `\`${MAX_ALIAS}\` is an alias of \`${MAX_KEY}\` that exists only in the initial network namespace; inside a container or netns the write fails.`, {
      fixes: [fix(`Rename to ${MAX_KEY}`, [replaceSpan(a.line, a.key.start, a.key.end, MAX_KEY)], true)],
    });
  }
  const canonical = canonicalKey(key);
  const known = lookupSysctl(canonical);
  const info: KeyInfo | undefined = CATALOG.get(canonical);
  if (checkKeyExists(a, emit, ctx, cache, keyRange, known)) return;
  if (info?.scope === 'read-only' || known?.readOnly) {
    const what = info?.scope === 'read-only' ? ' (it reports the current number of entries)' : ' (a value the kernel reports)';
    emit('read-only-key', a, keyRange, `\`${key}\` is read-only${what}: even root gets "Permission denied"; systemd-sysctl skips the line silently, procps reports it.`, { fixes: [fix('Remove this line', [deleteLine(a.line)], true)], unnecessary: true });
    return;
  }
  if (info && ctx.initialNetns === false && info.scope === 'init') {
    emit('global-key-in-netns', a, keyRange, `\`${info.key}\` is one global value, read-only inside this network namespace: \`sysctl -w\` prints "Invalid argument" yet exits 0. Set it on the host (initial namespace).`);
  }

  // Values.
  const value = a.value.text;
  const shape = valueShape(canonical);
  if (value.length === 0) {
    if (shape?.kind === 'int') emit('empty-value', a, keyRange, `\`${key}\` takes ${numbersPhrase(shape.count)}; an empty value is refused.`, { severity: 'error' });
    else emit('empty-value', a, keyRange, `\`${key}\` is set to an empty string.`);
    return;
  }
  if (canonical === TW_RECYCLE && /^\s*[1-9]/.test(value)) {
    emit('tcp-tw-recycle', a, spanRange(a.line, a.value), 'tcp_tw_recycle = 1 drops SYNs from clients behind NAT (it compares per-host TCP timestamps, which NATed clients do not share); Linux 4.12 removed it for that reason. Use 0, or delete the line.', {
      fixes: [setValueFix(a, '0', 'Set to 0', true)],
    });
  }
  const comment = checkInlineComment(a, shape, emit);
  if (comment?.refused) return;
  const text = comment ? comment.clean : value;
  const span = { start: a.value.start, end: a.value.start + text.length };
  if (info) checkInteger(a, text, info, emit, ctx, options, files, cache, span);
  else if (shape?.kind === 'int') checkIntegers(a, text, shape, known, emit, ctx, span);
}

function numbersPhrase(count: number): string {
  return count === 1 ? 'a whole number' : `${count} whole numbers`;
}

/**
 * `key = value # text`: there are no inline comments, so what happens depends on the key
 * (measured on Linux 6.18 with procps 4.0.2 and systemd-sysctl alike, test/integration/sysctlKernel.test.ts):
 * an integer key reads its numbers and ignores the rest (applied: fragile); a `#` glued to the
 * number, or a multi-number key given fewer numbers, is refused; a string key stores the text.
 */
function checkInlineComment(a: Assignment, shape: ValueShape | undefined, emit: Emit): { clean: string; refused: boolean } | undefined {
  const value = a.value.text;
  if (value.indexOf('#') < 0 && value.indexOf(';') < 0) return undefined;
  let at = inlineCommentOffset(value);
  let verdict: { severity: Severity; consequence: string; refused: boolean } | undefined;
  if (shape?.kind === 'int') {
    const glued = /^-?\w+[#;]/.exec(value);
    if (at < 0 && glued) at = glued[0].length - 1;
    if (at < 0) return undefined;
    const r = kernelReadInts(value, shape.count);
    if (r.ok) {
      const fragile = shape.count === 1 ? 'with the `#` glued to the number it would refuse the write' : 'with a number fewer it would read the comment as a number and refuse the write';
      verdict = { severity: 'warning', refused: false, consequence: `the kernel applies ${r.values.map((v) => v.value).join(' ')} and never reads the rest. That works by accident: ${fragile}` };
    } else if (r.reason === 'glued' || (r.reason === 'not-a-number' && r.at === 0)) {
      verdict = { severity: 'error', refused: true, consequence: 'the kernel refuses the value (Invalid argument) and the setting is not applied' };
    } else {
      verdict = { severity: 'error', refused: true, consequence: `\`${shortKey(a.normalizedKey)}\` takes ${shape.count} numbers and the comment is read as number ${r.at + 1}: the kernel refuses the value (Invalid argument) and the setting is not applied` };
    }
  } else {
    if (at < 0) return undefined;
    verdict = shape?.kind === 'string'
      ? { severity: 'error', refused: false, consequence: `the kernel stores \`${value}\`, comment included, as the value` }
      : { severity: 'warning', refused: false, consequence: `\`${value.slice(at)}\` is written as part of the value (an integer key ignores it after its numbers; a string key stores it)` };
  }
  const clean = value.slice(0, at).trimEnd();
  const commentText = value.slice(at);
  const indent = /^\s*/.exec(a.text)?.[0] ?? '';
  emit('inline-comment', a, { startLine: a.line, startCol: a.value.start + at, endLine: a.line, endCol: a.value.end }, `sysctl files have no inline comments: the value is \`${value}\`, so ${verdict.consequence}. Put the comment on its own line.`, {
    severity: verdict.severity,
    fixes: [
      fix('Move the comment to the line above', [
        replaceSpan(a.line, 0, 0, `${indent}${commentText.startsWith(';') ? '#' + commentText.slice(1) : commentText}\n`),
        replaceSpan(a.line, a.value.start, a.value.end, clean),
      ], true),
    ],
  });
  return { clean, refused: verdict.refused };
}

function shortKey(key: string): string {
  return key.slice(key.lastIndexOf('.') + 1);
}

/** Integer keys outside the conntrack catalogue: what the kernel parses, octal, and units. */
function checkIntegers(a: Assignment, text: string, shape: ValueShape, known: SysctlKeyInfo | undefined, emit: Emit, ctx: HostContext, span: { start: number; end: number }): void {
  const range: Range = { startLine: a.line, startCol: span.start, endLine: a.line, endCol: span.end };
  const r = kernelReadInts(text, shape.count);
  const reportOnly = text !== a.value.text;
  if (!r.ok) {
    emit('not-an-integer', a, range, `\`${a.normalizedKey}\` takes ${numbersPhrase(shape.count)}${known?.unit ? ` (${known.unit})` : ''}; the kernel refuses \`${text}\` (Invalid argument).`);
    return;
  }
  if (r.ignored.length > 0 && !reportOnly) {
    emit('not-an-integer', a, range, `\`${a.normalizedKey}\` takes ${numbersPhrase(shape.count)}: the kernel applies ${r.values.map((v) => v.value).join(' ')} and ignores \`${r.ignored}\`.`, {
      severity: 'warning',
      fixes: [setValueFix(a, r.values.map((v) => v.value).join(' '), `Keep only ${r.values.map((v) => v.value).join(' ')}`, true)],
    });
  }
  checkOctal(a, r.values, emit, range, reportOnly);
  if (known?.unit === 'pages') checkPages(a, r.values.map((v) => v.value), emit, ctx, range);
}

function checkOctal(a: Assignment, values: readonly KernelInt[], emit: Emit, range: Range, reportOnly: boolean): void {
  if (!emit.advises(a) || !values.some((v) => v.form === 'octal')) return;
  const written = a.value.text.split(/\s+/);
  const asRead = values.map((v) => String(v.value)).join(' ');
  const meant = written.slice(0, values.length).map((w) => w.replace(/^(-?)0+(?=\d)/, '$1')).join(' ');
  emit('octal-value', a, range, `The kernel reads numbers with a leading 0 as octal: it applies ${asRead}, not ${meant}.`, {
    fixes: reportOnly ? [] : [setValueFix(a, asRead, `Replace with ${asRead} (what the kernel reads)`, false), setValueFix(a, meant, `Replace with ${meant}`, true)],
  });
}

/** Page size assumed for the pages-not-bytes arithmetic (4 KiB on x86-64 and most arm64 builds). */
const PAGE_SIZE = 4096;
/** A per-socket byte size (tcp_rmem/tcp_wmem style) starts with 4096 and then tens of KiB. */
const SOCKET_BUFFER_SHAPE = (v: readonly number[]): boolean => v.length === 3 && v[0] === PAGE_SIZE && (v[1] ?? 0) >= 16384 && (v[1] ?? 0) <= (v[2] ?? 0);
/** 2^24 pages = 64 GiB: more TCP/UDP buffer memory than all but the largest hosts have. */
const OFFLINE_SUSPICIOUS_PAGES = 2 ** 24;

function checkPages(a: Assignment, values: readonly number[], emit: Emit, ctx: HostContext, range: Range): void {
  const max = Math.max(...values);
  const asBytes = (n: number): string => formatBytes(n * PAGE_SIZE);
  const k = shortKey(a.normalizedKey);
  if (SOCKET_BUFFER_SHAPE(values)) {
    emit('pages-not-bytes', a, range, `\`${k}\` is counted in pages (4 KiB), for all sockets together; \`${a.value.text}\` has the shape of tcp_rmem/tcp_wmem (bytes per socket) and means ${values.map(asBytes).join(' / ')}. Leave it at the kernel's default (sized from RAM at boot) or give pages.`);
  } else if (ctx.memTotalBytes !== undefined && max * PAGE_SIZE > ctx.memTotalBytes) {
    emit('pages-not-bytes', a, range, `\`${k}\` is counted in pages (4 KiB): ${formatInt(max)} pages = ${asBytes(max)}, more than the host's ${formatBytes(ctx.memTotalBytes)} RAM. Were these bytes?`);
  } else if (ctx.memTotalBytes === undefined && max >= OFFLINE_SUSPICIOUS_PAGES) {
    emit('pages-not-bytes', a, range, `\`${k}\` is counted in pages (4 KiB): ${formatInt(max)} pages = ${asBytes(max)}. If that was meant as bytes, divide by 4096.`, { severity: 'info' });
  }
}

function checkInteger(
  a: Assignment, text: string, info: KeyInfo, emit: Emit, ctx: HostContext, options: LintOptions, files: readonly ParsedSysctlFile[], cache: RunCache,
  span: { start: number; end: number },
): void {
  const range: Range = { startLine: a.line, startCol: span.start, endLine: a.line, endCol: span.end };
  const read = kernelReadInts(text, 1);
  const reportOnly = text !== a.value.text; // inline comment already reported: don't offer overlapping edits
  if (!read.ok) {
    const guess = readShorthandFor(info.unit, text);
    emit('not-an-integer', a, range, `\`${info.key}\` takes a whole number${info.unit === 'seconds' ? ' of seconds' : ''}; \`${text}\` is refused by the kernel (Invalid argument).${guess !== undefined ? ` Did you mean ${guess}?` : ''}`, {
      fixes: guess !== undefined && !reportOnly ? [setValueFix(a, String(guess), `Replace with ${guess}`, false)] : [],
    });
    return;
  }
  const parsed = read.values[0];
  if (!parsed) return;
  if (read.ignored.length > 0 && !reportOnly) {
    const guess = readShorthandFor(info.unit, text);
    const meant = guess !== undefined && guess !== parsed.value ? ` Did you mean ${guess}?` : '';
    emit('not-an-integer', a, range, `\`${info.key}\` takes a whole number${info.unit === 'seconds' ? ' of seconds' : ''}: the kernel applies ${parsed.value} and ignores \`${read.ignored}\`.${meant}`, {
      severity: 'warning',
      fixes: [setValueFix(a, String(parsed.value), `Keep only ${parsed.value}`, meant === ''), ...(meant ? [setValueFix(a, String(guess), `Replace with ${guess}`, false)] : [])],
    });
  }
  checkOctal(a, read.values, emit, range, reportOnly);
  const v = parsed.value;
  if (v < info.min || v > info.max) {
    const range_ = info.unit === 'boolean' ? '0 or 1' : `${formatInt(info.min)}–${formatInt(info.max)}`;
    emit('out-of-range', a, range, `\`${info.key}\` accepts ${range_}; ${v} is refused by the kernel.`);
    return;
  }
  if (!emit.advises(a)) return; // every check below is advice
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
    const pressure = ctx.usagePercent !== undefined && ctx.usagePercent >= 75 ? ` The table is ${formatPercent(ctx.usagePercent)} full right now.` : '';
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
  } else if (v < SMALLEST_COMMON_DEFAULT_MAX / 2) {
    // RAM unknown: small devices (routers, ≤ 1 GiB) default to far less, so this is a question, not a fault.
    emit('max-below-default', a, range, `${formatInt(v)} is below half the kernel's default on hosts with ≥ 1 GiB RAM (65,536 for 1–4 GiB, 262,144 above 4 GiB). Right for a small device (with ≤ 1 GiB the default is RAM / 16384 / 8, e.g. 1,024 on 128 MiB); on a server the table fills sooner than it would untouched.`, {
      severity: 'info',
      fixes: reportOnly ? [] : [setValueFix(a, '262144', 'Set to 262144 (default above 4 GiB RAM)', false)],
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

function checkDuplicates(lines: readonly SysctlLine[], emit: Emit, template: TemplateInfo | undefined, refused: ReadonlySet<number>): void {
  const last = new Map<string, Assignment>();
  // Lines of a template's conditional blocks may be mutually exclusive: they are not duplicates.
  const counts = (l: SysctlLine): l is Assignment => l.kind === 'assignment' && !l.glob && !template?.templated.has(l.line) && !template?.conditional.has(l.line);
  // The line that sets the key is the last one the kernel accepts: a refused later write leaves it in force.
  for (const l of lines) if (counts(l) && !refused.has(l.line)) last.set(canonicalKey(l.normalizedKey), l);
  for (const l of lines) {
    if (!counts(l)) continue;
    const winner = last.get(canonicalKey(l.normalizedKey));
    if (!winner || winner === l || winner.line < l.line) continue;
    emit('duplicate-key', l, lineRange(l), `\`${l.normalizedKey}\` is set again on line ${winner.line + 1} (\`${winner.value.text}\`), which wins: this line has no effect.`, {
      unnecessary: true,
      fixes: [fix('Remove this line', [deleteLine(l.line)], true)],
    });
  }
}

function checkPrecedence(file: ParsedSysctlFile, precedence: ReadonlyMap<Loader, Precedence>, emit: Emit, refused: ReadonlySet<number>): void {
  // For each key this file sets (its effective line), who wins under each loader that reads the file?
  const mine = new Map<string, Assignment>();
  for (const k of keyedAssignments(file.doc)) if (!refused.has(k.assignment.line)) mine.set(k.key, k.assignment);
  for (const [key, l] of mine) {
    if (!lostSomewhere(precedence, key, file.path, l)) continue; // the usual case: this line wins wherever it is read
    const readers: Loader[] = [];
    const lost: { loader: Loader; winner: Occurrence }[] = [];
    for (const [loader, p] of precedence) {
      const occ = p.byKey.get(key) ?? [];
      if (!occ.some((o) => o.contentPath === file.path && o.assignment.line === l.line)) continue; // loader does not read this file
      readers.push(loader);
      const win = effectiveOf(occ);
      if (win && !(win.contentPath === file.path && win.assignment.line === l.line)) lost.push({ loader, winner: win });
    }
    const applied = (a: Assignment): string => {
      const w = kernelWrite(a.normalizedKey, a.value.text);
      return w.accepted ? normalizeLiveValue(w.applied) : a.value.text;
    };
    const others = lost.filter((v) => applied(v.winner.assignment) !== applied(l));
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
    // A vendor default (/usr/lib/sysctl.d) overridden by the administrator (/etc) is how sysctl.d is meant to be used (sysctl.d(5)).
    const vendorDefault = isVendorPath(file.path) && others.every((v) => !isVendorPath(v.winner.contentPath));
    const intended = vendorDefault ? ' A vendor default overridden from /etc or /run: the documented way to change it (sysctl.d(5)), nothing to fix here.' : '';
    emit('overridden', l, lineRange(l), `\`${l.normalizedKey} = ${l.value.text}\` is overridden ${parts.join('; ')}.${viaLink}${disagree}${intended}`, {
      ...(vendorDefault ? { severity: 'info' as const } : {}),
      unnecessary: all,
      related: others.map((v) => ({ path: v.winner.contentPath, range: lineRange(v.winner.assignment), message: `wins under ${loaderLabel[v.loader]}` })),
    });
  }
}

/** True when a loader reads this line and another line wins there (no allocation: most lines win everywhere). */
function lostSomewhere(precedence: ReadonlyMap<Loader, Precedence>, key: string, path: string, l: Assignment): boolean {
  for (const p of precedence.values()) {
    const occ = p.byKey.get(key);
    const win = effectiveOf(occ);
    if (!occ || !win || (win.contentPath === path && win.assignment.line === l.line)) continue;
    if (occ.some((o) => o.contentPath === path && o.assignment.line === l.line)) return true;
  }
  return false;
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
  // OpenWrt reads /etc/modules.d (not modules-load.d): the fix goes where the host's own lists are.
  const openwrt = boot.modulesLoad.some((f) => f.path.startsWith(`${OPENWRT_MODULES_DIR}/`));
  const target = openwrt ? OPENWRT_MODULES_FILE : MODULES_LOAD_FILE;
  const content = openwrt ? `nf_conntrack${eol}` : `# Load conntrack before systemd-sysctl applies net.netfilter.* keys (conntrack-doctor)${eol}nf_conntrack${eol}`;
  emit('module-not-loaded-at-boot', first, lineRange(first), `At boot the sysctl loader runs before nf_conntrack is loaded unless a boot-time module list (${openwrt ? '/etc/modules.d' : 'modules-load.d, /etc/modules'}) loads it${extra}; /proc/sys/net/netfilter does not exist yet, the keys are skipped silently, and \`sysctl -p\` by hand later "works". Add \`nf_conntrack\` to ${target}.`, {
    fixes: [fix(`Create ${target}`, [], true, [{ path: target, content }])],
  });
}

function checkDrift(file: ParsedSysctlFile, precedence: ReadonlyMap<Loader, Precedence>, live: ReadonlyMap<string, string>, emit: Emit, inNetns: boolean): void {
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
    // Compare what the kernel would hold after this line (`7200 # note` holds 7200) with the live value.
    const written = kernelWrite(key, l.value.text);
    if (!written.accepted || normalizeLiveValue(written.applied) === normalizeLiveValue(liveValue)) continue;
    emit('drift', l, spanRange(l.line, l.value), `The files set \`${l.value.text}\` but the live value is \`${liveValue}\`: not applied since it was written, changed at runtime, or overwritten (kube-proxy, Docker, a boot-order problem).`, {
      severity: 'warning',
    });
  }
}
