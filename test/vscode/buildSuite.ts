/**
 * Bundles a folder of VS Code tests (index.ts + *.spec.ts) into one CommonJS file for the
 * extension host: out/vscode-tests/<name>/index.js. `vscode` stays external (the extension
 * host provides it); node: built-ins are external on platform node anyway.
 */
import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from '../../harness/vscode/paths';

// Under the repository's out/, which .gitignore and the ESLint config already ignore.
export const outRoot = join(repoRoot, 'out/vscode-tests');

/** Returns the folder to pass as extensionTestsPath (it holds index.js). */
export async function buildSuite(suiteDir: string, name = basename(suiteDir)): Promise<string> {
  const dir = resolve(suiteDir);
  const specs = readdirSync(dir).filter((f) => f.endsWith('.spec.ts')).sort();
  if (specs.length === 0) throw new Error(`${dir} has no *.spec.ts files`);
  const outDir = join(outRoot, name);
  await build({
    // Specs register their tests on import, then index.ts's run() runs them.
    stdin: {
      contents: [...specs.map((f) => `import ${JSON.stringify(`./${f.slice(0, -3)}`)};`), 'export { run } from "./index";'].join('\n'),
      resolveDir: dir,
      sourcefile: `${name}-entry.ts`,
      loader: 'ts',
    },
    outfile: join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode', 'cpu-features', '*.node'],
    logLevel: 'warning',
  });
  return outDir;
}
