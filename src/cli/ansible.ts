/**
 * `conntrack-doctor ansible TARGET FIX… [-o FILE]`: the fixes computed on TARGET (a fresh
 * snapshot, the same builders as `apply`) written as an Ansible playbook for many hosts, with
 * its rollback playbook next to it, and optionally an inventory from the ssh config.
 * Nothing is changed on TARGET: it is only read.
 */
import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { buildFixSequence, parseFixSpec, type FixRequest } from '../core/ansible/fixes';
import { buildPlaybooks, DEFAULT_HOST_GROUP, rollbackNameFor, validateHostPattern, validateSerial } from '../core/ansible/playbook';
import { buildInventory } from '../core/ansible/inventory';
import { filterArgs } from '../core/fix/entriesFixes';
import { ValidationError } from '../core/fix/validate';
import { renderCommand } from '../core/fix/quote';
import { FIX_IDS, type FixParams } from '../core/host/fixes';
import type { HostSession } from '../io/host';
import { listConfiguredHosts } from '../io/ssh/config';
import { common, fail, filterFrom, filterOptions, open, type Values } from './hostCommands';
import type { CliIO } from './io';

export const ANSIBLE_USAGE = `usage: conntrack-doctor ansible TARGET FIX... [-o FILE] [--hosts PATTERN] [--inventory FILE] [--force]
  Writes an Ansible playbook that applies the fixes, as computed on TARGET, to many hosts, and
  its rollback playbook next to it (FILE-rollback.yml). TARGET is only read.
  FIX       ${FIX_IDS.join(', ')}
            FIX=VALUE for a value (raise-max=524288), set-sysctl:KEY=VALUE for a key and a value
  -o FILE   the playbook (default conntrack-doctor-FIXES.yml in the current directory)
  --hosts PATTERN          the play's default hosts (default: group ${DEFAULT_HOST_GROUP})
  --serial N|N%            hosts per batch (default 10%)
  --max-fail-percentage N  the play stops when more than N % of the hosts fail (default 0)
  --inventory FILE         also write an inventory of the ssh config's hosts (group ${DEFAULT_HOST_GROUP})
  --force                  overwrite existing files
  With a single FIX, the options of apply work too: --value V --key K --path FILE --ipv6 and the
  filter of delete-entries (--src --dst --proto --sport --dport --state --family).
  Common: --ssh-config FILE  --host-key-check yes|accept-new|ask  --sudo  -v`;

