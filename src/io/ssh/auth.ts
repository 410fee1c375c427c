/**
 * Client authentication for one hop, in OpenSSH's order: agent keys (SSH_AUTH_SOCK or
 * IdentityAgent; with IdentitiesOnly only those matching an IdentityFile), then every
 * IdentityFile in order, then keyboard-interactive, then password (3 attempts).
 *
 * Identity files are offered through a small in-process "agent": the server is first asked
 * whether it would accept the PUBLIC key (from the .pub file or the unencrypted header of an
 * OpenSSH-format key), and a passphrase is asked for only when it would. Decrypted keys and a
 * password that worked stay in memory for reconnects of this connection only.
 *
 * Secrets never go to a log, an error message, argv or the environment.
 */
import { promises as fs } from 'node:fs';
import {
  BaseAgent,
  OpenSSHAgent,
  utils,
  type AnyAuthMethod,
  type AuthenticationType,
  type IdentityCallback,
  type KeyboardInteractiveCallback,
  type ParsedKey,
  type Prompt,
  type SignCallback,
  type SigningRequestOptions,
} from 'ssh2';
import type { ResolvedHost } from './config';

export interface PromptRequest {
  readonly kind: 'password' | 'passphrase' | 'keyboard-interactive' | 'sudo-password';
  /** user@host:port the secret is for */
  readonly target: string;
  /** text to show (server-provided for keyboard-interactive) */
  readonly message: string;
  /** false: hide what is typed */
  readonly echo: boolean;
  /** the key file (passphrase prompts) */
  readonly keyFile?: string;
  /** 1 for the first try, 2 after a refusal, … */
  readonly attempt: number;
}

/** Asks the user; resolves undefined when they cancel. The CLI reads a terminal, the extension shows an input box. */
export type Prompter = (request: PromptRequest) => Promise<string | undefined>;

interface KeyEntry {
  readonly file: string;
  readonly publicBlob: Buffer;
  readonly publicKey: ParsedKey;
  privateKey: ParsedKey | undefined;
  /** raw private key file text (kept only until decrypted) */
  readonly data: Buffer;
}

/** Public blob of an OpenSSH-format private key, readable even when the key is encrypted. */
export function openSshPrivateKeyPublicBlob(text: string): Buffer | undefined {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (m === null) return undefined;
  const buf = Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (buf.subarray(0, magic.length).toString('latin1') !== magic) return undefined;
  let off = magic.length;
  const readString = (): Buffer | undefined => {
    if (off + 4 > buf.length) return undefined;
    const len = buf.readUInt32BE(off);
    off += 4;
    if (off + len > buf.length) return undefined;
    const s = buf.subarray(off, off + len);
    off += len;
    return s;
  };
  if (readString() === undefined || readString() === undefined || readString() === undefined) return undefined; // cipher, kdf, kdfoptions
  if (off + 4 > buf.length) return undefined;
  const n = buf.readUInt32BE(off);
  off += 4;
  if (n < 1) return undefined;
  return readString();
}

function publicKeyFromBlob(blob: Buffer): ParsedKey | undefined {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + len).toString('latin1');
  const parsed = utils.parseKey(`${type} ${blob.toString('base64')}`);
  return parsed instanceof Error ? undefined : parsed;
}

function isEncryptedKeyError(e: Error): boolean {
  return /no passphrase given|encrypted/i.test(e.message);
}

export interface IdentityLoadResult {
  readonly entries: KeyEntry[];
  readonly notes: string[];
}

