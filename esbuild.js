// Bundles the extension entry and the CLI entry (CommonJS, Node 20).
// ssh2's optional native parts are left out: ssh2 requires them inside try/catch
// and falls back to pure JavaScript.
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['vscode', 'cpu-features', '*.node'],
  metafile: true,
};

const entries = [
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];

/**
 * In watch mode, a rebuild prints "[watch] build started", the errors as
 * "✘ [ERROR] message" + "    file:line:col:", then "[watch] build finished" once every entry
 * is built: the background problem matcher of .vscode/tasks.json reads exactly these lines, and
 * F5 waits for the "finished" one.
 */
let building = 0;
const watchReport = {
  name: 'watch-report',
  setup(build) {
    build.onStart(() => {
      if (building++ === 0) console.log('[watch] build started');
    });
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      if (--building === 0) console.log('[watch] build finished');
    });
  },
};

async function main() {
  if (watch) {
    for (const entry of entries) {
      // esbuild's own report is silenced: the plugin prints the one the problem matcher reads
      const ctx = await esbuild.context({ ...common, ...entry, logLevel: 'silent', plugins: [watchReport] });
      await ctx.watch();
    }
    return;
  }
  for (const entry of entries) {
    const result = await esbuild.build({ ...common, ...entry });
    const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
    console.log(`esbuild: ${entry.outfile} ${(bytes / 1024).toFixed(1)} KiB`);
  }
  fs.chmodSync(path.join(__dirname, 'dist/cli.js'), 0o755);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