const options = {
  ...common,
  ...filterOptions,
  output: { type: 'string', short: 'o' },
  hosts: { type: 'string' },
  serial: { type: 'string' },
  'max-fail-percentage': { type: 'string' },
  inventory: { type: 'string' },
  force: { type: 'boolean', default: false },
  value: { type: 'string' },
  key: { type: 'string' },
  path: { type: 'string' },
  ipv6: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

/** The fixes as the command line gives them; apply's options go to the single fix. */
function requestsFrom(specs: readonly string[], v: Values): FixRequest[] {
  const requests = specs.map(parseFixSpec);
  const filter = filterFrom(v);
  const single: FixParams = {
    ...(typeof v['value'] === 'string' ? { value: v['value'] } : {}),
    ...(typeof v['key'] === 'string' ? { key: v['key'] } : {}),
    ...(typeof v['path'] === 'string' ? { path: v['path'] } : {}),
    ...(filter ? { filter } : {}),
    ...(v['ipv6'] ? { ipv6: true } : {}),
  };
  if (Object.keys(single).length > 0) {
    if (requests.length !== 1) throw new ValidationError('fix', 'with several fixes, give each its value as FIX=VALUE (or set-sysctl:KEY=VALUE); --value, --key, --path, --ipv6 and the filter go with a single FIX');
    const [only] = requests;
    return [{ id: only?.id ?? '', params: { ...only?.params, ...single } }];
  }
  return requests;
}

async function refuseExisting(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return;
  for (const p of paths) {
    const exists = await access(p, constants.F_OK).then(() => true, () => false);
    if (exists) throw new ValidationError('--output', `${p} exists: choose another name with -o, or overwrite it with --force`);
  }
}

async function withCounts(host: HostSession, requests: readonly FixRequest[]): Promise<FixRequest[]> {
  const out: FixRequest[] = [];
  for (const r of requests) {
    const filter = r.params?.filter;
    if (r.id === 'delete-entries' && filter) out.push({ ...r, params: { ...r.params, expectedCount: await host.countEntries(filter) } });
    else out.push(r);
  }
  return out;
}

export async function runAnsible(argv: readonly string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options });
  } catch (err) {
    io.stderr(`conntrack-doctor: ${err instanceof Error ? err.message : String(err)}\n${ANSIBLE_USAGE}\n`);
    return 2;
  }
  const v: Values = parsed.values;
  if (v['help']) {
    io.stdout(`${ANSIBLE_USAGE}\n`);
    return 0;
  }
  const [target, ...specs] = parsed.positionals;
  if (!target || specs.length === 0) {
    io.stderr(`${ANSIBLE_USAGE}\n`);
    return 2;
  }
  let host: HostSession | undefined;
  try {
    // Everything the user typed is checked before connecting.
    const requests = requestsFrom(specs, v);
    for (const r of requests) {
      if (r.id === 'delete-entries') {
        if (!r.params?.filter) throw new ValidationError('filter', 'delete-entries needs a filter (--src, --dst, --proto, --dport, --state …); use flush-table to empty the table');
        filterArgs(r.params.filter);
      }
    }
    const hosts = typeof v['hosts'] === 'string' ? validateHostPattern('--hosts', v['hosts']) : undefined;
    const serial = typeof v['serial'] === 'string' ? validateSerial('--serial', v['serial']) : undefined;
    const maxFailRaw = v['max-fail-percentage'];
    if (maxFailRaw !== undefined && (typeof maxFailRaw !== 'string' || !/^(?:100|[1-9]?[0-9])$/.test(maxFailRaw))) throw new ValidationError('--max-fail-percentage', 'must be an integer from 0 to 100');
    const output = resolve(typeof v['output'] === 'string' ? v['output'] : `conntrack-doctor-${[...new Set(requests.map((r) => r.id))].join('-')}.yml`);
    const rollbackPath = join(dirname(output), rollbackNameFor(basename(output)));
    const inventoryPath = typeof v['inventory'] === 'string' ? resolve(v['inventory']) : undefined;
    await refuseExisting([output, rollbackPath, ...(inventoryPath ? [inventoryPath] : [])], Boolean(v['force']));

    host = await open(target, v, io);
    const snap = await host.snapshot({ entries: false });
    const fixes = buildFixSequence(snap, await withCounts(host, requests));
    const made = buildPlaybooks({
      fixes,
      computedOn: target,
      hosts,
      serial,
      maxFailPercentage: maxFailRaw === undefined ? undefined : Number(maxFailRaw),
      fileName: basename(output),
      rollbackFileName: basename(rollbackPath),
      generatedBy: renderCommand(['conntrack-doctor', 'ansible', target, ...specs]),
    });
    let inventory: string | undefined;
    if (inventoryPath) {
      const configFile = typeof v['ssh-config'] === 'string' ? v['ssh-config'] : undefined;
      const aliases = (await listConfiguredHosts(configFile !== undefined ? { configFile } : {})).map((h) => h.alias);
      inventory = buildInventory({
        // --hosts names the inventory's group when it is one (not a pattern, not a built-in group).
        group: hosts !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(hosts) && hosts !== 'all' && hosts !== 'ungrouped' ? hosts : DEFAULT_HOST_GROUP,
        hosts: aliases,
        ...(configFile !== undefined ? { sshConfigFile: isAbsolute(configFile) ? configFile : resolve(configFile) } : {}),
      });
    }
    await writeFile(output, made.playbook, { mode: 0o644 });
    await writeFile(rollbackPath, made.rollback, { mode: 0o644 });
    if (inventoryPath && inventory !== undefined) await writeFile(inventoryPath, inventory, { mode: 0o644 });

    io.stdout(`Wrote ${output}\n      ${rollbackPath}${inventoryPath ? `\n      ${inventoryPath}` : ''}\n`);
    io.stdout(`Fixes (computed on ${target}):\n${fixes.map((f, i) => `  ${i + 1}. ${f.title}\n`).join('')}`);
    io.stdout(`Files on each host: ${made.files.length > 0 ? made.files.join(', ') : 'none (runtime only)'}\n`);
    if (fixes.some((f) => f.needsInitialNetns) && snap.initialNetns === false) {
      io.stderr(`conntrack-doctor: note: ${target} is not the initial network namespace; ${fixes.filter((f) => f.needsInitialNetns).map((f) => f.title).join(', ')} can only be applied on hosts themselves (the playbook's read-back fails inside a container)\n`);
    }
    const inv = inventoryPath ?? 'INVENTORY';
    io.stdout(`Preview:   ansible-playbook -i ${inv} ${output} --check --diff\n`);
    io.stdout(`Run:       ansible-playbook -i ${inv} ${output}${fixes.some((f) => f.destructive) ? ' -e conntrack_doctor_confirm=true' : ''}\n`);
    io.stdout(`Roll back: ansible-playbook -i ${inv} ${rollbackPath}\n`);
    return 0;
  } catch (err) {
    return fail(io, err);
  } finally {
    await host?.close();
  }
}
