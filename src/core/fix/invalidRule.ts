/**
 * invalid-drop-rule: drop (and count) packets conntrack classifies INVALID, with the host's
 * firewall tool, persisted with the host's mechanism.
 *
 * Design decisions (see iptables-nft.md):
 *  - The rule is TAGGED (`comment "conntrack-doctor-invalid-drop"` / `-m comment --comment …`)
 *    so that the check, the verification and the rollback touch only the rule this fix added,
 *    never a rule the admin wrote by hand.
 *  - nft has no "does this rule exist" command: the step's skipIf lists the chain and
 *    skipIfContains looks for the tag (model.ts); the rollback finds the rule's handle by its tag
 *    with handleFrom (`nft -a list chain …` → `nft delete rule … handle N`).
 *  - iptables: `-C` (exit 0 = present) before `-I`; `-w` waits for the xtables lock instead of
 *    failing when Docker/kube-proxy hold it. `iptables-nft`/`iptables-legacy` are named
 *    explicitly when both backends have tables or the active one is ambiguous.
 *  - Persistence: netfilter-persistent / iptables-services → `<backend>-save` with stdoutTo the
 *    rules file (no shell redirection). nftables.service → the rule is inserted into the chain's
 *    block in /etc/nftables.conf as a FileEdit (reviewable, `before`-checked), then the file is
 *    checked with `nft -c -f`. We never write `nft list ruleset` into nftables.conf: that would
 *    freeze rules owned by Docker, kube-proxy or iptables-nft into the hand-written file and drop
 *    its `flush ruleset`. When the chain's block cannot be found (includes, one-line chains,
 *    command-style files) the fix says so and leaves the file alone.
 *  - firewalld/ufw manage the firewall: no raw rule, a note instead.
 */
import type { CommandStep, FileEdit, Fix, Verification } from './model';
import { HANDLE_PLACEHOLDER } from './steps';
import { ValidationError, validateHostPath, validateIptablesChain, validateNftFamily, validateNftName, type NftFamily } from './validate';

export const RULE_TAG = 'conntrack-doctor-invalid-drop';
/** How nft lists the tag (`nft list chain` output). */
export const NFT_TAG_TEXT = `comment "${RULE_TAG}"`;
/** The rule as nft statements (also the line written into nftables.conf). */
export const NFT_RULE_TEXT = `ct state invalid counter drop ${NFT_TAG_TEXT}`;
export const NFTABLES_CONF = '/etc/nftables.conf';

export type FirewallTarget =
  | {
      readonly kind: 'nft';
      readonly family: string;
      readonly table: string;
      readonly chain: string;
    }
  | {
      readonly kind: 'iptables';
      /** The active backend as `iptables -V` names it (same values as kernel/iptablesBackend.ts). */
      readonly backend: 'nf_tables' | 'legacy';
      /** Legacy and nft tables both exist (`# Warning: iptables-legacy tables present`). */
      readonly coexisting?: boolean;
      /** The active backend could not be told for sure. */
      readonly ambiguous?: boolean;
      /** Default INPUT. */
      readonly chain?: string;
    };

export type FirewallPersistence =
  | { readonly kind: 'nftables-conf'; readonly path?: string; readonly content: string | undefined }
  | { readonly kind: 'netfilter-persistent' } // /etc/iptables/rules.v4 and rules.v6
  | { readonly kind: 'iptables-services' } // /etc/sysconfig/iptables and ip6tables
  | { readonly kind: 'firewalld' }
  | { readonly kind: 'ufw' }
  | { readonly kind: 'none' };

export interface InvalidDropInput {
  readonly target: FirewallTarget;
  readonly persistence: FirewallPersistence;
  /** Add the IPv6 rule too (ip6tables; for nft, an `inet` table already covers both). */
  readonly ipv6?: boolean;
}

const TRADE_OFF = [
  'INVALID packets never create entries, so this rule does not free table space: it stops packets conntrack cannot place and gives a counter to watch (nft list chain / iptables -L -v).',
  'Legitimate traffic can be INVALID too: asymmetric routing, a flushed table with nf_conntrack_tcp_loose=0, or offloading that hides packets from conntrack. Watch the counter after applying.',
];

// ---------------------------------------------------------------------------------------------
// nftables.conf

