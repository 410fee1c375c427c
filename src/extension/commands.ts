/**
 * The command layer: every command of the extension is a row of a table (CommandSpec), each
 * feature module returns its rows, and extension.ts registers them all here with ONE error
 * policy: a failure is logged with its stack and shown once with "Show Log" (log.ts showError).
 * Commands that act on a host take it from their argument (a HostEntry, a tree node carrying
 * one, `{ host, … }`) or ask for it (pickHost): the same handler serves the palette, the tree and
 * an editor.
 */
import * as vscode from 'vscode';
import { HostEntry, type HostManager } from './hosts';
import { showError } from './log';

export const COMMAND_PREFIX = 'conntrack-doctor.';

export interface CommandSpec {
  /** without the `conntrack-doctor.` prefix */
  readonly id: string;
  run(...args: unknown[]): unknown;
}

/** Registers a table of commands; a command that throws is logged and shown, and resolves undefined. */
export function registerCommands(specs: readonly CommandSpec[]): vscode.Disposable[] {
  return specs.map((spec) =>
    vscode.commands.registerCommand(`${COMMAND_PREFIX}${spec.id}`, async (...args: unknown[]) => {
      try {
        return await spec.run(...args);
      } catch (err) {
        void showError(spec.id, 'Conntrack', err);
        return undefined;
      }
    }),
  );
}

/** The HostEntry an argument names: itself, or the `host` of a tree node or of `{ host, … }`. */
export function hostOf(arg: unknown): HostEntry | undefined {
  if (arg instanceof HostEntry) return arg;
  if (arg !== null && typeof arg === 'object' && 'host' in arg && arg.host instanceof HostEntry) return arg.host;
  return undefined;
}

export interface PickOptions {
  /** only hosts with a connection (default: every host) */
  readonly connected?: boolean;
  /** a further condition on the hosts offered */
  readonly where?: (h: HostEntry) => boolean;
  /** the quick pick's title */
  readonly title?: string;
  /** said when no host qualifies (default: connect or add one first) */
  readonly none?: string;
}

/**
 * The host a command acts on: the one its argument names, else the only candidate, else the
 * one the user picks. With no candidate at all, says so (and resolves undefined).
 */
export async function pickHost(hosts: HostManager, arg: unknown, o: PickOptions = {}): Promise<HostEntry | undefined> {
  const given = hostOf(arg);
  if (given) return given;
  const list = hosts.list().filter((h) => (!o.connected || h.status === 'connected') && (o.where?.(h) ?? true));
  if (list.length <= 1) {
    if (list.length === 0) void vscode.window.showInformationMessage(o.none ?? (o.connected ? 'Conntrack: no connected host. Connect one first (Conntrack: Connect to Host…).' : 'Conntrack: no host yet. Add one (Conntrack: Add Host…) or list your ssh config\'s (Conntrack: Use ~/.ssh/config Hosts).'));
    return list[0];
  }
  const pick = await vscode.window.showQuickPick(list.map((h) => ({ label: h.label, description: `${h.target} — ${h.status}`, host: h })), { title: o.title ?? 'Conntrack: pick a host', ignoreFocusOut: true });
  return pick?.host;
}

/** A command acting on one host (given, or picked with `o`); nothing happens when none is picked. */
export function hostCommand(hosts: HostManager, id: string, o: PickOptions, run: (host: HostEntry, arg: unknown) => unknown): CommandSpec {
  return {
    id,
    run: async (arg?: unknown) => {
      const host = await pickHost(hosts, arg, o);
      return host === undefined ? undefined : run(host, arg);
    },
  };
}
