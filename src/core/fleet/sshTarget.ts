/**
 * From a Prometheus instance to the SSH target the diagnosis connects to. In order: an explicit
 * mapping (instance → target), a label of the series chosen by the user (e.g. `hostname` set by
 * relabelling), else the instance with the exporter's port stripped (`web-1:9100` → `web-1`,
 * `[2001:db8::5]:9100` → `2001:db8::5`). The result is an ssh config alias or host, so the
 * user's ~/.ssh/config (User, Port, ProxyJump, keys) applies to it as to any other target.
 */

export interface SshMapping {
  /** Instance → target (`web-1:9100` → `ops@web-1.example.org`). Wins over everything else. */
  readonly targets?: Readonly<Record<string, string>>;
  /** Take the target from this label of the series instead of the instance. */
  readonly label?: string;
  /** Prefix `user@` when the result has no user (otherwise the ssh config decides). */
  readonly user?: string;
}

export type SshTargetResult = { readonly target: string } | { readonly error: string };

// A host, alias or address, optionally user@ and :port — the shapes parseTarget (io/ssh/config)
// accepts; it validates again before connecting. No whitespace, no leading '-', no shell syntax.
const TARGET = /^(?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?\]|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)(?::[0-9]{1,5})?$/;

/** `host:port` → host; `[v6]:port` → v6; a bare IPv6 address or a host without port stays. */
export function stripPort(instance: string): string {
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(instance);
  if (bracket) return bracket[1] ?? instance;
  const colons = instance.split(':').length - 1;
  if (colons === 1) return instance.replace(/:\d+$/, '');
  return instance;
}

export function sshTargetFor(instance: string, labels: Readonly<Record<string, string>>, mapping: SshMapping = {}): SshTargetResult {
  let target: string;
  let from: string;
  const mapped = mapping.targets?.[instance];
  if (mapped !== undefined) {
    target = mapped.trim();
    from = `the mapping of ${instance}`;
  } else if (mapping.label) {
    const value = mapping.label === 'instance' ? instance : labels[mapping.label];
    if (value === undefined || value === '') return { error: `the series of ${instance} has no label "${mapping.label}"` };
    target = mapping.label === 'instance' ? stripPort(value) : value;
    from = `label ${mapping.label}`;
  } else {
    target = stripPort(instance);
    from = 'the instance';
  }
  if (mapping.user && !target.includes('@')) target = `${mapping.user}@${target.includes(':') && !target.startsWith('[') ? `[${target}]` : target}`;
  if (!TARGET.test(target)) return { error: `${JSON.stringify(target)} (from ${from}) is not a host an SSH connection can be made to` };
  return { target };
}
