/**
 * Host-key verification against OpenSSH known_hosts files, done in ssh2's `hostVerifier`
 * callback, i.e. during key exchange and BEFORE any authentication is attempted (SSH FS, the
 * closest peer, verifies nothing at all).
 *
 * Supported: plain host lists (comma-separated, `*` `?` wildcards, `!` negation), `[host]:port`
 * entries for non-22 ports, hashed entries (`|1|salt|HMAC-SHA1(salt, name)`), `@revoked`
 * (refused in every mode, for any host: a revoked key is compromised). `@cert-authority` lines
 * are NOT supported (ssh2 does not do host certificates): they are ignored and a warning says so.
 *
 * Policy (StrictHostKeyChecking):
 *  - `yes`: a key not on record is refused.
 *  - `accept-new`: a key not on record is accepted; it is appended to a known_hosts file only
 *    when the caller names one (`writeFile`), never otherwise.
 *  - `ask` (interactive default): the `ask` callback gets host, key type and SHA256 fingerprint
 *    and answers reject / accept once / accept and save (save only with `writeFile`).
 *  - `no`: refused by this product unless the caller sets `insecureAllowNoCheck` (a full-table
 *    diagnosis runs sudo on the host; a MITM must not get that password). Even then only
 *    UNKNOWN keys are let through.
 * A key that differs from the one on record (same key type, or a host known only under other key
 * types) is refused in EVERY mode; the error shows both SHA256 fingerprints and the file:line of
 * the known entry. Keys accepted during this session are remembered in memory (SessionHostKeys),
 * so a reconnect that presents another key is caught even when nothing was written.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IoError } from '../errors';
import type { StrictHostKeyChecking } from './config';
import { matchPatternList } from './patterns';

export interface KnownHostEntry {
  readonly file: string;
  readonly line: number;
  readonly marker: 'revoked' | 'cert-authority' | undefined;
  /** plain comma-separated pattern list; undefined for hashed entries */
  readonly patterns: string | undefined;
  readonly hashed: { readonly salt: Buffer; readonly hash: Buffer } | undefined;
  readonly keyType: string;
  readonly key: Buffer;
}

export interface KnownHostsFileSet {
  readonly entries: readonly KnownHostEntry[];
  readonly warnings: readonly string[];
}

/** Reads the key type string at the start of an SSH wire-format public key blob. */
export function sshKeyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4 || len > 64) return '';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH-style fingerprint: `SHA256:` + unpadded base64 of the SHA-256 of the key blob. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The name known_hosts stores for a host: `host` on port 22, `[host]:port` otherwise (lower case). */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** HMAC-SHA1 hashed form of a known_hosts name: `|1|base64(salt)|base64(hash)`. */
export function hashHostName(name: string, salt: Buffer): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

export function parseKnownHosts(text: string, file: string): KnownHostsFileSet {
  const entries: KnownHostEntry[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const at = `${file}:${i + 1}`;
    const fields = raw.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@') === true) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else {
        warnings.push(`${at}: unknown marker ${m ?? ''}; line ignored`);
        continue;
      }
    }
    const [hosts, keyType, b64] = fields;
    if (hosts === undefined || keyType === undefined || b64 === undefined) {
      warnings.push(`${at}: not a known_hosts entry; line ignored`);
      continue;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      warnings.push(`${at}: key is not base64; line ignored`);
      continue;
    }
    const key = Buffer.from(b64, 'base64');
    if (sshKeyType(key) !== keyType) {
      warnings.push(`${at}: key type ${keyType} does not match the key data; line ignored`);
      continue;
    }
    let hashed: KnownHostEntry['hashed'];
    let patterns: string | undefined;
    if (hosts.startsWith('|1|')) {
      const parts = hosts.split('|');
      const salt = Buffer.from(parts[2] ?? '', 'base64');
      const hash = Buffer.from(parts[3] ?? '', 'base64');
      if (parts.length !== 4 || salt.length !== 20 || hash.length !== 20) {
        warnings.push(`${at}: malformed hashed host name; line ignored`);
        continue;
      }
      hashed = { salt, hash };
    } else if (hosts.startsWith('|')) {
      warnings.push(`${at}: unsupported hashed host format; line ignored`);
      continue;
    } else {
      patterns = hosts;
    }
    if (marker === 'cert-authority') {
      warnings.push(`${at}: @cert-authority entries are not supported (host certificates are not used); line ignored`);
    }
    entries.push({ file, line: i + 1, marker, patterns, hashed, keyType, key });
  }
  return { entries, warnings };
}

/** Reads every file that exists; missing files are skipped silently (as OpenSSH does). */
export async function loadKnownHosts(files: readonly string[]): Promise<KnownHostsFileSet> {
  const entries: KnownHostEntry[] = [];
  const warnings: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      warnings.push(`${file}: cannot read: ${(e as Error).message}`);
      continue;
    }
    const parsed = parseKnownHosts(text, file);
    entries.push(...parsed.entries);
    warnings.push(...parsed.warnings);
  }
  return { entries, warnings };
}

