/**
 * Resolves an SSH target the way OpenSSH's `ssh` does, from `~/.ssh/config` (or a given file):
 * Host and Match blocks, Include (globs, relative to ~/.ssh or /etc/ssh, depth limit 16),
 * first-value-wins, `%` tokens, ProxyJump chains, known-hosts files and host-key policy.
 *
 * Lines are tokenised by cyjake's `ssh-config` parser (one line at a time, so every value keeps
 * its file:line); its `compute()` is deliberately NOT used: it runs `Match exec` commands through
 * a shell and resolves names with nslookup. Here `Match exec` is never executed: a block with an
 * `exec` criterion does not match, and a warning says so.
 *
 * Every value that ends up in a connection is validated: host names (DNS name, IPv4, IPv6),
 * ports, user names. A HostName such as `-oProxyCommand=…`, `a;reboot` or one with a newline is
 * refused with an IoError of kind `config` that names the file and line it came from. (Nothing
 * here reaches a shell — ssh2 is a library — but hostile values stay out all the same.)
 *
 * Known limits (documented, each with a warning when met): ProxyCommand is not supported (it
 * would run a local shell command) and resolving a host that uses it fails with a clear error;
 * CanonicalizeHostname does not search domains (the final pass still runs, so `Match canonical`
 * and `Match final` blocks apply); `Match localnetwork`, `tagged`, `version`, `command` and
 * `sessiontype` never match.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import { IoError } from '../errors';
import { hasWildcard, matchPattern, matchPatternList } from './patterns';

export type StrictHostKeyChecking = 'yes' | 'no' | 'accept-new' | 'ask';

/** A target as typed: `alias`, `user@host`, `user@host:port`, `[v6]:port`, `ssh://user@host:port`. */
export interface TargetSpec {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

/** One ProxyJump hop as written in the config (resolved later through the config itself). */
export interface JumpSpec extends TargetSpec {
  /** the text of this hop, for messages */
  readonly raw: string;
}

export type IdentityAgentSetting =
  | { readonly kind: 'none' }
  /** the agent socket from the environment (SSH_AUTH_SOCK); socket undefined when unset */
  | { readonly kind: 'env'; readonly socket?: string }
  | { readonly kind: 'path'; readonly socket: string };

export interface ResolvedHost {
  /** the host part of the target as typed (the Host-pattern subject) */
  readonly alias: string;
  /** validated host name or address to connect to (HostName with %h expanded) */
  readonly hostname: string;
  readonly user: string;
  readonly port: number;
  /** absolute paths, in the order OpenSSH tries them; the defaults when none was configured */
  readonly identityFiles: readonly string[];
  /** false when identityFiles are OpenSSH's defaults (id_rsa, id_ecdsa, id_ed25519, …) */
  readonly identityFilesExplicit: boolean;
  readonly identitiesOnly: boolean;
  readonly identityAgent: IdentityAgentSetting;
  /** hops from the config's ProxyJump, first hop first; empty = direct */
  readonly proxyJump: readonly JumpSpec[];
  readonly userKnownHostsFiles: readonly string[];
  readonly globalKnownHostsFiles: readonly string[];
  /** undefined when the config does not say (the caller picks the product default: ask) */
  readonly strictHostKeyChecking: StrictHostKeyChecking | undefined;
  /** name used for known_hosts look-ups instead of the host name */
  readonly hostKeyAlias: string | undefined;
  readonly hashKnownHosts: boolean;
  readonly connectTimeoutMs: number | undefined;
  /** 0 = not configured */
  readonly serverAliveIntervalMs: number;
  readonly serverAliveCountMax: number;
  readonly batchMode: boolean;
  readonly passwordAuthentication: boolean;
  readonly kbdInteractiveAuthentication: boolean;
  readonly pubkeyAuthentication: boolean;
  /** where each option came from: lower-case option name → `file:line` */
  readonly sources: Readonly<Record<string, string>>;
  /** non-fatal remarks (Match exec skipped, unsupported options, loose file permissions, …) */
  readonly warnings: readonly string[];
}

export interface ResolveOptions {
  /**
   * undefined: `~/.ssh/config` then the system file (like plain `ssh`);
   * a path: only that file (like `ssh -F file`); null: no config at all.
   */
  readonly configFile?: string | null;
  /** system-wide file read after the user's when configFile is undefined; null: none. Default /etc/ssh/ssh_config */
  readonly systemConfigFile?: string | null;
  readonly homeDir?: string;
  readonly localUser?: string;
  readonly localUid?: number;
  readonly localHostname?: string;
  /** environment for ${VAR} expansion and SSH_AUTH_SOCK (default process.env) */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** used for ProxyJump hops after the first: their own ProxyJump is ignored, as with `ssh -J` */
  readonly ignoreProxyJump?: boolean;
}

export const MAX_INCLUDE_DEPTH = 16;
const MAX_JUMP_DEPTH = 8;

// ---------------------------------------------------------------------------------------------
// Validation

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const USER_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.@\\-]{0,255}\$?$/;
const ALIAS = /^[A-Za-z0-9_.:%-]+$/;

