/**
 * Generates src/core/sysctl/keyCatalog.data.ts: every sysctl key the kernel has or had, with its
 * value shape (integers per write, or a string), unit, read-only flag, network-namespace
 * behaviour, default, one-line meaning, and — for keys that are gone — the version and where
 * the setting moved. Re-run it after a kernel upgrade of the reference machine or a newer
 * Debian kernel source:
 *
 *   bash scripts/catalog/fetch-kernel-source.sh            # Debian's linux-source-6.12 → /tmp/ctd-kernel-src
 *   node --import tsx scripts/catalog/generate.ts [--source DIR] [--check]
 *
 * Sources (each key records which ones know it):
 *  L  the running kernel's /proc/sys (initial netns, and a fresh netns via `unshare -n`): which
 *     keys exist on the reference kernel, their modes, and their value shape; needs root;
 *  C  the ctl_table definitions of the kernel source (procname, mode, proc_handler, and the path
 *     each table is registered under): keys of modules and options the reference kernel lacks;
 *  D  Documentation/admin-guide/sysctl/*.rst and Documentation/networking/*sysctl*.rst:
 *     meaning, type, default, "in pages";
 *  H  scripts/catalog/history.ts: removed, moved and distribution-only keys, with citations.
 * --check regenerates in memory and exits 1 if the committed file differs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { HISTORY, REFERENCE_VENDOR_KEYS } from './history';

const REPO = resolve(__dirname, '../..');
const OUT = join(REPO, 'src/core/sysctl/keyCatalog.data.ts');

const args = process.argv.slice(2);
const sourceAt = args.indexOf('--source');
const sourceDir = resolve(sourceAt >= 0 ? (args[sourceAt + 1] ?? '') : '/tmp/ctd-kernel-src/linux-source-6.12');
const check = args.includes('--check');

if (!existsSync(join(sourceDir, 'Documentation/admin-guide/sysctl'))) {
  console.error(`generate: no kernel source at ${sourceDir}; run scripts/catalog/fetch-kernel-source.sh first (or pass --source DIR)`);
  process.exit(2);
}

/** Directories whose next segment is an interface (or neighbour table) name: stored as `*`. */
const INTERFACE_DIRS = ['net.ipv4.conf', 'net.ipv6.conf', 'net.ipv4.neigh', 'net.ipv6.neigh', 'net.mpls.conf'];

function templateOf(key: string): string {
  for (const dir of INTERFACE_DIRS) {
    if (key.startsWith(`${dir}.`)) {
      const rest = key.slice(dir.length + 1);
      const dot = rest.indexOf('.');
      if (dot > 0) return `${dir}.*.${rest.slice(dot + 1)}`;
    }
  }
  return key;
}

/** `/proc/sys` path segments → dotted key (a `.` inside a segment becomes `/`, as sysctl -a prints). */
function dotted(segments: readonly string[]): string {
  return segments.map((s) => s.replace(/\./g, '/')).join('.');
}

interface Key {
  key: string;
  sources: Set<string>;
  kind?: 'int' | 'string' | 'other';
  count?: number;
  unit?: string;
  readOnly?: boolean;
  writeOnly?: boolean;
  /** 'netns': per network namespace; 'global-ro': exists in a netns but read-only there; 'init-only': absent in other netns. */
  netns?: 'netns' | 'global-ro' | 'init-only';
  def?: string;
  summary?: string;
  removedIn?: string;
  movedTo?: string;
  note?: string;
  cfile?: string;
}

const keys = new Map<string, Key>();
function entry(key: string): Key {
  let k = keys.get(key);
  if (!k) {
    k = { key, sources: new Set() };
    keys.set(key, k);
  }
  return k;
}

// ---------------------------------------------------------------------------------------------
// L: the running kernel

function uname(): string {
  return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
}

interface LiveFile { mode: number; path: string }