/**
 * Inserts `rule` as the first rule of chain `chain` in `table <family> <name> { … }` of an nft
 * file written in block style. Returns undefined when no such block is found or the rule cannot
 * be placed on a line of its own before the chain's first rule (one-line chains, a rule on the
 * same line as the chain's declaration). `#` comments and "strings" are skipped when scanning;
 * braces of anonymous sets (`{ 22, 80 }`) count as blocks, which keeps the depth right.
 */
export function insertNftRuleInConf(content: string, family: NftFamily, table: string, chain: string, rule: string): string | undefined {
  const eol = content.includes('\r\n') ? '\r\n' : '\n';
  const finalNewline = content.endsWith('\n');
  const lines = content.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (finalNewline) lines.pop();
  const headers: string[] = []; // open blocks, outermost first
  let stmt = '';
  let stmtLine = 0;
  let target: { openLine: number; lastDecl: number } | undefined;
  const escape = (name: string): string => name.replace(/[.]/g, '\\.');
  const tableRe = new RegExp(`^table (?:(ip|ip6|inet|arp|bridge|netdev) )?${escape(table)}$`);
  const chainRe = new RegExp(`^chain ${escape(chain)}$`);
  const inTarget = (): boolean => target !== undefined && headers.length === 2;

  /** A statement ended inside the target chain: a declaration, or the first rule. */
  const atStatementEnd = (): 'continue' | 'rule' => {
    const s = stmt.trim();
    stmt = '';
    if (!target || !inTarget() || s.length === 0) return 'continue';
    if (/^(type|policy)\b/.test(s)) {
      target.lastDecl = stmtLine;
      return 'continue';
    }
    return 'rule';
  };
  const placeBefore = (line: number): number | undefined =>
    target && line > target.lastDecl ? target.lastDecl : undefined;

  let insertAfter: number | undefined;
  scan: for (let n = 0; n < lines.length; n++) {
    const line = lines[n] ?? '';
    let inString = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i] ?? '';
      if (inString) {
        stmt += ch;
        if (ch === '"') inString = false;
        continue;
      }
      if (ch === '#') break;
      if (stmt.trim().length === 0 && !/\s/.test(ch)) stmtLine = n;
      if (ch === '"') {
        inString = true;
        stmt += ch;
        continue;
      }
      if (ch === '{') {
        if (inTarget() && stmt.trim().length > 0) {
          // A rule with an anonymous set: the chain's first rule starts at stmtLine.
          insertAfter = placeBefore(stmtLine);
          break scan;
        }
        const header = stmt.trim().replace(/\s+/g, ' ');
        stmt = '';
        headers.push(header);
        if (!target && headers.length === 2 && chainRe.test(header)) {
          const m = tableRe.exec(headers[0] ?? '');
          if (m && (m[1] ?? 'ip') === family) target = { openLine: n, lastDecl: n };
        }
        continue;
      }
      if (ch === ';') {
        if (atStatementEnd() === 'rule') {
          insertAfter = placeBefore(stmtLine);
          break scan;
        }
        continue;
      }
      if (ch === '}') {
        if (atStatementEnd() === 'rule') {
          insertAfter = placeBefore(stmtLine);
          break scan;
        }
        if (inTarget()) {
          // The chain has no rule yet: insert after its declarations, unless it closes on that line.
          insertAfter = placeBefore(n);
          break scan;
        }
        headers.pop();
        continue;
      }
      stmt += ch;
    }
    if (!inString && atStatementEnd() === 'rule') {
      insertAfter = placeBefore(stmtLine);
      break;
    }
  }
  if (insertAfter === undefined || !target) return undefined;
  // Indentation: the first non-empty line inside the chain after the insertion point, else the
  // chain line's own plus a tab.
  let indent: string | undefined;
  for (let n = insertAfter + 1; n < lines.length; n++) {
    const t = lines[n] ?? '';
    if (t.trim().length === 0) continue;
    if (!t.trim().startsWith('}')) indent = /^\s*/.exec(t)?.[0];
    break;
  }
  if (indent === undefined && insertAfter !== target.openLine) indent = /^\s*/.exec(lines[insertAfter] ?? '')?.[0];
  indent ??= `${/^\s*/.exec(lines[target.openLine] ?? '')?.[0] ?? ''}\t`;
  const out = [...lines];
  out.splice(insertAfter + 1, 0, `${indent}${rule}`);
  return out.join(eol) + (finalNewline ? eol : '');
}

// ---------------------------------------------------------------------------------------------

