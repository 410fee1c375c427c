/**
 * An ssh config file's text as lines of keyword and arguments, each with its `file:line`.
 * Lines are tokenised by cyjake's `ssh-config` parser one at a time (so every value keeps where
 * it came from); its `compute()` is deliberately NOT used: it runs `Match exec` commands through
 * a shell and resolves names with nslookup. Pure.
 */
import SSHConfig from 'ssh-config';
import { IoError } from '../errors';

export interface ConfigLine {
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

export function parseConfigText(text: string, file: string): ConfigLine[] {
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
