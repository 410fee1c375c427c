/**
 * Which proxy a URL goes through, from the usual environment variables (as curl reads them):
 * `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy` for http (the upper-case HTTP_PROXY is
 * ignored, as curl does, because CGI servers set it from a request header), `all_proxy` for
 * both, and `no_proxy`/`NO_PROXY` (`*`, host names with subdomains, `.domain`, IPs, `host:port`).
 * Pure: the environment is passed in.
 */

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

function pick(env: ProxyEnv, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n]?.trim();
    if (v) return v;
  }
  return undefined;
}

function bypassed(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[,\s]+/)) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (m) {
      entry = m[1] ?? entry;
      entryPort = m[2];
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '.');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (entry.startsWith('.') ? host.endsWith(entry) || host === entry.slice(1) : host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** The proxy URL for `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, env: ProxyEnv): URL | undefined {
  if (bypassed(url, pick(env, 'no_proxy', 'NO_PROXY'))) return undefined;
  const value = url.protocol === 'https:' ? pick(env, 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY') : pick(env, 'http_proxy', 'all_proxy', 'ALL_PROXY');
  if (!value) return undefined;
  try {
    return new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new Error(`the proxy ${JSON.stringify(value)} from the environment is not a URL`);
  }
}