/** Does this entry's host field name `name` (as produced by knownHostName)? */
export function entryMatchesName(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed !== undefined) {
    const h = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return timingSafeEqual(h, entry.hashed.hash);
  }
  return matchPatternList(name, entry.patterns ?? '', true) === 'match';
}

export type HostKeyCheck =
  | { readonly status: 'known'; readonly entry: KnownHostEntry | undefined }
  | { readonly status: 'revoked'; readonly entry: KnownHostEntry }
  | { readonly status: 'changed'; readonly entry: KnownHostEntry }
  | { readonly status: 'unknown'; readonly certAuthorityMatched: boolean };

/**
 * Looks a presented key up. Order: revoked anywhere → revoked; an entry for this name with the
 * same key → known; an entry for this name with another key → changed (the first such entry is
 * reported; an entry of the same key type is preferred); otherwise unknown.
 */
export function checkHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyCheck {
  const keyType = sshKeyType(key);
  for (const e of entries) {
    if (e.marker === 'revoked' && e.key.equals(key)) return { status: 'revoked', entry: e };
  }
  let sameType: KnownHostEntry | undefined;
  let otherType: KnownHostEntry | undefined;
  let ca = false;
  for (const e of entries) {
    if (e.marker === 'revoked') continue;
    if (!entryMatchesName(e, name)) continue;
    if (e.marker === 'cert-authority') {
      ca = true;
      continue;
    }
    if (e.key.equals(key)) return { status: 'known', entry: e };
    if (e.keyType === keyType) sameType ??= e;
    else otherType ??= e;
  }
  const changed = sameType ?? otherType;
  if (changed !== undefined) return { status: 'changed', entry: changed };
  return { status: 'unknown', certAuthorityMatched: ca };
}

/** Key types on record for a name (to prefer them in host-key algorithm negotiation). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker !== undefined || !entryMatchesName(e, name)) continue;
    if (!types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

/** One known_hosts line for a host key (hashed when asked). */
export function formatKnownHostsLine(name: string, key: Buffer, opts: { hash?: boolean; salt?: Buffer } = {}): string {
  const hostField = opts.hash === true ? hashHostName(name, opts.salt ?? randomSalt()) : name;
  return `${hostField} ${sshKeyType(key)} ${key.toString('base64')}`;
}

function randomSalt(): Buffer {
  return randomBytes(20);
}

/** Appends one line (creating the file 0600 and its folder 0700 when missing). */
export async function appendKnownHostsLine(file: string, line: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const current = await fs.readFile(file);
    if (current.length > 0 && current[current.length - 1] !== 0x0a) prefix = '\n';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await fs.appendFile(file, `${prefix}${line}\n`, { mode: 0o600 });
}

/** Keys accepted during this process's life (never written unless asked), shared by connections. */
export class SessionHostKeys {
  private readonly keys = new Map<string, Buffer[]>();

  remember(name: string, key: Buffer): void {
    const list = this.keys.get(name) ?? [];
    if (!list.some((k) => k.equals(key))) list.push(Buffer.from(key));
    this.keys.set(name, list);
  }

  entries(): KnownHostEntry[] {
    const out: KnownHostEntry[] = [];
    for (const [name, list] of this.keys) {
      for (const key of list) {
        out.push({ file: '(accepted earlier in this session)', line: 0, marker: undefined, patterns: name, hashed: undefined, keyType: sshKeyType(key), key });
      }
    }
    return out;
  }
}

export interface HostKeyQuestion {
  readonly host: string;
  readonly port: number;
  /** name as known_hosts would store it (`host` or `[host]:port`, or the HostKeyAlias) */
  readonly name: string;
  readonly keyType: string;
  readonly fingerprint: string;
  /** where the answer would be saved, when saving is allowed */
  readonly saveTo: string | undefined;
}

export type HostKeyAnswer = 'reject' | 'accept-once' | 'accept-and-save';

export interface HostKeyVerifierOptions {
  readonly mode: StrictHostKeyChecking;
  /** files read for look-ups (user files then global ones) */
  readonly knownHostsFiles: readonly string[];
  /** the ONLY file ever written (accept-new, ask → accept-and-save); absent: nothing is written */
  readonly writeFile?: string;
  readonly hashOnWrite?: boolean;
  readonly ask?: (q: HostKeyQuestion) => Promise<HostKeyAnswer>;
  /** mode 'no' is refused unless this is true */
  readonly insecureAllowNoCheck?: boolean;
  readonly session?: SessionHostKeys;
  readonly log?: (message: string) => void;
}

export interface HostKeyDecision {
  readonly accepted: true;
  readonly how: 'known' | 'accepted-new' | 'asked' | 'unchecked';
  readonly saved: boolean;
  readonly fingerprint: string;
  readonly keyType: string;
}

export class HostKeyVerifier {
  private readonly session: SessionHostKeys;

