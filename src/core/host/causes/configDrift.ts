/**
 * config-drift: what the sysctl files say is not what runs: live values that differ from the
 * winning line, conntrack lines the kernel refuses, files no boot-time loader reads.
 */
import { isNetfilterKey } from '../../sysctl/catalog';
import type { Finding } from '../diagnosis';
import type { HostSnapshot } from '../snapshot';
import type { CauseContext } from './context';

/** Lint codes whose line never takes effect (the loaders skip or fail it at boot). */
const REFUSED_CODES: ReadonlySet<string> = new Set(['inline-comment', 'not-an-integer', 'out-of-range', 'legacy-key', 'invalid-syntax', 'empty-value']);

export function configDrift(_s: HostSnapshot, ctx: CauseContext): Finding[] {
  const lint = ctx.lint();
  const out: Finding[] = [];
  const drift = lint.filter((f) => f.code === 'drift');
  if (drift.length > 0) {
    out.push({
      code: 'drift', cause: 'config-drift', severity: 'warning',
      title: `${drift.length} setting${drift.length > 1 ? 's differ' : ' differs'} from files`,
      detail: 'The value the files set (the line that wins at boot) is not the live value: never applied, changed at runtime, or overwritten by another program.',
      evidence: drift.map((f) => ({ label: `${f.path}:${f.range.startLine + 1}`, value: f.message })),
      fixes: [],
    });
  }
  const refused = lint.filter((f) => ((f.severity === 'error' && REFUSED_CODES.has(f.code)) || (f.code === 'unknown-key' && f.severity !== 'info')) && f.key !== undefined && isNetfilterKey(f.key));
  if (refused.length > 0) {
    out.push({
      code: 'setting-not-applied', cause: 'config-drift', severity: 'warning',
      title: `Kernel refuses ${refused.length} line${refused.length > 1 ? 's' : ''}`,
      detail: 'These lines never take effect: the loaders skip or fail them at boot. Open the file for the exact problem and its quick fix.',
      evidence: refused.map((f) => ({ label: `${f.path}:${f.range.startLine + 1} (${f.code})`, value: f.message })),
      fixes: [],
    });
  }
  for (const f of lint.filter((x) => x.code === 'file-not-loaded')) {
    out.push({ code: 'file-not-loaded', cause: 'config-drift', severity: 'warning', title: `Not read at boot: ${f.path.slice(f.path.lastIndexOf('/') + 1)}`, detail: f.message, evidence: [{ label: 'file', value: f.path }], fixes: [] });
  }
  return out;
}
