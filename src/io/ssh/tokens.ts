/**
 * The ssh config's expansions, as OpenSSH does them: `%` tokens (`%h`, `%p`, `%r`, `%u`, `%d`,
 * `%C` …), `~` and `${VAR}` in path-like options (IdentityFile, UserKnownHostsFile,
 * IdentityAgent, Include). Pure: the environment comes in as `Env`.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { IoError } from '../errors';

/** The local side: home, user, uid, host name and environment variables. */
export interface Env {
  readonly home: string;
  readonly localUser: string;
  readonly localUid: number;
  readonly localHostname: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** HostName with `%h` (the alias) and `%%` expanded; anything else is left for the host-name check to refuse. */
export function expandHostnameTokens(value: string, alias: string): string {
  return value.replace(/%(.)/g, (m, c: string) => {
    if (c === 'h') return alias;
    if (c === '%') return '%';
    return m; // left as is: the host-name check refuses it
  });
}

/** What the connection-specific tokens stand for (known once host, port and user are). */
export interface TokenValues {
  readonly h: string;
  readonly n: string;
  readonly p: string;
  readonly r: string;
  readonly j: string;
  readonly k: string;
}

/** `~`, `${VAR}` and `%x` tokens of path-like options (IdentityFile, UserKnownHostsFile, IdentityAgent, Include). */
export function expandPathValue(value: string, env: Env, tokens: TokenValues | undefined, at: string): string {
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
