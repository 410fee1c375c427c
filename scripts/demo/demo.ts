/**
 * The VS Code half of `npm run demo` (scripts/demo.sh runs it once the demo host is in trouble):
 * code-server — a real VS Code — with the packaged extension installed and the demo host
 * configured (its ssh config: host key known, key login), password-protected on 127.0.0.1.
 *
 * Without --check it prints the URL and the password and waits for SIGINT/SIGTERM; with --check
 * it drives the page in headless Chromium (scripts/demo/check.ts) and exits with the verdict.
 * Either way code-server and every process it started are stopped before it exits.
 *
 *   node --import tsx scripts/demo/demo.ts --vsix X.vsix --ssh-config FILE --host ALIAS \
 *        --state DIR --workspace DIR [--port N] [--prometheus URL] [--check --screenshots DIR --dominant IP]
 *
 * Exit code: 0 ok (check passed), 1 the check failed, 2 the harness failed, 130/143 signal.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { codeServerCli, extensionsDir, startCodeServer, writeUserSettings, type CodeServer } from '../../harness/vscode/codeServer';
import { installedPaths, repoRoot } from '../../harness/vscode/paths';
import { runDemoCheck } from './check';

const print = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

interface Options {
  readonly vsix: string;
  readonly sshConfig: string;
  readonly host: string;
  readonly state: string;
  readonly workspace: string;
  readonly port?: number;
  readonly check: boolean;
  readonly screenshots: string;
  readonly dominant: string;
  /** The demo fleet's Prometheus, for the Fleet view. */
  readonly prometheus?: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      vsix: { type: 'string' },
      'ssh-config': { type: 'string' },
      host: { type: 'string', default: 'demo' },
      state: { type: 'string' },
      workspace: { type: 'string' },
      port: { type: 'string' },
      check: { type: 'boolean', default: false },
      screenshots: { type: 'string', default: 'test-output/demo' },
      dominant: { type: 'string', default: '198.18.66.66' },
      prometheus: { type: 'string' },
    },
  });
  const missing = (['vsix', 'ssh-config', 'state', 'workspace'] as const).filter((k) => !values[k]);
  if (missing.length > 0) throw new Error(`missing --${missing.join(', --')} (this script is run by scripts/demo.sh)`);
  const port = values.port !== undefined ? Number(values.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`--port ${values.port}: not a port number`);
  return {
    vsix: resolve(values.vsix ?? ''),
    sshConfig: resolve(values['ssh-config'] ?? ''),
    host: values.host,
    state: resolve(values.state ?? ''),
    workspace: resolve(values.workspace ?? ''),
    ...(port !== undefined ? { port } : {}),
    check: values.check,
    screenshots: resolve(repoRoot, values.screenshots),
    dominant: values.dominant,
    ...(values.prometheus !== undefined ? { prometheus: values.prometheus } : {}),
  };
}

/** Resolves with the signal's exit code on the first SIGINT/SIGTERM (later ones are ignored). */
function onStopSignal(): Promise<number> {
  return new Promise((resolveSignal) => {
    const handler = (sig: NodeJS.Signals): void => {
      print(`\n== ${sig}: stopping code-server`);
      resolveSignal(sig === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    // Keep a handler installed after the first signal, so a second one does not kill us mid-cleanup.
    process.on('SIGINT', () => undefined);
    process.on('SIGTERM', () => undefined);
  });
}

async function main(): Promise<number> {
  const o = options();
  const stopped = onStopSignal();
  let signalled: number | undefined;
  void stopped.then((code) => {
    signalled = code;
  });
  const paths = installedPaths();
  mkdirSync(o.state, { recursive: true });
  let server: CodeServer | undefined;
  try {
    const started = Date.now();
    const install = codeServerCli(paths, o.state, ['--install-extension', o.vsix]);
    if (install.status !== 0) throw new Error(`code-server --install-extension ${o.vsix}: exit ${install.status}\n${install.stdout}${install.stderr}`);
    const installed = readdirSync(extensionsDir(o.state)).filter((f) => !f.startsWith('.') && f !== 'extensions.json');
    print(`   installed ${installed.join(', ')} in ${Date.now() - started} ms`);
    if (signalled !== undefined) return signalled;

    writeUserSettings(o.state, {
      'conntrackDoctor.sshConfigFile': o.sshConfig,
      // The host key is known (UserKnownHostsFile in that ssh config): no prompt, no trust on first use.
      'conntrackDoctor.hostKeyChecking': 'yes',
      'conntrackDoctor.refreshIntervalSeconds': 10,
      ...(o.prometheus !== undefined ? { 'conntrackDoctor.prometheus.url': o.prometheus } : {}),
      // Screen room for the side bar and the editor: no chat side bar; the usual dark theme.
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'workbench.colorTheme': 'Default Dark Modern',
    });
    // A fresh random password per run, handed to code-server in its environment only.
    const password = randomBytes(18).toString('base64url');
    server = await startCodeServer({
      paths,
      stateDir: o.state,
      smokeTestDriver: false,
      // No extension gallery: nothing is looked up on the internet.
      env: { EXTENSIONS_GALLERY: '{}' },
      password,
      ...(o.port !== undefined ? { port: o.port } : {}),
      readyTimeoutMs: 120_000,
    });
    const url = `${server.url}?folder=${encodeURIComponent(o.workspace)}`;
    print(`   code-server ready in ${Date.now() - started} ms`);
    if (signalled !== undefined) return signalled;

    if (o.check) {
      const verdict = runDemoCheck({ paths, url, password, host: o.host, dominant: o.dominant, screenshots: o.screenshots, stateDir: o.state, print });
      const outcome = await Promise.race([verdict.done.then((code) => ({ code, aborted: false })), stopped.then((code) => ({ code, aborted: true }))]);
      if (outcome.aborted) await verdict.abort();
      return outcome.code;
    }

    const port = server.authority.split(':')[1] ?? '';
    print();
    print('Conntrack Doctor is running in VS Code:');
    print();
    print(`   URL       ${url}`);
    print(`   password  ${password}`);
    print();
    print(`From another machine: ssh -L ${port}:127.0.0.1:${port} root@${hostname()}   then open the URL there.`);
    print(`Open the Conntrack view in the activity bar and click "${o.host}" in Hosts.`);
    if (o.prometheus !== undefined) print(`The Fleet view below it ranks the demo fleet from Prometheus (${o.prometheus}): "Diagnose over SSH" on the first row.`);
    print('The workspace holds a copy of examples/host-in-trouble (local sysctl files to open).');
    print('Ctrl-C stops VS Code, the traffic and the demo host.');
    const ended = await Promise.race([stopped, server.exited.then((how) => how)]);
    if (typeof ended === 'string') {
      print(`demo: ${ended}`);
      return 2;
    }
    return ended;
  } finally {
    await server?.stop();
    rmSync(o.state, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
