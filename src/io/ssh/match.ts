/**
 * Which lines of an ssh config apply to a target, as OpenSSH decides (readconf.c): Host and
 * Match blocks, first value wins, the final pass after canonicalisation. Pure: the files are
 * read by configFiles.ts and walked by config.ts. `Match exec` is never run: a block with an
 * `exec` criterion does not match, and a warning says so; `Match localnetwork`, `tagged`,
 * `version`, `command` and `sessiontype` never match (with a warning).
 */
import { IoError } from '../errors';
import type { ConfigLine } from './configText';
import { matchPattern, matchPatternList } from './patterns';
import { expandHostnameTokens, type Env } from './tokens';

/** An option's arguments and where they were written (`file:line`). */
export interface Setting {
  readonly args: readonly string[];
  readonly at: string;
}

/** What one resolution has gathered so far. */
export class Evaluation {
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

const IGNORED_REPEATABLE = new Set(['localforward', 'remoteforward', 'dynamicforward', 'certificatefile', 'sendenv', 'setenv']);
const UNSUPPORTED_WARN = new Set(['localcommand', 'permitlocalcommand', 'remotecommand', 'controlmaster', 'controlpath', 'controlpersist', 'knownhostscommand', 'pkcs11provider', 'securitykeyprovider']);

/** Does a `Host` line (patterns, `!` negation) match the current subject? */
export function matchHostLine(ev: Evaluation, patterns: readonly string[]): boolean {
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

/** Does a `Match` line match? (`final` asks for a second pass.) */
export function evalMatch(ev: Evaluation, args: readonly string[], at: string): boolean {
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

/** Takes an option line of an active block: the first value wins; IdentityFile accumulates; ProxyJump / ProxyCommand, the first of either. */
export function applyOption(ev: Evaluation, line: ConfigLine): void {
  const kw = line.keyword;
  if (kw === 'identityfile') {
    ev.identityFiles.push({ args: line.args, at: line.at });
  } else if (kw === 'proxyjump' || kw === 'proxycommand') {
    if (kw === 'proxyjump' && ev.ignoreProxyJump) return;
    if (ev.proxy === undefined) ev.proxy = { kind: kw === 'proxyjump' ? 'jump' : 'command', value: line.args.join(' '), at: line.at };
  } else if (!IGNORED_REPEATABLE.has(kw)) {
    if (UNSUPPORTED_WARN.has(kw) && !ev.settings.has(kw)) ev.warn(`${line.at}: ${kw} is ignored by Conntrack Doctor`);
    if (!ev.settings.has(kw)) ev.settings.set(kw, { args: line.args, at: line.at });
  }
}
