import { safeForTerminal } from '../core/format';

/** Where the CLI writes; tests pass their own. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Everything the CLI prints carries host-provided text (hostnames, remote stderr in errors,
 * entry fields): terminal control characters are shown escaped, never sent to the terminal.
 */
export const processIO: CliIO = {
  stdout: (t) => void process.stdout.write(safeForTerminal(t)),
  stderr: (t) => void process.stderr.write(safeForTerminal(t)),
};