/** True for a DNS name, an IPv4 address or an IPv6 address (optionally with a %zone). */
export function isValidHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253 + 1) return false;
  if (isIPv4(name)) return true;
  const pct = name.indexOf('%');
  if (name.includes(':')) {
    const addr = pct === -1 ? name : name.slice(0, pct);
    const zone = pct === -1 ? '' : name.slice(pct + 1);
    return isIPv6(addr) && (pct === -1 || /^[A-Za-z0-9_.-]{1,64}$/.test(zone));
  }
  const labels = (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
  if (labels.length === 0) return false;
  // a dotted all-numeric name that is not a valid IPv4 address (999.1.1.1) is refused
  if (labels.every((l) => /^[0-9]+$/.test(l))) return false;
  return labels.every((l) => HOST_LABEL.test(l));
}

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

export function isValidUser(user: string): boolean {
  return USER_NAME.test(user) && !user.startsWith('-');
}

function parsePort(text: string, where: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || !isValidPort(Number(text))) {
    throw new IoError('config', `${where}: invalid port ${JSON.stringify(text)} (expected 1-65535)`);
  }
  return Number(text);
}

function checkUser(user: string, where: string): string {
  if (!isValidUser(user)) {
    throw new IoError('config', `${where}: invalid user name ${JSON.stringify(user)}`);
  }
  return user;
}

// ---------------------------------------------------------------------------------------------
// Target parsing

function hasControlOrSpace(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (c <= 0x20 || c === 0x7f || /\s/u.test(ch)) return true;
  }
  return false;
}

/**
 * Parses `alias`, `user@host`, `user@host:port`, `[v6addr]:port`, `user@[v6addr]`, a bare IPv6
 * address, or `ssh://[user@]host[:port]`. Throws IoError(config) for anything else, including
 * option-looking (`-o…`) or whitespace/control-character input.
 */
export function parseTarget(input: string, where = 'target'): TargetSpec {
  let text = input;
  if (hasControlOrSpace(text)) throw new IoError('config', `${where}: ${JSON.stringify(input)} contains whitespace or control characters`);
  if (text.startsWith('ssh://')) {
    text = text.slice('ssh://'.length);
    if (text.endsWith('/')) text = text.slice(0, -1);
  }
  if (text === '' || text.startsWith('-')) throw new IoError('config', `${where}: ${JSON.stringify(input)} is not a host`);
  let user: string | undefined;
  const at = text.lastIndexOf('@');
  if (at !== -1) {
    user = checkUser(text.slice(0, at), where);
    text = text.slice(at + 1);
  }
  let host: string;
  let port: number | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) throw new IoError('config', `${where}: unbalanced [ in ${JSON.stringify(input)}`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new IoError('config', `${where}: unexpected ${JSON.stringify(rest)} after ] in ${JSON.stringify(input)}`);
      port = parsePort(rest.slice(1), where);
    }
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 1) {
      const i = text.indexOf(':');
      host = text.slice(0, i);
      port = parsePort(text.slice(i + 1), where);
    } else {
      host = text; // no port, or a bare IPv6 address
    }
  }
  if (host === '' || host.startsWith('-') || !ALIAS.test(host)) {
    throw new IoError('config', `${where}: ${JSON.stringify(host)} is not a valid host or alias`);
  }
  return { host, ...(user === undefined ? {} : { user }), ...(port === undefined ? {} : { port }) };
}

/** Parses a ProxyJump value: `none` → [], else a comma-separated list of hops. */
export function parseProxyJump(value: string, where = 'ProxyJump'): JumpSpec[] {
  if (value.toLowerCase() === 'none') return [];
  return value.split(',').map((raw) => {
    if (raw === '') throw new IoError('config', `${where}: empty hop in ${JSON.stringify(value)}`);
    return { ...parseTarget(raw, where), raw };
  });
}

