/**
 * An Ansible inventory (YAML) from the hosts of an ssh config: one group of the ssh aliases, and
 * `ansible_ssh_common_args: -F CONFIG` when the config is not the default one. Ansible's ssh
 * connection runs OpenSSH, which then resolves each alias exactly as `ssh ALIAS` does (HostName,
 * Port, User, IdentityFile, ProxyJump, and the host keys: known_hosts, StrictHostKeyChecking).
 */
import { renderCommand } from '../fix/quote';
import { ValidationError, validateSingleLine } from '../fix/validate';
import { Unsafe, yamlDocument, type YamlMapping } from './yaml';

export interface InventoryInput {
  readonly group: string;
  /** ssh config aliases (concrete Host patterns). */
  readonly hosts: readonly string[];
  /** The ssh config the aliases come from, when not ~/.ssh/config (absolute path). */
  readonly sshConfigFile?: string | undefined;
  readonly generatedBy?: string | undefined;
}

const GROUP = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Inventory host names Ansible takes as they are (an ssh alias may be user@host:port too). */
const HOST = /^[A-Za-z0-9_.@[\]:-]+$/;

export function buildInventory(input: InventoryInput): string {
  if (!GROUP.test(input.group)) throw new ValidationError('group', `an inventory group name is letters, digits and _ (not starting with a digit), got ${JSON.stringify(input.group)}`);
  if (input.hosts.length === 0) throw new ValidationError('hosts', 'the ssh config lists no concrete Host');
  const hosts: Record<string, YamlMapping> = {};
  for (const h of input.hosts) {
    if (!HOST.test(h)) throw new ValidationError('hosts', `${JSON.stringify(h)} cannot be an inventory host name`);
    hosts[h] = {};
  }
  const group: Record<string, YamlMapping> = { hosts };
  if (input.sshConfigFile !== undefined) {
    const path = validateSingleLine('sshConfigFile', input.sshConfigFile);
    if (!path.startsWith('/')) throw new ValidationError('sshConfigFile', `expected an absolute path, got ${JSON.stringify(path)}`);
    // Ansible splits these arguments like a shell (shlex): quoted by the one quoting function.
    // `!unsafe`, so that a brace in a path is never read as a template.
    group['vars'] = { ansible_ssh_common_args: new Unsafe(renderCommand(['-F', path])) };
  }
  const comments = [
    `Inventory for Conntrack Doctor playbooks: the hosts of ${input.sshConfigFile ?? '~/.ssh/config'}.`,
    'OpenSSH resolves each name from that config (address, user, key, host key checking).',
    ...(input.generatedBy ? [`Made with: ${input.generatedBy}`] : []),
  ];
  return yamlDocument({ all: { children: { [input.group]: group } } }, comments);
}