function listProcSys(argv: string[]): LiveFile[] {
  const out = execFileSync(argv[0] ?? 'find', argv.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.split('\n').filter(Boolean).map((l) => {
    const sp = l.indexOf(' ');
    return { mode: parseInt(l.slice(0, sp), 8), path: l.slice(sp + 1) };
  });
}

/** Value shape: n integers, or a string. */
function shapeOf(value: string): { kind: 'int' | 'string'; count: number } | undefined {
  const t = value.trim();
  if (t === '') return undefined;
  const parts = t.split(/\s+/);
  if (parts.every((p) => /^-?\d+$/.test(p))) return { kind: 'int', count: parts.length };
  return { kind: 'string', count: 1 };
}

const referenceKernel = uname();
const initial = listProcSys(['find', '/proc/sys', '-type', 'f', '-printf', '%m %P\\n']);
let netnsFiles: LiveFile[] = [];
try {
  netnsFiles = listProcSys(['unshare', '-n', 'find', '/proc/sys/net', '-type', 'f', '-printf', '%m net/%P\\n']);
} catch (err) {
  console.error(`generate: unshare -n failed (${err instanceof Error ? err.message : String(err)}); run as root`);
  process.exit(2);
}
const netnsMode = new Map<string, number>();
for (const f of netnsFiles) netnsMode.set(templateOf(dotted(f.path.split('/'))), f.mode);

for (const f of initial) {
  const segs = f.path.split('/');
  if (segs[0] === 'fs' && segs[1] === 'binfmt_misc') continue; // a filesystem, not sysctl
  const key = templateOf(dotted(segs));
  if (REFERENCE_VENDOR_KEYS.some((re) => re.test(key))) continue;
  const k = entry(key);
  k.sources.add('L');
  const writable = (f.mode & 0o222) !== 0;
  const readable = (f.mode & 0o444) !== 0;
  if (!writable) k.readOnly = true;
  if (!readable) k.writeOnly = true;
  if (key.startsWith('net.')) {
    const nm = netnsMode.get(key);
    if (nm === undefined) k.netns = 'init-only';
    else if (writable && (nm & 0o222) === 0) k.netns = 'global-ro';
    else k.netns = 'netns';
  }
  if (readable && k.kind === undefined) {
    try {
      const shape = shapeOf(readFileSync(join('/proc/sys', f.path), 'utf8'));
      if (shape) {
        k.kind = shape.kind;
        k.count = shape.count;
      }
    } catch {
      // unreadable even to root (some debug files): shape stays unknown
    }
  }
}

// ---------------------------------------------------------------------------------------------
// C: ctl_tables of the kernel source

interface CEntry { procname: string; mode?: number; handler?: string; maxlen?: string }

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) {
      if (name !== 'Documentation' && name !== 'tools' && name !== 'samples') walk(full, out);
    } else if (name.endsWith('.c')) out.push(full);
  }
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function tableEntries(body: string): CEntry[] {
  const out: CEntry[] = [];
  let i = 0;
  while (i < body.length) {
    const open = body.indexOf('{', i);
    if (open === -1) break;
    const close = matchingBrace(body, open);
    if (close === -1) break;
    const e = body.slice(open, close);
    const proc = /\.procname\s*=\s*"([^"]+)"/.exec(e);
    if (proc?.[1]) {
      const mode = /\.mode\s*=\s*(0[0-7]+)/.exec(e);
      const handler = /\.proc_handler\s*=\s*&?(\w+)/.exec(e);
      const maxlen = /\.maxlen\s*=\s*([^,\n]+)/.exec(e);
      out.push({
        procname: proc[1],
        ...(mode?.[1] ? { mode: parseInt(mode[1], 8) } : {}),
        ...(handler?.[1] ? { handler: handler[1] } : {}),
        ...(maxlen?.[1] ? { maxlen: maxlen[1].trim() } : {}),
      });
    }
    i = close + 1;
  }
  return out;
}

