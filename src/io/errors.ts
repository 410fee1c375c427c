/**
 * One error class for everything the I/O layer can fail at, with a machine-readable `kind` so
 * the CLI and the extension can react (offer to add a host key, say "the host's conntrack table
 * may be full", ask for a sudo password again…) without parsing messages.
 *
 * Messages never contain secrets (passwords, passphrases, private keys).
 */

export type IoErrorKind =
  /** the ssh config or the target could not be understood (bad syntax, hostile value) */
  | 'config'
  /** the host name does not resolve (ENOTFOUND / EAI_AGAIN) */
  | 'dns'
  /** the TCP connection was refused (nothing listens on that port) */
  | 'refused'
  /** no route to the host or the network */
  | 'unreachable'
  /** connect, handshake or jump-host forwarding timed out */
  | 'timeout'
  /** the host presented a key nobody has seen and the policy refuses unknown keys */
  | 'host-key-unknown'
  /** the host presented a key that differs from the one on record */
  | 'host-key-changed'
  /** the host presented a key marked @revoked */
  | 'host-key-revoked'
  /** every authentication method failed (the message lists which were tried) */
  | 'auth-failed'
  /** the user cancelled a prompt (password, passphrase, host key question) */
  | 'cancelled'
  /** the connection dropped and could not be re-established */
  | 'connection-lost'
  /** a remote or local command exceeded its time budget */
  | 'command-timeout'
  /** a command was aborted through its AbortSignal */
  | 'command-aborted'
  /** a command printed more than maxOutputBytes */
  | 'output-too-large'
  /** the command could not be started (channel refused, binary missing locally) */
  | 'command-failed'
  /** a command ran on the host and failed where the caller needs it to work (the collection script, the entry summary or listing, counting entries); the message has its stderr */
  | 'command-error'
  /** a privileged command needs a sudo password and none was given */
  | 'sudo-password-required'
  /** sudo refused the password */
  | 'sudo-refused'
  /** the account is neither root nor allowed to use sudo */
  | 'privilege-unavailable'
  /** the SSH protocol failed in some other way */
  | 'protocol';

export interface IoErrorDetails {
  /** user@host:port of the hop the error is about */
  readonly target?: string;
  /** which connection phase failed */
  readonly phase?: 'dns' | 'tcp-connect' | 'handshake' | 'host-key' | 'auth' | 'jump-forward' | 'exec';
  /** auth methods that were tried, in order (auth-failed) */
  readonly triedMethods?: readonly string[];
  /** host key data (host-key-*) */
  readonly hostKey?: {
    readonly keyType: string;
    readonly fingerprint: string;
    readonly knownFingerprint?: string;
    readonly knownKeyType?: string;
    /** file:line of the known (or revoked) entry */
    readonly knownAt?: string;
  };
  /** a rendered, redacted command (command-*) */
  readonly command?: string;
}

export class IoError extends Error {
  override readonly name = 'IoError';
  readonly kind: IoErrorKind;
  readonly details: IoErrorDetails;

  constructor(kind: IoErrorKind, message: string, details: IoErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.details = details;
  }
}

export function isIoError(e: unknown, kind?: IoErrorKind): e is IoError {
  return e instanceof IoError && (kind === undefined || e.kind === kind);
}

/** The sentence every connect timeout carries: see docs in kernel-conntrack.md. */
export const CONNTRACK_TIMEOUT_HINT =
  'One known cause is a full conntrack table on that host ("nf_conntrack: table full, dropping packet"): ' +
  'new connections (their SYN) cannot get a table entry and are dropped, while connections that already exist keep working. ' +
  'Other causes: a firewall dropping packets, a wrong address, or the host being down.';
