/**
 * iptables-backend: legacy iptables tables and nftables are both active, two firewalls at
 * once ("iptables: No chain/target/match by that name" when a chain is used across them).
 */
import type { Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';

export function iptablesBackend(s: HostSnapshot): Finding[] {
  const fw = s.firewall;
  if (!fw || (fw.legacyTables?.length ?? 0) === 0 || !(fw.iptablesBackend === 'nf_tables' || (fw.nftTables?.length ?? 0) > 0)) return [];
  return [{
    code: 'iptables-mixed-backends', cause: 'iptables-backend', severity: 'warning',
    title: 'Legacy iptables + nft active',
    detail: 'Two firewalls run at once: rules made with iptables-legacy are invisible to iptables-nft and nft, and the other way round. A chain created by one backend and used with the other gives "iptables: No chain/target/match by that name." Move every rule to one backend (iptables-legacy-save | iptables-nft-restore) and keep the alternatives link on it.',
    evidence: [
      { label: 'iptables', value: `${fw.iptablesVersion ?? '?'} (${fw.iptablesBackend ?? 'backend unknown'}${fw.alternativesMode ? `, alternatives ${fw.alternativesMode}` : ''})` },
      { label: 'legacy tables (/proc/net/ip_tables_names)', value: (fw.legacyTables ?? []).join(', ') },
      { label: 'nft tables', value: (fw.nftTables ?? []).join(', ') || 'none' },
    ],
    fixes: [],
  }];
}