/** proc_handler → what a write takes. */
function handlerShape(h: string | undefined): { kind: 'int' | 'string' | 'other'; unit?: string } {
  if (!h) return { kind: 'other' };
  if (h === 'proc_dostring') return { kind: 'string' };
  if (/^proc_dointvec_jiffies$/.test(h)) return { kind: 'int', unit: 'seconds' };
  if (/^proc_dointvec_userhz_jiffies$/.test(h)) return { kind: 'int', unit: 'centiseconds' };
  if (/ms_jiffies/.test(h)) return { kind: 'int', unit: 'milliseconds' };
  if (/^proc_do(u?intvec|u8vec|ulongvec|bool)/.test(h)) return { kind: 'int' };
  return { kind: 'other' };
}

function countFromMaxlen(maxlen: string | undefined, handler: string | undefined): number | undefined {
  if (!maxlen) return undefined;
  const m = /sizeof\s*\(\s*(?:int|unsigned int|u32|long|unsigned long|u8|bool|u64)\s*\)\s*\*\s*(\d+)/.exec(maxlen) ?? /(\d+)\s*\*\s*sizeof/.exec(maxlen);
  if (m?.[1]) return Number(m[1]);
  if (/^sizeof\s*\(\s*(?:int|unsigned int|u32|long|unsigned long|u8|bool|u64|unsigned char)\s*\)$/.test(maxlen)) return 1;
  if (handler === 'proc_dou8vec_minmax' || handler === 'proc_dobool') return 1;
  return undefined;
}

