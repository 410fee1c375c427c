/**
 * external-owner: another program owns conntrack on this node: kube-proxy rewrites max and the
 * timeouts when it starts; Cilium and Calico eBPF track connections in their own maps.
 */
import type { Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function externalOwner(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const owners = s.externalOwners;
  const out: Finding[] = [];
  if (owners?.kubeProxy) {
    out.push({
      code: 'kube-proxy-owns-conntrack', cause: 'external-owner', severity: ctx.pressure ? 'warning' : 'info',
      title: 'kube-proxy owns conntrack',
      detail: 'kube-proxy writes nf_conntrack_max (max(32768 × CPUs, 131072), capped), tcp_timeout_established (86400) and close_wait (3600) when it starts, over whatever the sysctl files say. Change them in kube-proxy\'s configuration (conntrack.maxPerCore, conntrack.min, conntrack.tcpEstablishedTimeout, conntrack.tcpCloseWaitTimeout) or they are reverted.',
      evidence: [{ label: 'kube-proxy', value: `running${owners.kubeProxyMode ? ` (mode ${owners.kubeProxyMode})` : ''}` }],
      fixes: [],
    });
  }
  if (owners?.cilium || owners?.calicoEbpf) {
    const who = owners.cilium ? 'Cilium' : 'Calico eBPF';
    out.push({
      code: 'ebpf-conntrack', cause: 'external-owner', severity: 'info',
      title: `${who} has its own conntrack`,
      detail: `${who}'s eBPF datapath tracks connections in BPF maps, not (only) in nf_conntrack: the kernel table can look healthy while the BPF CT map is full. Check ${owners.cilium ? '`cilium status` and `cilium bpf ct list global | wc -l` against `bpf-ct-global-tcp-max`' : "Calico's `calico-node -bpf conntrack dump` and its map sizes"}.`,
      evidence: [{ label: who, value: 'detected' }],
      fixes: [],
    });
  }
  return out;
}
