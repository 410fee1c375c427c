/**
 * Resolves an SSH target the way OpenSSH's `ssh` does, from `~/.ssh/config` (or a given file):
 * Host and Match blocks, Include (globs, relative to ~/.ssh or /etc/ssh, depth limit 16),
 * first-value-wins, `%` tokens, ProxyJump chains, known-hosts files and host-key policy.
 *
 * The parts, each in its own module: target.ts (a target as typed, validation), configText.ts
 * (a file's lines), configFiles.ts (the file reads: config files and Include globs), match.ts
 * (which lines apply: Host, Match, first value wins), tokens.ts (`%` tokens, `~`, `${VAR}`).
 * This module walks the files and turns what applies into a ResolvedHost.
 *
 * Known limits (documented, each with a warning in `warnings` when met — the connection logs
 * them): ProxyCommand is not supported (it would run a local shell command) and resolving a
 * host that uses it fails with a clear error; `Match exec` is never run; CanonicalizeHostname
 * does not search domains (the final pass still runs, so `Match canonical` and `Match final`
 * blocks apply).
 */
import os from 'node:os';
import path from 'node:path';
import { IoError } from '../errors';
import { includedFiles, readConfigFile } from './configFiles';
import { applyOption, evalMatch, Evaluation, matchHostLine, type Setting } from './match';
import { hasWildcard } from './patterns';
import { checkUser, formatHost, isValidHostname, parsePort, parseProxyJump, parseTarget, type JumpSpec, type TargetSpec } from './target';
import { expandPathValue, type Env, type TokenValues } from './tokens';

export type StrictHostKeyChecking = 'yes' | 'no' | 'accept-new' | 'ask';

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
// Walking the files

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
  const lines = await readConfigFile(file, ev.envInfo, (m) => ev.warn(m));
  if (lines === undefined) return;
  ev.files.add(file);
  let active = inheritedActive;
  for (const line of lines) {
    if (line.keyword === 'host') active = !neverMatch && matchHostLine(ev, line.args);
    else if (line.keyword === 'match') active = !neverMatch && evalMatch(ev, line.args, line.at);
    else if (line.keyword === 'include') {
      const base = level === 'user' ? path.join(ev.envInfo.home, '.ssh') : '/etc/ssh';
      for (const arg of line.args) {
        for (const f of await includedFiles(arg, ev.envInfo, base, line.at)) await evalFile(ev, f, level, depth + 1, active, neverMatch || !active);
      }
    } else if (active) applyOption(ev, line);
  }
}

// ---------------------------------------------------------------------------------------------
// Option values

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
// ---------------------------------------------------------------------------------------------
// Resolving

/** Walks the config files (twice when a final pass is asked for) and returns what applies. */
async function evaluate(spec: TargetSpec, opts: ResolveOptions, env: Env): Promise<Evaluation> {
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
  return ev;
}

/** The validated host name, user and port. */
function endpoint(ev: Evaluation, env: Env): { hostname: string; user: string; port: number } {
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
  return { hostname, user, port };
}

function proxyJumpOf(ev: Evaluation, alias: string): JumpSpec[] {
  if (ev.proxy === undefined) return [];
  if (ev.proxy.kind === 'jump') return parseProxyJump(ev.proxy.value, ev.proxy.at);
  if (ev.proxy.value.toLowerCase() !== 'none') {
    throw new IoError('config', `${ev.proxy.at}: ProxyCommand is not supported by Conntrack Doctor (it would run a local shell command); use ProxyJump for ${alias}`);
  }
  return [];
}

function hostKeyAliasOf(ev: Evaluation): string | undefined {
  const setting = ev.first('hostkeyalias');
  const alias = setting?.args[0];
  if (alias !== undefined && !/^[A-Za-z0-9_.:[\]-]+$/.test(alias)) {
    throw new IoError('config', `${setting?.at ?? ''}: invalid HostKeyAlias ${JSON.stringify(alias)}`);
  }
  return alias;
}

/** IdentityFile paths as absolute paths, in order, once each (OpenSSH's defaults when none is configured). */
function identityFilesOf(ev: Evaluation, env: Env, tokens: TokenValues): { files: string[]; explicit: boolean } {
  const explicit = ev.identityFiles.length > 0;
  const files: string[] = [];
  const sources = explicit
    ? ev.identityFiles.map((s) => ({ value: s.args[0] ?? '', at: s.at }))
    : DEFAULT_IDENTITY_FILES.map((n) => ({ value: `~/.ssh/${n}`, at: 'default' }));
  for (const s of sources) {
    let p = expandPathValue(s.value, env, tokens, s.at);
    if (!path.isAbsolute(p)) p = path.join(env.home, p);
    if (!files.includes(p)) files.push(p);
  }
  return { files, explicit };
}