/** Reads identity files (private key, else its public part) without asking for anything. */
export async function loadIdentityFiles(files: readonly string[]): Promise<IdentityLoadResult> {
  const entries: KeyEntry[] = [];
  const notes: string[] = [];
  for (const file of files) {
    let data: Buffer;
    try {
      data = await fs.readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') notes.push(`identity file ${file}: ${code ?? 'unreadable'}`);
      continue;
    }
    const parsed = utils.parseKey(data);
    if (!(parsed instanceof Error)) {
      if (!parsed.isPrivateKey()) {
        notes.push(`identity file ${file} holds no private key; skipped`);
        continue;
      }
      const blob = parsed.getPublicSSH();
      const pub = publicKeyFromBlob(blob);
      if (pub === undefined) continue;
      entries.push({ file, publicBlob: blob, publicKey: pub, privateKey: parsed, data });
      continue;
    }
    if (!isEncryptedKeyError(parsed)) {
      notes.push(`identity file ${file}: ${parsed.message}; skipped`);
      continue;
    }
    // encrypted: public part from the .pub file or the OpenSSH header
    let blob: Buffer | undefined;
    try {
      const pubText = await fs.readFile(`${file}.pub`, 'utf8');
      const p = utils.parseKey(pubText);
      if (!(p instanceof Error)) blob = p.getPublicSSH();
    } catch {
      /* no .pub */
    }
    blob ??= openSshPrivateKeyPublicBlob(data.toString('latin1'));
    const pub = blob === undefined ? undefined : publicKeyFromBlob(blob);
    if (blob === undefined || pub === undefined) {
      notes.push(`identity file ${file} is encrypted and has no readable public key (${file}.pub); skipped`);
      continue;
    }
    entries.push({ file, publicBlob: blob, publicKey: pub, privateKey: undefined, data });
  }
  return { entries, notes };
}

type SignOptions = SigningRequestOptions | undefined;

/** Offers identity-file keys like an agent; decrypts (asking for the passphrase) only on use. */
export class IdentityFileAgent extends BaseAgent<ParsedKey> {
  private loaded: Promise<IdentityLoadResult> | undefined;
  /** files whose key the server was asked about, for the auth-failed message */
  readonly offered: string[] = [];

  constructor(
    private readonly files: readonly string[],
    private readonly exclude: () => readonly Buffer[],
    private readonly prompt: Prompter | undefined,
    private readonly target: string,
    private readonly note: (message: string) => void,
  ) {
    super();
  }

  load(): Promise<IdentityLoadResult> {
    this.loaded ??= loadIdentityFiles(this.files).then((r) => {
      for (const n of r.notes) this.note(n);
      return r;
    });
    return this.loaded;
  }

  override getIdentities(cb: IdentityCallback<ParsedKey>): void {
    this.load().then(
      (r) => {
        const excluded = this.exclude();
        const keys = r.entries.filter((e) => !excluded.some((x) => x.equals(e.publicBlob)));
        for (const k of keys) if (!this.offered.includes(k.file)) this.offered.push(k.file);
        cb(null, keys.map((k) => k.publicKey));
      },
      (e: unknown) => cb(e instanceof Error ? e : new Error(String(e))),
    );
  }

  override sign(pubKey: ParsedKey | Buffer | string, data: Buffer, options: SignOptions | SignCallback, cb?: SignCallback): void {
    const done: SignCallback = typeof options === 'function' ? options : (cb ?? (() => undefined));
    const opts: SignOptions = typeof options === 'function' ? undefined : options;
    const blob = typeof pubKey === 'object' && !Buffer.isBuffer(pubKey) ? pubKey.getPublicSSH() : undefined;
    this.signAsync(blob, data, opts).then(
      (sig) => done(null, sig),
      (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
    );
  }

  private async signAsync(blob: Buffer | undefined, data: Buffer, opts: SignOptions): Promise<Buffer> {
    const r = await this.load();
    const entry = r.entries.find((e) => blob !== undefined && e.publicBlob.equals(blob));
    if (entry === undefined) throw new Error('unknown key');
    if (entry.privateKey === undefined) {
      if (this.prompt === undefined) throw new Error(`${entry.file} is encrypted and no passphrase prompt is available`);
      for (let attempt = 1; attempt <= 3 && entry.privateKey === undefined; attempt++) {
        const pass = await this.prompt({ kind: 'passphrase', target: this.target, message: `Passphrase for key ${entry.file}`, echo: false, keyFile: entry.file, attempt });
        if (pass === undefined) throw new Error(`passphrase for ${entry.file} not given`);
        const parsed = utils.parseKey(entry.data, pass);
        if (parsed instanceof Error) {
          this.note(`wrong passphrase for ${entry.file}`);
          continue;
        }
        entry.privateKey = parsed;
      }
      if (entry.privateKey === undefined) throw new Error(`no valid passphrase for ${entry.file}`);
    }
    const sig = entry.privateKey.sign(data, opts?.hash);
    if (sig instanceof Error) throw sig;
    return sig;
  }
}

/** The user's ssh-agent; with IdentitiesOnly only keys matching an identity file are offered. */
export class FilteredAgent extends BaseAgent<ParsedKey> {
  private readonly inner: OpenSSHAgent;
  /** blobs offered to the server (so identity files do not offer them twice) */
  readonly offeredBlobs: Buffer[] = [];

