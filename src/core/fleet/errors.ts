/**
 * Every way asking Prometheus can fail, with a `kind` the CLI and the extension react to
 * (exit 3, "unreachable" view state, "set credentials" button) without parsing messages.
 * Messages name the URL without credentials and never carry a secret.
 */

export type PrometheusErrorKind =
  /** the URL or an option is wrong before anything is sent (bad scheme, credentials in the URL) */
  | 'config'
  /** the host name does not resolve */
  | 'dns'
  /** nothing listens on that port */
  | 'refused'
  /** no route, network down, connection reset before an answer */
  | 'unreachable'
  /** no complete answer within the time budget */
  | 'timeout'
  /** the TLS handshake failed: unknown CA, self-signed, name mismatch, expired */
  | 'tls'
  /** the proxy from the environment refused or failed the request */
  | 'proxy'
  /** 401: credentials missing or wrong */
  | 'unauthorized'
  /** 403: credentials accepted but not allowed */
  | 'forbidden'
  /** an HTML page (a login page or portal in front of Prometheus) instead of the API */
  | 'html-page'
  /** an answer that is not Prometheus's API envelope (wrong path, another service) */
  | 'not-prometheus'
  /** Prometheus answered with status "error" (errorType: bad_data, timeout, execution, …) */
  | 'api';

export interface PrometheusErrorDetails {
  readonly url?: string;
  readonly status?: number;
  /** `errorType` of the API envelope (kind `api`). */
  readonly errorType?: string;
  /** Whether credentials were sent (kind `unauthorized`): tells "missing" from "wrong". */
  readonly credentialsSent?: boolean;
  readonly contentType?: string;
}

export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
    readonly details: PrometheusErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

export function isPrometheusError(e: unknown, kind?: PrometheusErrorKind): e is PrometheusError {
  return e instanceof PrometheusError && (kind === undefined || e.kind === kind);
}

/** The next step for the person reading the error, per kind. */
export function prometheusHint(kind: PrometheusErrorKind): string {
  switch (kind) {
    case 'config':
      return 'Check the Prometheus URL (http(s)://host:9090, without user:password).';
    case 'dns':
    case 'refused':
    case 'unreachable':
      return 'Check the URL and port (Prometheus listens on 9090 by default) and that this machine can reach it.';
    case 'timeout':
      return 'Prometheus (or something in front of it) did not answer in time: raise the timeout or narrow the selector.';
    case 'tls':
      return 'Give the CA that signed its certificate (CLI --ca FILE, setting conntrackDoctor.prometheus.caFile), or allow a self-signed certificate explicitly (--insecure / insecureSkipVerify).';
    case 'proxy':
      return 'Check HTTPS_PROXY / HTTP_PROXY / NO_PROXY.';
    case 'unauthorized':
      return 'Give credentials: basic auth or a bearer token (CLI: environment variable or file; VS Code: Conntrack: Set Up Prometheus…).';
    case 'forbidden':
      return 'The credentials were accepted but may not read the query API.';
    case 'html-page':
      return 'A login page or portal answered instead of Prometheus: use the API URL behind it, or credentials it accepts (bearer token, headers).';
    case 'not-prometheus':
      return 'The URL does not serve the Prometheus HTTP API (/api/v1/query): check the path prefix.';
    case 'api':
      return 'Prometheus refused the query; the selector may be wrong.';
  }
}
