/** The `conntrack-doctor` command line: the engine without VS Code. */
import { runLint } from './lint';
import { HOST_USAGE, runApply, runDiagnose, runEntries, runRollback, runWatch } from './hostCommands';
import { processIO, type CliIO } from './io';
import { FLEET_USAGE, runFleet } from './fleet';
import { runAnsible } from './ansible';

const VERSION = '0.1.0';

export const USAGE = `usage: conntrack-doctor <command> [options]

Commands:
  lint [FILES...] [--root DIR] [--loader systemd|procps|both] [--format text|json]
        lint sysctl files for conntrack problems (precedence, boot persistence, risky values)
${HOST_USAGE}
${FLEET_USAGE}
  ansible TARGET FIX... [-o FILE] [--hosts PATTERN] [--inventory FILE]
        an Ansible playbook (and its rollback) that applies fixes computed on TARGET to many hosts
  help  show this help
  version

Run 'conntrack-doctor <command> --help' for a command's options.`;

export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'lint':
      return runLint(rest, io);
    case 'diagnose':
      return runDiagnose(rest, io);
    case 'entries':
      return runEntries(rest, io);
    case 'watch':
      return runWatch(rest, io);
    case 'apply':
      return runApply(rest, io);
    case 'rollback':
      return runRollback(rest, io);
    case 'fleet':
      return runFleet(rest, io);
    case 'ansible':
      return runAnsible(rest, io);
    case 'version':
    case '--version':
      io.stdout(`${VERSION}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      io.stdout(`${USAGE}\n`);
      return 0;
    case undefined:
      io.stderr(`${USAGE}\n`);
      return 2;
    default:
      io.stderr(`conntrack-doctor: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`conntrack-doctor: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
