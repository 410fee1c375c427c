/**
 * Where scripts/vscode/install.sh put code-server, Node 24 and the browser. The paths come from
 * scripts/vscode/paths.sh itself, so the shell scripts and this runner can never disagree (and
 * the same CTD_* environment overrides apply to both). The test tools (@vscode/test-electron,
 * playwright-core, @vscode/vsce) are devDependencies, imported from node_modules.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '../..');

export interface InstalledPaths {
  /** Node 24 binary code-server runs on (4.139 refuses Node 20). */
  readonly node24: string;
  /** code-server's package folder (…/node_modules/code-server). */
  readonly codeServerPackage: string;
  readonly chromium: string;
}

const installHint = 'run `npm run vscode:install` (scripts/vscode/install.sh) first';

export function installedPaths(): InstalledPaths {
  const out = execFileSync('bash', ['-c', 'source "$1" && printf "%s\\n" "$CTD_NODE24_DIR" "$CTD_CODE_SERVER_DIR" "$CTD_CHROMIUM"', 'paths', join(repoRoot, 'scripts/vscode/paths.sh')], { encoding: 'utf8' });
  const [nodeDir = '', codeServerDir = '', chromium = ''] = out.trimEnd().split('\n');
  const paths: InstalledPaths = {
    node24: join(nodeDir, 'bin/node'),
    codeServerPackage: join(codeServerDir, 'node_modules/code-server'),
    chromium,
  };
  for (const marker of [join(nodeDir, '.complete'), join(codeServerDir, '.complete'), paths.chromium]) {
    if (!existsSync(marker)) throw new Error(`${marker} is missing: ${installHint}`);
  }
  return paths;
}
