/**
 * Where scripts/vscode/install.sh put code-server, Node 24, the Node-20 tools and Chromium.
 * The paths come from scripts/vscode/paths.sh itself, so the shell scripts and this runner
 * can never disagree (and the same CTD_* environment overrides apply to both).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '../..');

export interface InstalledPaths {
  /** Node 24 binary code-server runs on (4.139 refuses Node 20). */
  readonly node24: string;
  /** code-server's package folder (…/node_modules/code-server). */
  readonly codeServerPackage: string;
  /** node_modules holding playwright-core, @vscode/test-electron and @vscode/vsce. */
  readonly toolsModules: string;
  readonly chromium: string;
}

const installHint = 'run `bash scripts/vscode/install.sh` first';

export function installedPaths(): InstalledPaths {
  const out = execFileSync('bash', ['-c', 'source "$1" && printf "%s\\n" "$CTD_NODE24_DIR" "$CTD_CODE_SERVER_DIR" "$CTD_TOOLS_DIR"', 'paths', join(repoRoot, 'scripts/vscode/paths.sh')], { encoding: 'utf8' });
  const [nodeDir = '', codeServerDir = '', toolsDir = ''] = out.trimEnd().split('\n');
  const paths: InstalledPaths = {
    node24: join(nodeDir, 'bin/node'),
    codeServerPackage: join(codeServerDir, 'node_modules/code-server'),
    toolsModules: join(toolsDir, 'node_modules'),
    chromium: process.env['CTD_CHROMIUM'] ?? '/usr/bin/chromium',
  };
  for (const marker of [join(nodeDir, '.complete'), join(codeServerDir, '.complete'), join(toolsDir, '.complete'), paths.chromium]) {
    if (!existsSync(marker)) throw new Error(`${marker} is missing: ${installHint}`);
  }
  return paths;
}

/**
 * Loads a tool from the project's node_modules if the lead added it as a devDependency,
 * else from the install script's tools folder. The tools are deliberately not in
 * package.json: the harness must not change the project's lock file.
 */
export function requireTool(name: string, paths: InstalledPaths = installedPaths()): unknown {
  for (const base of [join(repoRoot, 'package.json'), join(paths.toolsModules, '..', 'package.json')]) {
    const req = createRequire(base);
    try {
      return req(req.resolve(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  throw new Error(`npm package ${name} not found: ${installHint}`);
}