function identityAgentOf(ev: Evaluation, env: Env, tokens: TokenValues): IdentityAgentSetting {
  const setting = ev.first('identityagent');
  const envSock = env.env['SSH_AUTH_SOCK'];
  if (setting === undefined || setting.args[0] === 'SSH_AUTH_SOCK') {
    return envSock === undefined || envSock === '' ? { kind: 'env' } : { kind: 'env', socket: envSock };
  }
  if ((setting.args[0] ?? '').toLowerCase() === 'none') return { kind: 'none' };
  let v = setting.args[0] ?? '';
  const m = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(v);
  if (m !== null) {
    const name = m[1] ?? '';
    const val = env.env[name];
    if (val === undefined || val === '') throw new IoError('config', `${setting.at}: IdentityAgent names $${name}, which is not set`);
    v = val;
  }
  return { kind: 'path', socket: expandPathValue(v, env, tokens, setting.at) };
}

function knownHostsFilesOf(ev: Evaluation, env: Env, tokens: TokenValues): { user: string[]; global: string[] } {
  const expandList = (s: Setting | undefined, dflt: string[]): string[] => {
    if (s === undefined) return dflt;
    if (s.args.length === 1 && (s.args[0] ?? '').toLowerCase() === 'none') return [];
    return s.args.map((a) => {
      const p = expandPathValue(a, env, tokens, s.at);
      return path.isAbsolute(p) ? p : path.join(env.home, p);
    });
  };
  return {
    user: expandList(ev.first('userknownhostsfile'), [path.join(env.home, '.ssh', 'known_hosts'), path.join(env.home, '.ssh', 'known_hosts2')]),
    global: expandList(ev.first('globalknownhostsfile'), ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']),
  };
}

function timersOf(ev: Evaluation): { connectTimeoutMs: number | undefined; serverAliveIntervalMs: number; serverAliveCountMax: number } {
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
  return { connectTimeoutMs, serverAliveIntervalMs: sai === undefined ? 0 : parseSeconds(sai, 'ServerAliveInterval') * 1000, serverAliveCountMax };
}

/** Where each option came from: lower-case option name → `file:line`. */
function sourcesOf(ev: Evaluation): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const [k, v] of ev.settings) sources[k] = v.at;
  if (ev.proxy !== undefined) sources[ev.proxy.kind === 'jump' ? 'proxyjump' : 'proxycommand'] = ev.proxy.at;
  if (ev.identityFiles.length > 0) sources['identityfile'] = ev.identityFiles.map((s) => s.at).join(', ');
  return sources;
}

/**
 * Resolves one target (no jump chain): the options OpenSSH would use to connect to it.
 * `target` is a string as typed or an already parsed spec.
 */
export async function resolveHost(target: string | TargetSpec, opts: ResolveOptions = {}): Promise<ResolvedHost> {
  const spec = typeof target === 'string' ? parseTarget(target) : target;
  const env = envInfo(opts);
  const ev = await evaluate(spec, opts, env);
  const { hostname, user, port } = endpoint(ev, env);
  const proxyJump = proxyJumpOf(ev, spec.host);
  const hostKeyAlias = hostKeyAliasOf(ev);
  const tokens: TokenValues = {
    h: hostname,
    n: spec.host,
    p: String(port),
    r: user,
    j: ev.proxy?.kind === 'jump' && ev.proxy.value.toLowerCase() !== 'none' ? ev.proxy.value : '',
    k: hostKeyAlias ?? spec.host,
  };
  const identities = identityFilesOf(ev, env, tokens);
  const knownHosts = knownHostsFilesOf(ev, env, tokens);
  const kbd = ev.first('kbdinteractiveauthentication') ?? ev.first('challengeresponseauthentication');
  return {
    alias: spec.host,
    hostname,
    user,
    port,
    identityFiles: identities.files,
    identityFilesExplicit: identities.explicit,
    identitiesOnly: parseYesNo(ev.first('identitiesonly'), false, 'IdentitiesOnly'),
    identityAgent: identityAgentOf(ev, env, tokens),
    proxyJump,
    userKnownHostsFiles: knownHosts.user,
    globalKnownHostsFiles: knownHosts.global,
    strictHostKeyChecking: parseStrict(ev.first('stricthostkeychecking')),
    hostKeyAlias,
    hashKnownHosts: parseYesNo(ev.first('hashknownhosts'), false, 'HashKnownHosts'),
    ...timersOf(ev),
    batchMode: parseYesNo(ev.first('batchmode'), false, 'BatchMode'),
    passwordAuthentication: parseYesNo(ev.first('passwordauthentication'), true, 'PasswordAuthentication'),
    kbdInteractiveAuthentication: parseYesNo(kbd, true, 'KbdInteractiveAuthentication'),
    pubkeyAuthentication: pubkeyFlag(ev.first('pubkeyauthentication')),
    sources: sourcesOf(ev),
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
    for (const line of (await readConfigFile(file, env)) ?? []) {
      if (line.keyword === 'host') {
        for (const p of line.args) {
          if (p.startsWith('!') || hasWildcard(p) || seen.has(p)) continue;
          seen.add(p);
          out.push({ alias: p, at: line.at });
        }
      } else if (line.keyword === 'include') {
        for (const arg of line.args) for (const f of await includedFiles(arg, env, path.join(env.home, '.ssh'), line.at)) await walk(f, depth + 1);
      }
    }
  };
  for (const f of files) await walk(f.file, 0);
  return out;
}
