/**
 * An SSH target as typed (`alias`, `user@host[:port]`, `[v6]:port`, `ssh://…`), ProxyJump hops,
 * and the validation every value that ends up in a connection passes: host names (DNS name,
 * IPv4, IPv6), ports, user names. A HostName such as `-oProxyCommand=…`, `a;reboot` or one with
 * a newline is refused with an IoError of kind `config` naming where it came from. (Nothing
 * here reaches a shell — ssh2 is a library — but hostile values stay out all the same.) Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { IoError } from '../errors';

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

export function parsePort(text: string, where: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || !isValidPort(Number(text))) {
    throw new IoError('config', `${where}: invalid port ${JSON.stringify(text)} (expected 1-65535)`);
  }
  return Number(text);
}

export function checkUser(user: string, where: string): string {
  if (!isValidUser(user)) {
    throw new IoError('config', `${where}: invalid user name ${JSON.stringify(user)}`);
  }
  return user;
}

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
