/**
 * Where the ssh config touches the file system, in one place: reading a config file (with
 * OpenSSH's ownership check as a warning) and the files an Include names (glob(3) per path
 * segment through core/glob.ts, sorted, no dot files unless the pattern starts with a dot).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { globToRegExp, hasGlob } from '../../core/glob';
import { IoError } from '../errors';
import { parseConfigText, type ConfigLine } from './configText';
import { expandPathValue, type Env } from './tokens';

/**
 * One config file's lines; undefined when it does not exist or is not a regular file. A file
 * others may write (OpenSSH refuses it: "Bad owner or permissions") is read, with a warning.
 */
export async function readConfigFile(file: string, env: Env, warn?: (message: string) => void): Promise<ConfigLine[] | undefined> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) return undefined;
    if ((st.mode & 0o022) !== 0 || (st.uid !== 0 && st.uid !== env.localUid && env.localUid >= 0)) {
      warn?.(`${file}: owned by someone else or writable by group/others (OpenSSH refuses such a file: "Bad owner or permissions")`);
    }
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IoError('config', `cannot read ssh config ${file}: ${(e as Error).message}`, {}, { cause: e });
  }
  return parseConfigText(text, file);
}

/** The files an `Include` argument names: `~`, `${VAR}` and `%` tokens expanded, relative to `base`, globs expanded. */
export async function includedFiles(arg: string, env: Env, base: string, at: string): Promise<string[]> {
  let p = expandPathValue(arg, env, undefined, at);
  if (!path.isAbsolute(p)) p = path.join(base, p);
  return expandGlob(p);
}

async function expandGlob(pattern: string): Promise<string[]> {
  if (!hasGlob(pattern)) return [pattern];
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : parts[0] ?? ''];
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i] ?? '';
    if (seg === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!hasGlob(seg)) {
        next.push(path.join(base, seg));
        continue;
      }
      let names: string[];
      try {
        names = await fs.readdir(base);
      } catch {
        continue;
      }
      const re = globToRegExp(seg);
      for (const n of names.sort()) {
        if (n.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(n)) next.push(path.join(base, n));
      }
    }
    bases = next;
  }
  return bases;
}