const cFiles: string[] = [];
walk(sourceDir, cFiles);
let cTables = 0;
let cResolved = 0;
for (const file of cFiles) {
  const text = readFileSync(file, 'utf8');
  if (!text.includes('ctl_table')) continue;
  const tables = new Map<string, CEntry[]>();
  const tableRe = /struct\s+ctl_table\s+(\w+)\s*\[[^\]]*\]\s*(?:__\w+\s*)*=\s*\{/g;
  for (let m = tableRe.exec(text); m; m = tableRe.exec(text)) {
    const open = text.indexOf('{', m.index + m[0].length - 1);
    const close = matchingBrace(text, open);
    if (close === -1 || !m[1]) continue;
    tables.set(m[1], tableEntries(text.slice(open + 1, close)));
  }
  if (tables.size === 0) continue;
  cTables += tables.size;
  // Local variables pointing at a table (tbl = kmemdup(template, …) / table = template).
  const alias = new Map<string, string>();
  for (const m of text.matchAll(/(\w+)\s*=\s*kmemdup\(\s*&?(\w+)/g)) if (m[1] && m[2]) alias.set(m[1], m[2]);
  for (const m of text.matchAll(/(\w+)\s*=\s*&?(\w+)\s*;/g)) if (m[1] && m[2] && tables.has(m[2])) alias.set(m[1], m[2]);
  const paths = new Map<string, string>();
  const registered = new Set<string>();
  for (const m of text.matchAll(/register_(?:net_)?sysctl(?:_init|_sz)?\s*\(\s*(?:[^,"()]+,\s*)?"([^"%]+)"\s*,\s*&?([\w>.[\]-]+)/g)) {
    const path = m[1] ?? '';
    const expr = (m[2] ?? '').replace(/\[.*$/, '');
    const name = expr.split(/->|\./).pop() ?? expr;
    const table = tables.has(name) ? name : alias.get(name);
    registered.add(path);
    if (table) paths.set(table, path);
  }
  for (const [name, list] of tables) {
    let path = paths.get(name);
    if (!path && registered.size === 1 && tables.size === 1) path = [...registered][0];
    if (!path) continue;
    cResolved++;
    for (const e of list) {
      const key = templateOf(`${path.split('/').join('.')}.${e.procname.replace(/\./g, '/')}`);
      const k = entry(key);
      k.sources.add('C');
      k.cfile = relative(sourceDir, file);
      const shape = handlerShape(e.handler);
      if (k.kind === undefined) k.kind = shape.kind;
      if (k.count === undefined) {
        const n = countFromMaxlen(e.maxlen, e.handler);
        if (n !== undefined && shape.kind === 'int') k.count = n;
      }
      if (shape.unit && k.unit === undefined) k.unit = shape.unit;
      if (e.mode !== undefined && !k.sources.has('L')) {
        if ((e.mode & 0o222) === 0) k.readOnly = true;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// D: documentation

interface DocEntry { summary?: string | undefined; type?: string; def?: string; pages?: boolean }

function firstSentence(text: string): string | undefined {
  const t = text.replace(/``/g, '`').replace(/\s+/g, ' ').trim();
  if (t.length === 0) return undefined;
  const m = /^(.+?[.!?])(?:\s|$)/.exec(t);
  let s = (m?.[1] ?? t).trim();
  if (s.length > 140) s = `${s.slice(0, 137).replace(/\s+\S*$/, '')}…`;
  return s;
}

/** Reads one rst file: entries are either `name - TYPE` definition lines or underlined headings. */
function readDoc(file: string, basePrefix: string): Map<string, DocEntry> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = new Map<string, DocEntry>();
  let prefix = basePrefix;
  const isUnderline = (l: string | undefined): boolean => l !== undefined && /^[=\-~^]{3,}\s*$/.test(l);
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    // Section titles naming a /proc/sys directory set the prefix for what follows.
    const sect = /\/?proc\/sys\/([a-z0-9_/.*-]+?)\/?\*?\)?`*\s*(?:Variables|-|$)/i.exec(line);
    if (isUnderline(lines[i + 1]) && sect?.[1]) {
      prefix = `${sect[1].replace(/\/\*$/, '').replace(/\/$/, '').split('/').join('.')}.`;
      i += 2;
      continue;
    }
    const relSect = /^``((?:conf|neigh)\/(?:interface|all|default)\/\*)``:?\s*$/.exec(line) ?? /^``(icmp\/\*)``:?\s*$/.exec(line);
    if (relSect?.[1]) {
      const top = /^net\.ipv[46]\./.exec(prefix)?.[0] ?? prefix;
      const dir = relSect[1].replace(/\/\*$/, '').replace(/\/(interface|all|default)$/, '/*');
      prefix = `${top}${dir.split('/').join('.')}.`;
      i += 1;
      continue;
    }
    let names: string[] = [];
    let type: string | undefined;
    let bodyStart = i + 1;
    const def = /^([a-z0-9_][a-z0-9_\-/{},*]*)\s+-\s+(.+)$/i.exec(line);
    if (def?.[1] && !line.startsWith(' ') && !line.startsWith('\t')) {
      names = [def[1]];
      type = def[2];
    } else if (isUnderline(lines[i + 1]) && /^[a-z0-9_-]+(?:\s*(?:,|&|\/|\band\b)\s*[a-z0-9_-]+)*(?:\s+\([^)]*\))?$/i.test(line.trim())) {
      // A heading that names keys: `shmmax`, `file-max & file-nr`, `msgmax, msgmnb` (not "TCP variables").
      names = line.replace(/\([^)]*\)/g, '').split(/,|&|\/|\band\b/).map((s) => s.trim()).filter((s) => /^[a-z0-9_-]+$/i.test(s));
      bodyStart = i + 2;
    }
    if (names.length === 0) {
      i++;
      continue;
    }
    // Body: until the next entry at column 0 (definition style) or the next heading.
    const body: string[] = [];
    let j = bodyStart;
    for (; j < lines.length; j++) {
      const l = lines[j] ?? '';
      if (isUnderline(lines[j + 1]) && l.trim() !== '') break;
      if (type !== undefined && /^[a-z0-9_][a-z0-9_\-/{},*]*\s+-\s+/i.test(l)) break;
      body.push(l);
    }
    const paragraphs = body.join('\n').split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 0);
    const prose = paragraphs.find((p) => !/^[-*•]|^\d+\s*-|^default/i.test(p) && !/^:/.test(p) && /[a-z]{3}/.test(p));
    const text = body.join('\n');
    const dm = /(?:^|\n)\s*Default(?: value)?\s*(?:is|:)?\s*:?\s*([^\n]+)/i.exec(text) ?? /^\s*default\s+([^\s\n]+)/im.exec(text);
    const doc: DocEntry = {
      ...(prose ? { summary: firstSentence(prose.replace(/^\s*-\s+/gm, '')) } : {}),
      ...(type ? { type } : {}),
      ...(dm?.[1] ? { def: dm[1].trim() } : {}),
      ...(/\bin pages\b|\(pages\)|number of pages|units? of pages/i.test(`${type ?? ''} ${text.slice(0, 600)}`) ? { pages: true } : {}),
    };
    for (const n of names) {
      const full = `${prefix}${n.replace(/\//g, '.').replace(/\.(interface|all|default)\./, '.*.')}`;
      if (!out.has(full)) out.set(full, doc);
    }
    i = j;
  }
  return out;
}

const docFiles: [string, string][] = [
  ['Documentation/admin-guide/sysctl/kernel.rst', 'kernel.'],
  ['Documentation/admin-guide/sysctl/vm.rst', 'vm.'],
  ['Documentation/admin-guide/sysctl/fs.rst', 'fs.'],
  ['Documentation/admin-guide/sysctl/abi.rst', 'abi.'],
  ['Documentation/admin-guide/sysctl/user.rst', 'user.'],
  ['Documentation/admin-guide/sysctl/sunrpc.rst', 'sunrpc.'],
  ['Documentation/admin-guide/sysctl/net.rst', 'net.core.'],
  ['Documentation/networking/ip-sysctl.rst', 'net.ipv4.'],
  ['Documentation/networking/nf_conntrack-sysctl.rst', 'net.netfilter.'],
  ['Documentation/networking/netfilter-sysctl.rst', 'net.netfilter.'],
  ['Documentation/networking/ipvs-sysctl.rst', 'net.ipv4.vs.'],
  ['Documentation/networking/mptcp-sysctl.rst', 'net.mptcp.'],
  ['Documentation/networking/smc-sysctl.rst', 'net.smc.'],
  ['Documentation/networking/mpls-sysctl.rst', 'net.mpls.'],
  ['Documentation/networking/xfrm_sysctl.rst', 'net.core.'],
  ['Documentation/networking/seg6-sysctl.rst', 'net.ipv6.seg6_'],
  ['Documentation/networking/ioam6-sysctl.rst', 'net.ipv6.'],
];

let docMatched = 0;
const leafIndex = new Map<string, string[]>();
for (const k of keys.keys()) {
  const leaf = k.slice(k.lastIndexOf('.') + 1);
  const top = k.split('.').slice(0, 2).join('.');
  const id = `${top}|${leaf}`;
  leafIndex.set(id, [...(leafIndex.get(id) ?? []), k]);
}
for (const [rel, prefix] of docFiles) {
  const file = join(sourceDir, rel);
  if (!existsSync(file)) continue;
  for (const [name, doc] of readDoc(file, prefix)) {
    let target = keys.has(name) ? name : undefined;
    if (!target) {
      // The docs' sections are loose: fall back to the unique key with that leaf under the same top directory.
      const leaf = name.slice(name.lastIndexOf('.') + 1);
      const top = name.split('.').slice(0, 2).join('.');
      const cands = leafIndex.get(`${top}|${leaf}`) ?? [];
      if (cands.length === 1) target = cands[0];
    }
    if (!target) continue;
    const k = entry(target);
    if (k.sources.has('D')) continue;
    k.sources.add('D');
    docMatched++;
    if (doc.summary) k.summary = doc.summary;
    if (doc.pages) k.unit = 'pages';
    if (doc.def) {
      const d = doc.def.replace(/\s*\(.*$/, '').replace(/[.,;]$/, '').trim();
      if (/^-?\d+(\s+-?\d+)*$/.test(d) || /^(true|false|enabled|disabled|on|off)$/i.test(d)) k.def = d;
    }
    if (k.kind === undefined && doc.type) {
      if (/BOOLEAN|INTEGER/i.test(doc.type)) k.kind = 'int';
      else if (/STRING/i.test(doc.type)) k.kind = 'string';
    }
    const vec = /vector of (\d+) INTEGERs|(\d+) INTEGERS/i.exec(doc.type ?? '');
    if (vec && k.count === undefined) k.count = Number(vec[1] ?? vec[2]);
  }
}

// ---------------------------------------------------------------------------------------------
// H: history, checked against what was read

for (const h of HISTORY) {
  const present = keys.get(h.key);
  if (present && h.removedIn !== 'distribution' && present.sources.has('L')) {
    throw new Error(`history says ${h.key} was removed in ${h.removedIn}, but the reference kernel ${referenceKernel} has it`);
  }
  if (present?.sources.has('C')) throw new Error(`history says ${h.key} is gone, but the 6.12 source defines it (${present.cfile ?? '?'})`);
  const k = entry(h.key);
  k.sources.add('H');
  k.removedIn = h.removedIn;
  if (h.movedTo) k.movedTo = h.movedTo;
  k.note = h.note;
  if (k.kind === undefined) k.kind = 'int';
  if (k.count === undefined) k.count = h.count ?? 1;
}

// ---------------------------------------------------------------------------------------------
// Output

const UNIT_CODE: Record<string, string> = { seconds: 's', milliseconds: 'ms', centiseconds: 'cs', pages: 'pg' };
const rows: string[] = [];
const sorted = [...keys.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
const clean = (s: string | undefined): string => (s ?? '').replace(/[\t\n\\`]/g, (c) => (c === '`' ? "'" : ' ')).replace(/\$\{/g, '$ {');
for (const k of sorted) {
  // flags: sources, then r (read-only), w (write-only), n/g/i (netns behaviour)
  const flags = [...k.sources].sort().join('') + (k.readOnly ? 'r' : '') + (k.writeOnly ? 'w' : '') + (k.netns === 'netns' ? 'n' : k.netns === 'global-ro' ? 'g' : k.netns === 'init-only' ? 'i' : '');
  const kind = k.kind === 'int' ? `i${k.count !== undefined && k.count !== 1 ? k.count : ''}` : k.kind === 'string' ? 's' : 'o';
  rows.push([k.key, flags, kind, UNIT_CODE[k.unit ?? ''] ?? '', clean(k.def), clean(k.removedIn), clean(k.movedTo), clean(k.note ?? k.summary)].join('\t').replace(/\t+$/, ''));
}

const historySources = [...new Set(HISTORY.map((h) => h.source))];
const header = `/**
 * GENERATED by scripts/catalog/generate.ts — do not edit; re-run the generator.
 * ${keys.size} keys. Sources:
 *  L  /proc/sys of the reference kernel ${referenceKernel} (initial netns and a fresh netns)
 *  C  ctl_table definitions of Debian's linux-source-6.12 (${cResolved} of ${cTables} tables resolved to a path)
 *  D  Documentation/admin-guide/sysctl/*.rst and Documentation/networking/*sysctl*.rst of the same source (${docMatched} keys described)
 *  H  scripts/catalog/history.ts:
${historySources.map((s) => ` *     - ${s}`).join('\n')}
 * One line per key: key, flags (sources; r read-only, w write-only; n per-netns, g global and
 * read-only in other netns, i initial netns only), shape (iN: N integers per write, s string,
 * o other), unit (s, ms, cs = 1/100 s, pg = pages), default, removed in, moved to, meaning.
 * A '*' segment stands for any interface name.
 */
export const KEY_CATALOG_KERNEL = ${JSON.stringify(referenceKernel)};
export const KEY_CATALOG_SOURCE_RELEASE = '6.12';
export const KEY_CATALOG_DATA = \`${rows.join('\n')}\`;
`;

if (check) {
  const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (current !== header) {
    console.error('generate --check: src/core/sysctl/keyCatalog.data.ts differs from what the sources give; re-run the generator');
    process.exit(1);
  }
  console.log('generate --check: up to date');
} else {
  writeFileSync(OUT, header);
  const bySource = (s: string): number => sorted.filter((k) => k.sources.has(s)).length;
  console.log(`generate: ${keys.size} keys (L ${bySource('L')}, C ${bySource('C')}, D ${bySource('D')}, H ${bySource('H')}), ${(Buffer.byteLength(header) / 1024).toFixed(1)} KiB → ${relative(REPO, OUT)}`);
}