function nftFix(target: Extract<FirewallTarget, { kind: 'nft' }>, input: InvalidDropInput): Fix {
  const family = validateNftFamily('family', target.family);
  const table = validateNftName('table', target.table);
  const chain = validateNftName('chain', target.chain);
  const where = [family, table, chain];
  const listing = ['nft', 'list', 'chain', ...where];
  const notes = [...TRADE_OFF];
  const fileEdits: FileEdit[] = [];
  const verify: Verification[] = [
    {
      description: `The tagged rule is in ${family} ${table} ${chain}`,
      argv: listing,
      privileged: true,
      expect: { kind: 'contains', value: NFT_TAG_TEXT },
    },
  ];
  if (input.ipv6 && family === 'ip') notes.push(`Table ${table} is family ip (IPv4 only): IPv6 needs the same rule in an ip6 or inet table.`);
  if (input.ipv6 && family === 'ip6') notes.push(`Table ${table} is family ip6 (IPv6 only): IPv4 needs the same rule in an ip or inet table.`);

  const p = input.persistence;
  if (p.kind === 'nftables-conf') {
    const path = validateHostPath('persistence.path', p.path ?? NFTABLES_CONF);
    if (p.content === undefined) {
      notes.push(`${path} does not exist: the rule is not persisted; it is lost at the next reboot or ruleset reload.`);
    } else if (p.content.includes(NFT_TAG_TEXT)) {
      notes.push(`${path} already contains the rule.`);
    } else {
      const after = insertNftRuleInConf(p.content, family, table, chain, NFT_RULE_TEXT);
      if (after === undefined) {
        notes.push(`Could not find a "table ${family} ${table} { chain ${chain} { … } }" block to edit in ${path} (included files or one-line chains are not edited): add "${NFT_RULE_TEXT}" as the first rule of that chain by hand, or the rule is lost at the next reboot.`);
      } else {
        fileEdits.push({ path, description: `Persist the rule as the first rule of chain ${chain} in ${path}`, before: p.content, after, winsAfter: [] });
        verify.push({ description: `${path} still parses`, argv: ['nft', '-c', '-f', path], privileged: true, expect: { kind: 'exit-zero' } });
      }
    }
  } else if (p.kind === 'none') {
    notes.push('No firewall persistence was found: the rule lasts until the next reboot or ruleset reload.');
  } else {
    notes.push(`Persistence "${p.kind}" does not manage a native nft ruleset: the rule is not persisted.`);
  }
  const insert: CommandStep = {
    argv: ['nft', 'insert', 'rule', ...where, 'ct', 'state', 'invalid', 'counter', 'drop', 'comment', `"${RULE_TAG}"`],
    description: `Insert "ct state invalid counter drop" at the top of ${family} ${table} ${chain}`,
    privileged: true,
    skipIf: listing,
    skipIfContains: NFT_TAG_TEXT,
  };
  const remove: CommandStep = {
    argv: ['nft', 'delete', 'rule', ...where, 'handle', HANDLE_PLACEHOLDER],
    description: `Delete the tagged rule from ${family} ${table} ${chain} (found by its comment)`,
    privileged: true,
    handleFrom: { argv: ['nft', '-a', 'list', 'chain', ...where], lineContains: NFT_TAG_TEXT },
  };
  return {
    id: 'invalid-drop-rule',
    title: `Drop INVALID packets (nft ${family} ${table} ${chain})`,
    summary: `Insert a counting "ct state invalid drop" rule at the top of chain ${chain} of table ${family} ${table}${fileEdits.length > 0 ? ' and persist it in nftables.conf' : ''}.`,
    destructive: false,
    needsInitialNetns: false,
    fileEdits,
    runtime: [insert],
    verify,
    rollback: [remove],
    notes,
  };
}