/** `user@host:port` with brackets around IPv6, for keys and messages. */
export function formatHost(h: { user?: string; hostname?: string; host?: string; port?: number }): string {
  const name = h.hostname ?? h.host ?? '?';
  const shown = name.includes(':') ? `[${name}]` : name;
  return `${h.user === undefined ? '' : `${h.user}@`}${shown}${h.port === undefined ? '' : `:${h.port}`}`;
}

// ---------------------------------------------------------------------------------------------
// Line parsing (ssh-config's tokenizer, one line at a time)

interface ConfigLine {
  readonly keyword: string; // lower case
  readonly args: readonly string[];
  readonly at: string; // file:line
}

type SshConfigLine = ReturnType<typeof SSHConfig.parse>[number];

function lineArgs(node: SshConfigLine): string[] {
  if (node.type !== SSHConfig.DIRECTIVE) return [];
  const v = node.value;
  return typeof v === 'string' ? [v] : v.map((x) => x.val);
}

function parseConfigText(text: string, file: string): ConfigLine[] {
  const out: ConfigLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const at = `${file}:${i + 1}`;
    let nodes: SshConfigLine[];
    try {
      nodes = [...SSHConfig.parse(trimmed)];
    } catch (e) {
      throw new IoError('config', `${at}: cannot parse ${JSON.stringify(trimmed)}: ${(e as Error).message}`);
    }
    const node = nodes.find((n) => n.type === SSHConfig.DIRECTIVE);
    if (node === undefined || node.type !== SSHConfig.DIRECTIVE) continue;
    const args = lineArgs(node);
    if (args.length === 0 || args.every((a) => a === '')) {
      throw new IoError('config', `${at}: ${node.param} needs a value`);
    }
    out.push({ keyword: node.param.toLowerCase(), args, at });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Globbing for Include (glob(3) subset: * ? and [...] per path segment; sorted; no dot files
// unless the pattern starts with a dot)

function segmentToRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] ?? '';
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = seg.indexOf(']', i + 2);
      if (close === -1) re += '\\[';
      else {
        let body = seg.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function expandGlob(pattern: string): Promise<string[]> {
  if (!/[*?[]/.test(pattern)) {
    return [pattern];
  }
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : parts[0] ?? ''];
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i] ?? '';
    if (seg === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(seg)) {
        next.push(path.join(base, seg));
        continue;
      }
      let names: string[];
      try {
        names = await fs.readdir(base);
      } catch {
        continue;
      }
      const re = segmentToRegExp(seg);
      for (const n of names.sort()) {
        if (n.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(n)) next.push(path.join(base, n));
      }
    }
    bases = next;
  }
  return bases;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

interface Env {
  readonly home: string;
  readonly localUser: string;
  readonly localUid: number;
  readonly localHostname: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

interface Setting {
  readonly args: readonly string[];
  readonly at: string;
}

class Evaluation {
  readonly settings = new Map<string, Setting>();
  readonly identityFiles: Setting[] = [];
  proxy: { kind: 'jump' | 'command'; value: string; at: string } | undefined;
  readonly warnings: string[] = [];
  wantFinal = false;
  postCanon = false;
  /** subject of Host patterns: the alias, then (final pass) the host name */
  hostSubject: string;
  readonly files = new Set<string>();

