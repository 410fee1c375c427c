/**
 * boot-persistence: the sysctl files set net.netfilter keys that run before nf_conntrack is
 * loaded at boot, so they are lost at every reboot (the linter's module-not-loaded-at-boot).
 */
import { loadModuleAtBoot } from '../../fix/sysctlFixes';
import { buildFixes, moduleState } from '../adapters';
import type { Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

export function bootPersistence(s: HostSnapshot, ctx: CauseContext): Finding[] {
  const boot = ctx.lint().filter((f) => f.code === 'module-not-loaded-at-boot');
  if (boot.length === 0) return [];
  return [{
    code: 'module-not-loaded-at-boot', cause: 'boot-persistence', severity: 'warning',
    title: 'Settings lost at reboot',
    detail: boot[0]?.message ?? '',
    evidence: boot.map((f) => ({ label: 'file', value: `${f.path}:${f.range.startLine + 1}` })),
    ...buildFixes(() => loadModuleAtBoot(moduleState(s))),
  }];
}