  constructor(
    socket: string,
    private readonly only: (() => Promise<readonly Buffer[]>) | undefined,
  ) {
    super();
    this.inner = new OpenSSHAgent(socket);
  }

  override getIdentities(cb: IdentityCallback<ParsedKey>): void {
    this.inner.getIdentities((err, keys) => {
      if (err !== null && err !== undefined) {
        cb(err);
        return;
      }
      const list = (keys ?? []).filter((k): k is ParsedKey => 'getPublicSSH' in k);
      const finish = (allowed: readonly Buffer[] | undefined): void => {
        const kept = list.filter((k) => allowed === undefined || allowed.some((a) => a.equals(k.getPublicSSH())));
        for (const k of kept) this.offeredBlobs.push(k.getPublicSSH());
        cb(null, kept);
      };
      if (this.only === undefined) finish(undefined);
      else this.only().then(finish, () => finish([]));
    });
  }

  override sign(pubKey: ParsedKey, data: Buffer, options: SignOptions | SignCallback, cb?: SignCallback): void {
    if (typeof options === 'function') this.inner.sign(pubKey, data, options);
    else this.inner.sign(pubKey, data, options ?? {}, cb ?? (() => undefined));
  }
}

/** Auth material kept for reconnects of one hop (in memory only). */
export class HopCredentials {
  password: string | undefined;
  fileAgent: IdentityFileAgent | undefined;
  /** the agent of the current attempt (its keys are not offered again from files) */
  agent: FilteredAgent | undefined;
  /** the prompt of the current attempt (pauses that attempt's auth timer) */
  prompt: Prompter | undefined;
  clear(): void {
    this.password = undefined;
    this.fileAgent = undefined;
    this.agent = undefined;
    this.prompt = undefined;
  }
}

interface Step {
  readonly method: 'publickey' | 'keyboard-interactive' | 'password';
  readonly label: string;
  readonly make: () => Promise<AnyAuthMethod | undefined>;
}

export interface AuthPlanOptions {
  readonly hop: ResolvedHost;
  readonly target: string;
  readonly prompt: Prompter | undefined;
  readonly credentials: HopCredentials;
  readonly agentSocketExists: (socket: string) => Promise<boolean>;
  readonly note: (message: string) => void;
  /** called when a method is started (for logs and tests) */
  readonly onAttempt: (label: string) => void;
  /** prompts pause the caller's auth timer */
  readonly promptStarted: () => void;
  readonly promptEnded: () => void;
}

export interface AuthPlan {
  /** ssh2 authHandler (function form) */
  readonly handler: (methodsLeft: AuthenticationType[] | null, partialSuccess: boolean | null, next: (m: AnyAuthMethod | false) => void) => void;
  /** labels of the methods tried, in order */
  readonly tried: string[];
  /** true when the user cancelled a prompt */
  cancelled: boolean;
  /** the password used by the last password attempt (to cache on success) */
  lastPassword: string | undefined;
}

export function buildAuthPlan(o: AuthPlanOptions): AuthPlan {
  const { hop, prompt, credentials } = o;
  const username = hop.user;
  const steps: Step[] = [];
  const interactive = prompt !== undefined && !hop.batchMode;
  const ask = async (req: Omit<PromptRequest, 'target'>): Promise<string | undefined> => {
    if (prompt === undefined) return undefined;
    o.promptStarted();
    try {
      return await prompt({ ...req, target: o.target });
    } finally {
      o.promptEnded();
    }
  };
  const guardedPrompt: Prompter = (req) => ask(req);

  credentials.agent = undefined;
  credentials.prompt = interactive ? guardedPrompt : undefined;
  credentials.fileAgent ??= new IdentityFileAgent(
    hop.identityFiles,
    () => credentials.agent?.offeredBlobs ?? [],
    interactive ? (req) => (credentials.prompt === undefined ? Promise.resolve(undefined) : credentials.prompt(req)) : undefined,
    o.target,
    o.note,
  );
  const fileAgent = credentials.fileAgent;
  const socket = hop.identityAgent.kind === 'none' ? undefined : hop.identityAgent.socket;

  if (hop.pubkeyAuthentication) {
    if (socket !== undefined) {
      steps.push({
        method: 'publickey',
        label: `publickey (agent ${socket})`,
        make: async () => {
          if (!(await o.agentSocketExists(socket))) {
            o.note(`agent socket ${socket} not found; agent skipped`);
            return undefined;
          }
          const agent = new FilteredAgent(socket, hop.identitiesOnly ? async () => (await fileAgent.load()).entries.map((e) => e.publicBlob) : undefined);
          credentials.agent = agent;
          return { type: 'agent', username, agent };
        },
      });
    }
    steps.push({
      method: 'publickey',
      label: 'publickey (identity files)',
      make: async () => {
        const r = await fileAgent.load();
        if (r.entries.length === 0) return undefined;
        return { type: 'agent', username, agent: fileAgent };
      },
    });
  }
  if (interactive && hop.kbdInteractiveAuthentication) {
    for (let attempt = 1; attempt <= 3; attempt++) {
      steps.push({
        method: 'keyboard-interactive',
        label: 'keyboard-interactive',
        make: () =>
          Promise.resolve({
            type: 'keyboard-interactive',
            username,
            prompt: (_name: string, instructions: string, _lang: string, prompts: Prompt[], finish: KeyboardInteractiveCallback) => {
              void (async () => {
                const answers: string[] = [];
                for (const p of prompts) {
                  const isPassword = /password/i.test(p.prompt) && p.echo !== true;
                  if (isPassword && credentials.password !== undefined && attempt === 1) {
                    answers.push(credentials.password);
                    continue;
                  }
                  const text = [instructions, p.prompt].filter((s) => s !== '').join('\n');
                  const a = await ask({ kind: 'keyboard-interactive', message: text, echo: p.echo === true, attempt });
                  if (a === undefined) {
                    plan.cancelled = true;
                    break;
                  }
                  if (isPassword) plan.lastPassword = a;
                  answers.push(a);
                }
                finish(plan.cancelled ? [] : answers);
              })();
            },
          }),
      });
    }
  }
  if (interactive && hop.passwordAuthentication) {
    for (let attempt = 1; attempt <= 3; attempt++) {
      steps.push({
        method: 'password',
        label: 'password',
        make: async () => {
          let password = attempt === 1 ? credentials.password : undefined;
          if (password === undefined) {
            password = await ask({ kind: 'password', message: `Password for ${o.target}`, echo: false, attempt });
            if (password === undefined) {
              plan.cancelled = true;
              return undefined;
            }
          }
          plan.lastPassword = password;
          return { type: 'password', username, password };
        },
      });
    }
  }

  let index = 0;
  const plan: AuthPlan = {
    tried: [],
    cancelled: false,
    lastPassword: undefined,
    handler: (methodsLeft, _partial, next) => {
      if (methodsLeft === null) {
        // like OpenSSH: ask with "none" first, to learn which methods the server accepts
        next({ type: 'none', username });
        return;
      }
      void (async () => {
        while (index < steps.length && !plan.cancelled) {
          const step = steps[index++];
          if (step === undefined) break;
          if (!methodsLeft.includes(step.method)) continue;
          let method: AnyAuthMethod | undefined;
          try {
            method = await step.make();
          } catch (e) {
            o.note(`${step.label}: ${(e as Error).message}`);
            continue;
          }
          if (method === undefined) continue;
          if (plan.tried[plan.tried.length - 1] !== step.label) plan.tried.push(step.label);
          o.onAttempt(step.label);
          next(method);
          return;
        }
        next(false);
      })();
    },
  };
  return plan;
}

export function describeTried(plan: AuthPlan, fileAgent: IdentityFileAgent | undefined): string[] {
  return plan.tried.map((t) => (t === 'publickey (identity files)' && fileAgent !== undefined && fileAgent.offered.length > 0 ? `publickey (${fileAgent.offered.join(', ')})` : t));
}
