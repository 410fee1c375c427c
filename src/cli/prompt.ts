/**
 * Terminal prompts for the CLI: passwords and passphrases are read from the controlling
 * terminal with echo off (never from argv or the environment); without a terminal every
 * prompt is declined, so non-interactive runs fail with a clear error instead of hanging.
 */
import { openSync, closeSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { safeForTerminal } from '../core/format';
import type { PromptRequest } from '../io/ssh/auth';

function withTty<T>(fn: (input: ReadStream, output: WriteStream) => Promise<T>): Promise<T | undefined> {
  let fdIn: number | undefined;
  let fdOut: number | undefined;
  try {
    fdIn = openSync('/dev/tty', 'r');
    fdOut = openSync('/dev/tty', 'w');
  } catch {
    if (fdIn !== undefined) closeSync(fdIn);
    return Promise.resolve(undefined);
  }
  const input = new ReadStream(fdIn);
  const output = new WriteStream(fdOut);
  return fn(input, output).finally(() => {
    input.destroy();
    output.destroy();
  });
}

/** Reads one line; with echo false the typed characters are not shown. */
export function askLine(question: string, echo: boolean): Promise<string | undefined> {
  return withTty(
    (input, output) =>
      new Promise<string | undefined>((resolve) => {
        // Echo goes off BEFORE the prompt shows: what is typed as soon as it appears (or typed
        // ahead) must not be echoed by the terminal.
        if (!echo) input.setRawMode(true);
        output.write(question);
        let answer = '';
        const done = (value: string | undefined): void => {
          if (!echo) input.setRawMode(false);
          input.removeListener('data', onData);
          output.write('\n');
          resolve(value);
        };
        const onData = (buf: Buffer): void => {
          for (const ch of buf.toString('utf8')) {
            if (ch === '\r' || ch === '\n') return done(answer);
            if (ch === '\u0003' || ch === '\u0004') return done(undefined); // Ctrl-C / Ctrl-D
            if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
            else {
              answer += ch;
              if (echo) output.write(ch);
            }
          }
        };
        if (echo) input.setRawMode(true);
        input.on('data', onData);
      }),
  );
}

export async function terminalPrompter(req: PromptRequest): Promise<string | undefined> {
  const what = req.kind === 'sudo-password' ? `sudo password for ${req.target}` : req.kind === 'passphrase' ? `passphrase for ${req.keyFile ?? 'key'}` : req.message || `${req.kind} for ${req.target}`;
  // a keyboard-interactive prompt is the server's text
  return askLine(safeForTerminal(`${req.attempt > 1 ? '(again) ' : ''}${what}: `), req.echo);
}

export async function confirmOnTerminal(question: string): Promise<boolean> {
  const a = await askLine(`${question} [y/N] `, true);
  return a !== undefined && /^y(es)?$/i.test(a.trim());
}