function iptablesFix(target: Extract<FirewallTarget, { kind: 'iptables' }>, input: InvalidDropInput): Fix {
  const chain = validateIptablesChain('chain', target.chain ?? 'INPUT');
  const suffix = target.backend === 'nf_tables' ? 'nft' : target.backend === 'legacy' ? 'legacy' : undefined;
  if (suffix === undefined) throw new ValidationError('backend', `expected nf_tables or legacy, got ${JSON.stringify(target.backend)}`);
  const explicit = target.coexisting === true || target.ambiguous === true;
  const tools = (v6: boolean): { bin: string; save: string } => {
    const base = v6 ? 'ip6tables' : 'iptables';
    return explicit ? { bin: `${base}-${suffix}`, save: `${base}-${suffix}-save` } : { bin: base, save: `${base}-save` };
  };
  const spec = ['-m', 'conntrack', '--ctstate', 'INVALID', '-m', 'comment', '--comment', RULE_TAG, '-j', 'DROP'];
  const notes = [...TRADE_OFF];
  if (target.coexisting) notes.push(`Legacy and nft iptables tables both exist on this host and both are active: the rule goes into the ${target.backend} backend (${tools(false).bin}).`);
  const runtime: CommandStep[] = [];
  const verify: Verification[] = [];
  const rollback: CommandStep[] = [];
  const families = input.ipv6 ? [false, true] : [false];
  for (const v6 of families) {
    const { bin } = tools(v6);
    const check = [bin, '-w', '-C', chain, ...spec];
    runtime.push({ argv: [bin, '-w', '-I', chain, '1', ...spec], description: `Insert the INVALID drop rule at the top of ${chain} (${bin})`, privileged: true, skipIf: check });
    verify.push({ description: `${bin} finds the rule in ${chain}`, argv: check, privileged: true, expect: { kind: 'exit-zero' } });
    // skipUnless: a rollback re-run after its own interruption finds the rule gone (exit 1) and is done.
    rollback.push({ argv: [bin, '-w', '-D', chain, ...spec], description: `Delete the tagged INVALID drop rule from ${chain} (${bin})`, privileged: true, skipUnless: check });
  }
  const p = input.persistence;
  if (p.kind === 'netfilter-persistent' || p.kind === 'iptables-services') {
    for (const v6 of families) {
      const { save } = tools(v6);
      const path = p.kind === 'netfilter-persistent' ? `/etc/iptables/rules.v${v6 ? 6 : 4}` : `/etc/sysconfig/${v6 ? 'ip6tables' : 'iptables'}`;
      runtime.push({ argv: [save], description: `Save the ${v6 ? 'IPv6' : 'IPv4'} rules to ${path} (${p.kind})`, privileged: true, stdoutTo: path });
    }
    notes.push(`The saved files hold every current rule of the ${target.backend} backend, including rules added by other tools since the last save (what "${p.kind === 'netfilter-persistent' ? 'netfilter-persistent save' : 'service iptables save'}" would write too).`);
  } else if (p.kind === 'none') {
    notes.push('No firewall persistence was found: the rule lasts until the next reboot.');
  } else {
    notes.push(`Persistence "${p.kind}" does not load iptables rules: the rule is not persisted.`);
  }
  return {
    id: 'invalid-drop-rule',
    title: `Drop INVALID packets (${tools(false).bin} ${chain})`,
    summary: `Insert "-m conntrack --ctstate INVALID -j DROP" at the top of ${chain}${input.ipv6 ? ' for IPv4 and IPv6' : ''}, unless it is already there.`,
    destructive: false,
    needsInitialNetns: false,
    fileEdits: [],
    runtime,
    verify,
    rollback,
    notes,
  };
}

function managedFix(kind: 'firewalld' | 'ufw'): Fix {
  const note =
    kind === 'ufw'
      ? 'ufw manages this firewall: its default before.rules already drop INVALID packets (ufw-before-input, "ctstate INVALID"); change /etc/ufw/before.rules and run "ufw reload" rather than adding raw rules, which ufw would remove on reload.'
      : 'firewalld manages this firewall: raw rules are removed on "firewall-cmd --reload". Use firewalld itself (its zones drop INVALID packets in their own chains; see "nft list ruleset" / firewalld policies and direct rules).';
  return {
    id: 'invalid-drop-rule',
    title: `Drop INVALID packets (managed by ${kind})`,
    summary: `No raw rule is added: ${kind} owns the firewall on this host.`,
    destructive: false,
    needsInitialNetns: false,
    fileEdits: [],
    runtime: [],
    verify: [],
    rollback: [],
    notes: [note, ...TRADE_OFF],
  };
}

export function invalidDropRule(input: InvalidDropInput): Fix {
  const p = input.persistence;
  if (p.kind === 'firewalld' || p.kind === 'ufw') return managedFix(p.kind);
  if (input.target.kind === 'nft') return nftFix(input.target, input);
  return iptablesFix(input.target, input);
}