  constructor(
    readonly alias: string,
    readonly envInfo: Env,
    readonly ignoreProxyJump: boolean,
  ) {
    this.hostSubject = alias.toLowerCase();
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  first(key: string): Setting | undefined {
    return this.settings.get(key);
  }

  /** the HostName as known so far, %h expanded (what `Match host` compares) */
  currentHostname(): string {
    const hn = this.first('hostname');
    if (hn === undefined) return this.alias;
    return expandHostnameTokens(hn.args[0] ?? '', this.alias);
  }

  currentUser(): string {
    return this.first('user')?.args[0] ?? this.envInfo.localUser;
  }
}

function expandHostnameTokens(value: string, alias: string): string {
  return value.replace(/%(.)/g, (m, c: string) => {
    if (c === 'h') return alias;
    if (c === '%') return '%';
    return m; // left as is: the host-name check refuses it
  });
}

const IGNORED_REPEATABLE = new Set(['localforward', 'remoteforward', 'dynamicforward', 'certificatefile', 'sendenv', 'setenv']);
const UNSUPPORTED_WARN = new Set(['localcommand', 'permitlocalcommand', 'remotecommand', 'controlmaster', 'controlpath', 'controlpersist', 'knownhostscommand', 'pkcs11provider', 'securitykeyprovider']);

function matchHostLine(ev: Evaluation, patterns: readonly string[]): boolean {
  let positive = false;
  const subject = ev.hostSubject;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (matchPattern(subject, pattern)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

function evalMatch(ev: Evaluation, args: readonly string[], at: string): boolean {
  let result = true;
  let i = 0;
  const words = args.map((a) => a);
  if (words.length === 0) throw new IoError('config', `${at}: Match needs criteria`);
  while (i < words.length) {
    let kw = words[i] ?? '';
    const negate = kw.startsWith('!');
    if (negate) kw = kw.slice(1);
    kw = kw.toLowerCase();
    i++;
    if (kw === 'all') {
      if (negate) result = false;
      continue;
    }
    if (kw === 'canonical' || kw === 'final') {
      if (kw === 'final' && !negate) ev.wantFinal = true;
      const r = ev.postCanon;
      if (r === negate) result = false;
      continue;
    }
    const arg = words[i];
    if (arg === undefined) throw new IoError('config', `${at}: Match ${kw} needs an argument`);
    i++;
    let r: boolean;
    switch (kw) {
      case 'host':
        r = matchPatternList(ev.currentHostname(), arg, true) === 'match';
        break;
      case 'originalhost':
        r = matchPatternList(ev.alias, arg, true) === 'match';
        break;
      case 'user':
        r = matchPatternList(ev.currentUser(), arg) === 'match';
        break;
      case 'localuser':
        r = matchPatternList(ev.envInfo.localUser, arg) === 'match';
        break;
      case 'exec':
        ev.warn(`${at}: "Match exec" is never run by Conntrack Doctor (it would execute ${JSON.stringify(arg)} in a local shell); that block was treated as not matching`);
        return false;
      default:
        ev.warn(`${at}: "Match ${kw}" is not supported here; that block was treated as not matching`);
        return false;
    }
    if (r === negate) result = false;
  }
  return result;
}

function setFirst(ev: Evaluation, line: ConfigLine): void {
  if (!ev.settings.has(line.keyword)) ev.settings.set(line.keyword, { args: line.args, at: line.at });
}

async function evalFile(
  ev: Evaluation,
  file: string,
  level: 'user' | 'system',
  depth: number,
  inheritedActive: boolean,
  neverMatch: boolean,
): Promise<void> {
  if (depth > MAX_INCLUDE_DEPTH) {
    throw new IoError('config', `${file}: Include nested more than ${MAX_INCLUDE_DEPTH} levels deep (an Include cycle?)`);
  }
  let text: string;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) return;
    if ((st.mode & 0o022) !== 0 || (st.uid !== 0 && st.uid !== ev.envInfo.localUid && ev.envInfo.localUid >= 0)) {
      ev.warn(`${file}: owned by someone else or writable by group/others (OpenSSH refuses such a file: "Bad owner or permissions")`);
    }
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new IoError('config', `cannot read ssh config ${file}: ${(e as Error).message}`, {}, { cause: e });
  }
  ev.files.add(file);
  let active = inheritedActive;
  for (const line of parseConfigText(text, file)) {
    switch (line.keyword) {
      case 'host':
        active = !neverMatch && matchHostLine(ev, line.args);
        continue;
      case 'match':
        active = !neverMatch && evalMatch(ev, line.args, line.at);
        continue;
      case 'include':
        for (const arg of line.args) {
          let p = expandPathValue(arg, ev.envInfo, undefined, line.at);
          if (!path.isAbsolute(p)) p = path.join(level === 'user' ? path.join(ev.envInfo.home, '.ssh') : '/etc/ssh', p);
          for (const f of await expandGlob(p)) {
            await evalFile(ev, f, level, depth + 1, active, neverMatch || !active);
          }
        }
        continue;
      default:
        break;
    }
    if (!active) continue;
    const kw = line.keyword;
    if (kw === 'identityfile') {
      ev.identityFiles.push({ args: line.args, at: line.at });
    } else if (kw === 'proxyjump' || kw === 'proxycommand') {
      if (kw === 'proxyjump' && ev.ignoreProxyJump) continue;
      if (ev.proxy === undefined) ev.proxy = { kind: kw === 'proxyjump' ? 'jump' : 'command', value: line.args.join(' '), at: line.at };
    } else if (IGNORED_REPEATABLE.has(kw)) {
      continue;
    } else {
      if (UNSUPPORTED_WARN.has(kw) && !ev.settings.has(kw)) ev.warn(`${line.at}: ${kw} is ignored by Conntrack Doctor`);
      setFirst(ev, line);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Token expansion

interface TokenValues {
  readonly h: string;
  readonly n: string;
  readonly p: string;
  readonly r: string;
  readonly j: string;
  readonly k: string;
}

/** `~`, `${VAR}` and `%x` tokens of path-like options (IdentityFile, UserKnownHostsFile, IdentityAgent, Include). */
function expandPathValue(value: string, env: Env, tokens: TokenValues | undefined, at: string): string {
  let v = value;
  if (v === '~') v = env.home;
  else if (v.startsWith('~/')) v = path.join(env.home, v.slice(2));
  else if (v.startsWith('~')) throw new IoError('config', `${at}: ~user paths are not supported: ${JSON.stringify(value)}`);
  v = v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const e = env.env[name];
    if (e === undefined) throw new IoError('config', `${at}: environment variable ${name} used in ${JSON.stringify(value)} is not set`);
    return e;
  });
  const localHost = env.localHostname;
  return v.replace(/%(.)/g, (_m, c: string) => {
    switch (c) {
      case '%': return '%';
      case 'd': return env.home;
      case 'u': return env.localUser;
      case 'i': return String(env.localUid);
      case 'l': return localHost;
      case 'L': return localHost.split('.')[0] ?? localHost;
      default: break;
    }
    if (tokens === undefined) throw new IoError('config', `${at}: token %${c} cannot be used in ${JSON.stringify(value)}`);
    switch (c) {
      case 'h': return tokens.h;
      case 'n': return tokens.n;
      case 'p': return tokens.p;
      case 'r': return tokens.r;
      case 'j': return tokens.j;
      case 'k': return tokens.k;
      case 'C': return createHash('sha1').update(`${localHost}${tokens.h}${tokens.p}${tokens.r}${tokens.j}`).digest('hex');
      default: throw new IoError('config', `${at}: unknown token %${c} in ${JSON.stringify(value)}`);
    }
  });
}

function parseYesNo(s: Setting | undefined, dflt: boolean, name: string): boolean {
  if (s === undefined) return dflt;
  const v = (s.args[0] ?? '').toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw new IoError('config', `${s.at}: ${name} must be yes or no, not ${JSON.stringify(s.args[0])}`);
}

/** OpenSSH time format: 30, 30s, 5m, 1h30m … → seconds. */
function parseSeconds(s: Setting, name: string): number {
  const text = (s.args[0] ?? '').toLowerCase();
  if (/^[0-9]+$/.test(text)) return Number(text);
  const re = /([0-9]+)([smhdw])/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += n * (unit === 's' ? 1 : unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 604800);
    consumed += m[0].length;
  }
  if (consumed !== text.length || text === '') throw new IoError('config', `${s.at}: invalid ${name} ${JSON.stringify(s.args[0])}`);
  return total;
}

function parseStrict(s: Setting | undefined): StrictHostKeyChecking | undefined {
  if (s === undefined) return undefined;
  const v = (s.args[0] ?? '').toLowerCase();
  if (v === 'yes' || v === 'true') return 'yes';
  if (v === 'no' || v === 'off' || v === 'false') return 'no';
  if (v === 'ask') return 'ask';
  if (v === 'accept-new') return 'accept-new';
  throw new IoError('config', `${s.at}: StrictHostKeyChecking must be yes, accept-new, ask or no, not ${JSON.stringify(s.args[0])}`);
}

function envInfo(opts: ResolveOptions): Env {
  let user = opts.localUser;
  if (user === undefined) {
    try {
      user = os.userInfo().username;
    } catch {
      user = process.env['USER'] ?? 'root';
    }
  }
  return {
    home: opts.homeDir ?? os.homedir(),
    localUser: user,
    localUid: opts.localUid ?? (typeof process.getuid === 'function' ? process.getuid() : -1),
    localHostname: opts.localHostname ?? os.hostname(),
    env: opts.env ?? process.env,
  };
}

function configFiles(opts: ResolveOptions, env: Env): { file: string; level: 'user' | 'system' }[] {
  if (opts.configFile === null) return [];
  if (opts.configFile !== undefined) return [{ file: path.resolve(opts.configFile), level: 'user' }];
  const files: { file: string; level: 'user' | 'system' }[] = [{ file: path.join(env.home, '.ssh', 'config'), level: 'user' }];
  const sys = opts.systemConfigFile === undefined ? '/etc/ssh/ssh_config' : opts.systemConfigFile;
  if (sys !== null) files.push({ file: sys, level: 'system' });
  return files;
}

const DEFAULT_IDENTITY_FILES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'];

/**
 * Resolves one target (no jump chain): the options OpenSSH would use to connect to it.
 * `target` is a string as typed or an already parsed spec.
 */
export async function resolveHost(target: string | TargetSpec, opts: ResolveOptions = {}): Promise<ResolvedHost> {
  const spec = typeof target === 'string' ? parseTarget(target) : target;
  const env = envInfo(opts);
  const ev = new Evaluation(spec.host, env, opts.ignoreProxyJump === true);
  // command-line values come first (first value wins)
  if (spec.user !== undefined) ev.settings.set('user', { args: [spec.user], at: 'target' });
  if (spec.port !== undefined) ev.settings.set('port', { args: [String(spec.port)], at: 'target' });

  const files = configFiles(opts, env);
  const pass = async (): Promise<void> => {
    for (const f of files) await evalFile(ev, f.file, f.level, 0, true, false);
  };
  await pass();
  const canon = (ev.first('canonicalizehostname')?.args[0] ?? 'no').toLowerCase();
  if (canon === 'yes' || canon === 'always') {
    ev.warn(`${ev.first('canonicalizehostname')?.at ?? ''}: CanonicalizeHostname: domain search is not performed; "Match canonical" blocks are applied to the name as configured`);
  }
  if (ev.wantFinal || canon === 'yes' || canon === 'always') {
    ev.postCanon = true;
    ev.hostSubject = ev.currentHostname().toLowerCase();
    await pass();
  }

  // --- host name, user, port
  const hnSetting = ev.first('hostname');
  const hostname = ev.currentHostname();
  if (!isValidHostname(hostname)) {
    const where = hnSetting === undefined ? 'target' : hnSetting.at;
    throw new IoError('config', `${where}: refusing host name ${JSON.stringify(hostname)}: not a DNS name, IPv4 or IPv6 address`);
  }
  const userSetting = ev.first('user');
  const user = checkUser(userSetting?.args[0] ?? env.localUser, userSetting?.at ?? 'local user');
  const portSetting = ev.first('port');
  const port = portSetting === undefined ? 22 : parsePort(portSetting.args[0] ?? '', portSetting.at);

  // --- proxy
  let proxyJump: JumpSpec[] = [];
  if (ev.proxy !== undefined) {
    if (ev.proxy.kind === 'command') {
      if (ev.proxy.value.toLowerCase() !== 'none') {
        throw new IoError('config', `${ev.proxy.at}: ProxyCommand is not supported by Conntrack Doctor (it would run a local shell command); use ProxyJump for ${spec.host}`);
      }
    } else {
      proxyJump = parseProxyJump(ev.proxy.value, ev.proxy.at);
    }
  }

  const hostKeyAliasSetting = ev.first('hostkeyalias');
  const hostKeyAlias = hostKeyAliasSetting?.args[0];
  if (hostKeyAlias !== undefined && !/^[A-Za-z0-9_.:[\]-]+$/.test(hostKeyAlias)) {
    throw new IoError('config', `${hostKeyAliasSetting?.at ?? ''}: invalid HostKeyAlias ${JSON.stringify(hostKeyAlias)}`);
  }
  const tokens: TokenValues = {
    h: hostname,
    n: spec.host,
    p: String(port),
    r: user,
    j: ev.proxy?.kind === 'jump' && ev.proxy.value.toLowerCase() !== 'none' ? ev.proxy.value : '',
    k: hostKeyAlias ?? spec.host,
  };

  // --- identities
  const explicit = ev.identityFiles.length > 0;
  const identityFiles: string[] = [];
  const idSources = explicit
    ? ev.identityFiles.map((s) => ({ value: s.args[0] ?? '', at: s.at }))
    : DEFAULT_IDENTITY_FILES.map((n) => ({ value: `~/.ssh/${n}`, at: 'default' }));
  for (const s of idSources) {
    let p = expandPathValue(s.value, env, tokens, s.at);
    if (!path.isAbsolute(p)) p = path.join(env.home, p);
    if (!identityFiles.includes(p)) identityFiles.push(p);
  }

  // --- agent
  let identityAgent: IdentityAgentSetting;
  const agentSetting = ev.first('identityagent');
  const envSock = env.env['SSH_AUTH_SOCK'];
  if (agentSetting === undefined || agentSetting.args[0] === 'SSH_AUTH_SOCK') {
    identityAgent = envSock === undefined || envSock === '' ? { kind: 'env' } : { kind: 'env', socket: envSock };
  } else if ((agentSetting.args[0] ?? '').toLowerCase() === 'none') {
    identityAgent = { kind: 'none' };
  } else {
    let v = agentSetting.args[0] ?? '';
    const m = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(v);
    if (m !== null) {
      const name = m[1] ?? '';
      const val = env.env[name];
      if (val === undefined || val === '') {
        throw new IoError('config', `${agentSetting.at}: IdentityAgent names $${name}, which is not set`);
      }
      v = val;
    }
    v = expandPathValue(v, env, tokens, agentSetting.at);
    identityAgent = { kind: 'path', socket: v };
  }

  // --- known hosts
  const expandList = (s: Setting | undefined, dflt: string[]): string[] => {
    if (s === undefined) return dflt;
    if (s.args.length === 1 && (s.args[0] ?? '').toLowerCase() === 'none') return [];
    return s.args.map((a) => {
      const p = expandPathValue(a, env, tokens, s.at);
      return path.isAbsolute(p) ? p : path.join(env.home, p);
    });
  };
  const userKnownHostsFiles = expandList(ev.first('userknownhostsfile'), [
    path.join(env.home, '.ssh', 'known_hosts'),
    path.join(env.home, '.ssh', 'known_hosts2'),
  ]);
  const globalKnownHostsFiles = expandList(ev.first('globalknownhostsfile'), ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);

  const ct = ev.first('connecttimeout');
  let connectTimeoutMs: number | undefined;
  if (ct !== undefined && (ct.args[0] ?? '').toLowerCase() !== 'none') {
    const secs = parseSeconds(ct, 'ConnectTimeout');
    connectTimeoutMs = secs > 0 ? secs * 1000 : undefined;
  }
  const sai = ev.first('serveraliveinterval');
  const sacm = ev.first('serveralivecountmax');
  const serverAliveCountMax = sacm === undefined ? 3 : Number(sacm.args[0]);
  if (!Number.isInteger(serverAliveCountMax) || serverAliveCountMax < 0) {
    throw new IoError('config', `${sacm?.at ?? ''}: invalid ServerAliveCountMax ${JSON.stringify(sacm?.args[0])}`);
  }
  const kbd = ev.first('kbdinteractiveauthentication') ?? ev.first('challengeresponseauthentication');

  const sources: Record<string, string> = {};
  for (const [k, v] of ev.settings) sources[k] = v.at;
  if (ev.proxy !== undefined) sources[ev.proxy.kind === 'jump' ? 'proxyjump' : 'proxycommand'] = ev.proxy.at;
  if (explicit) sources['identityfile'] = ev.identityFiles.map((s) => s.at).join(', ');

  return {
    alias: spec.host,
    hostname,
    user,
    port,
    identityFiles,
    identityFilesExplicit: explicit,
    identitiesOnly: parseYesNo(ev.first('identitiesonly'), false, 'IdentitiesOnly'),
    identityAgent,
    proxyJump,
    userKnownHostsFiles,
    globalKnownHostsFiles,
    strictHostKeyChecking: parseStrict(ev.first('stricthostkeychecking')),
    hostKeyAlias,
    hashKnownHosts: parseYesNo(ev.first('hashknownhosts'), false, 'HashKnownHosts'),
    connectTimeoutMs,
    serverAliveIntervalMs: sai === undefined ? 0 : parseSeconds(sai, 'ServerAliveInterval') * 1000,
    serverAliveCountMax,
    batchMode: parseYesNo(ev.first('batchmode'), false, 'BatchMode'),
    passwordAuthentication: parseYesNo(ev.first('passwordauthentication'), true, 'PasswordAuthentication'),
    kbdInteractiveAuthentication: parseYesNo(kbd, true, 'KbdInteractiveAuthentication'),
    pubkeyAuthentication: pubkeyFlag(ev.first('pubkeyauthentication')),
    sources,
    warnings: ev.warnings,
  };
}

function pubkeyFlag(s: Setting | undefined): boolean {
  if (s === undefined) return true;
  const v = (s.args[0] ?? '').toLowerCase();
  if (v === 'unbound' || v === 'host-bound') return true;
  return parseYesNo(s, true, 'PubkeyAuthentication');
}

/** The key a connection pool uses for a chain: `user@host:port` per hop, joined by ` > `. */
export function chainKey(chain: readonly ResolvedHost[]): string {
  return chain.map((h) => formatHost({ user: h.user, hostname: h.hostname, port: h.port })).join(' > ');
}

/**
 * Resolves a target and its ProxyJump chain into the hops to connect, first hop first, the
 * target last. As with `ssh -J a,b target`: `a` is resolved with its own config (its own
 * ProxyJump is followed), later hops ignore their ProxyJump. Jumps given by the caller
 * (`jump`, e.g. from a `-J` option) replace the config's.
 */
export async function resolveChain(
  target: string | TargetSpec,
  opts: ResolveOptions & { readonly jump?: string } = {},
): Promise<ResolvedHost[]> {
  return resolveChainDepth(target, opts, 0, new Set());
}

async function resolveChainDepth(
  target: string | TargetSpec,
  opts: ResolveOptions & { readonly jump?: string },
  depth: number,
  seen: Set<string>,
): Promise<ResolvedHost[]> {
  if (depth > MAX_JUMP_DEPTH) throw new IoError('config', `ProxyJump chain longer than ${MAX_JUMP_DEPTH} hops (a loop?)`);
  const { jump, ...rest } = opts;
  const host = await resolveHost(target, jump === undefined ? rest : { ...rest, ignoreProxyJump: true });
  const key = formatHost({ user: host.user, hostname: host.hostname, port: host.port });
  if (seen.has(key)) throw new IoError('config', `ProxyJump loop: ${key} jumps through itself`);
  const jumps = jump === undefined ? host.proxyJump : parseProxyJump(jump, 'jump option');
  if (jumps.length === 0) return [host];
  const [first, ...later] = jumps;
  if (first === undefined) return [host];
  const nextSeen = new Set(seen).add(key);
  const chain = await resolveChainDepth(first, { ...rest, ignoreProxyJump: false }, depth + 1, nextSeen);
  for (const hop of later) chain.push(await resolveHost(hop, { ...rest, ignoreProxyJump: true }));
  chain.push(host);
  return chain;
}

export interface ConfiguredHost {
  /** a concrete Host pattern (no wildcard, no negation) */
  readonly alias: string;
  /** file:line of its first Host line */
  readonly at: string;
}

/**
 * The concrete hosts of a config, for a host picker: every Host pattern without `*`, `?` or
 * `!`, in file order (Includes followed, whatever block they are in), each once.
 */
export async function listConfiguredHosts(opts: Pick<ResolveOptions, 'configFile' | 'homeDir' | 'localUser' | 'localUid' | 'localHostname' | 'env'> = {}): Promise<ConfiguredHost[]> {
  const env = envInfo(opts);
  const files = configFiles({ ...opts, systemConfigFile: null }, env);
  const out: ConfiguredHost[] = [];
  const seen = new Set<string>();
  const walk = async (file: string, depth: number): Promise<void> => {
    if (depth > MAX_INCLUDE_DEPTH) throw new IoError('config', `${file}: Include nested more than ${MAX_INCLUDE_DEPTH} levels deep (an Include cycle?)`);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') return;
      throw new IoError('config', `cannot read ssh config ${file}: ${(e as Error).message}`, {}, { cause: e });
    }
    for (const line of parseConfigText(text, file)) {
      if (line.keyword === 'host') {
        for (const p of line.args) {
          if (p.startsWith('!') || hasWildcard(p) || seen.has(p)) continue;
          seen.add(p);
          out.push({ alias: p, at: line.at });
        }
      } else if (line.keyword === 'include') {
        for (const arg of line.args) {
          let p = expandPathValue(arg, env, undefined, line.at);
          if (!path.isAbsolute(p)) p = path.join(env.home, '.ssh', p);
          for (const f of await expandGlob(p)) await walk(f, depth + 1);
        }
      }
    }
  };
  for (const f of files) await walk(f.file, 0);
  return out;
}