  constructor(private readonly opts: HostKeyVerifierOptions) {
    if (opts.mode === 'no' && opts.insecureAllowNoCheck !== true) {
      throw new IoError(
        'config',
        'StrictHostKeyChecking=no is refused by Conntrack Doctor: it would send credentials (and a sudo password) to whoever answers. ' +
          'Use accept-new or ask; the API option insecureAllowNoCheck exists for throw-away test hosts only.',
      );
    }
    this.session = opts.session ?? new SessionHostKeys();
  }

  /** Key types on record for host:port, for algorithm preference. */
  async preferredKeyTypes(host: string, port: number, alias?: string): Promise<string[]> {
    const set = await loadKnownHosts(this.opts.knownHostsFiles);
    return knownKeyTypes([...set.entries, ...this.session.entries()], alias ?? knownHostName(host, port));
  }

  /**
   * Decides on a presented key. Resolves when accepted, rejects with an IoError of kind
   * host-key-unknown / host-key-changed / host-key-revoked / cancelled otherwise.
   * `alias` is a HostKeyAlias (looked up instead of host/port).
   */
  async verify(host: string, port: number, key: Buffer, alias?: string): Promise<HostKeyDecision> {
    const name = alias ?? knownHostName(host, port);
    const target = `${host}:${port}`;
    const keyType = sshKeyType(key);
    const fingerprint = fingerprintSha256(key);
    const set = await loadKnownHosts(this.opts.knownHostsFiles);
    for (const w of set.warnings) this.opts.log?.(w);
    const check = checkHostKey([...set.entries, ...this.session.entries()], name, key);
    const hostKey = { keyType, fingerprint };
    switch (check.status) {
      case 'known':
        return { accepted: true, how: 'known', saved: false, fingerprint, keyType };
      case 'revoked':
        throw new IoError(
          'host-key-revoked',
          `REFUSED: the ${keyType} host key offered by ${target} (${fingerprint}) is marked @revoked at ${check.entry.file}:${check.entry.line}. ` +
            'A revoked key is never accepted.',
          { target, phase: 'host-key', hostKey: { ...hostKey, knownAt: `${check.entry.file}:${check.entry.line}` } },
        );
      case 'changed': {
        const known = fingerprintSha256(check.entry.key);
        const knownAt = `${check.entry.file}:${check.entry.line}`;
        const typeNote = check.entry.keyType === keyType ? '' : ` (the host is on record with a ${check.entry.keyType} key; it now offers only ${keyType})`;
        throw new IoError(
          'host-key-changed',
          `REFUSED: the host key of ${name} has CHANGED${typeNote}. Someone could be intercepting the connection (man-in-the-middle), or the host was reinstalled.\n` +
            `  known   ${check.entry.keyType} ${known}  (${knownAt})\n` +
            `  offered ${keyType} ${fingerprint}\n` +
            `If the change is expected, verify the new fingerprint out of band, then remove the old entry (ssh-keygen -R ${JSON.stringify(name)}${this.opts.knownHostsFiles[0] === undefined ? '' : ` -f ${this.opts.knownHostsFiles[0]}`}) and connect again.`,
          { target, phase: 'host-key', hostKey: { ...hostKey, knownFingerprint: known, knownKeyType: check.entry.keyType, knownAt } },
        );
      }
      case 'unknown':
        break;
    }
    const caNote = check.certAuthorityMatched ? ' (a @cert-authority entry matches this host, but host certificates are not supported)' : '';
    const saveTo = this.opts.writeFile;
    const accept = async (how: HostKeyDecision['how'], save: boolean): Promise<HostKeyDecision> => {
      this.session.remember(name, key);
      let saved = false;
      if (save && saveTo !== undefined) {
        await appendKnownHostsLine(saveTo, formatKnownHostsLine(name, key, { hash: this.opts.hashOnWrite === true }));
        saved = true;
        this.opts.log?.(`added ${keyType} ${fingerprint} for ${name} to ${saveTo}`);
      }
      return { accepted: true, how, saved, fingerprint, keyType };
    };
    switch (this.opts.mode) {
      case 'no':
        this.opts.log?.(`WARNING: host key of ${name} (${keyType} ${fingerprint}) accepted without verification (insecure mode)`);
        return accept('unchecked', false);
      case 'accept-new':
        return accept('accepted-new', true);
      case 'ask': {
        if (this.opts.ask === undefined) break;
        const answer = await this.opts.ask({ host, port, name, keyType, fingerprint, saveTo });
        if (answer === 'reject') {
          throw new IoError('cancelled', `host key of ${name} (${keyType} ${fingerprint}) was not accepted`, { target, phase: 'host-key', hostKey });
        }
        return accept('asked', answer === 'accept-and-save');
      }
      case 'yes':
        break;
    }
    throw new IoError(
      'host-key-unknown',
      `REFUSED: ${name} is not a known host${caNote} and host-key checking is strict. It offered ${keyType} ${fingerprint}. ` +
        `Verify that fingerprint out of band (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${keyType.replace(/^ssh-|-sha2-nistp\d+$/g, '')}_key.pub), then connect in "ask" or "accept-new" mode or add it to known_hosts.`,
      { target, phase: 'host-key', hostKey },
    );
  }
}
