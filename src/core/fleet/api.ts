/**
 * Prometheus HTTP API answers (docs/querying/api.md), validated with zod, and the reading of a
 * raw HTTP answer into data or a typed PrometheusError. Pure: the I/O module hands in status,
 * content type and body; everything that decides "is this Prometheus?" lives here.
 */
import { z } from 'zod';
import { PrometheusError } from './errors';

/** [unix seconds, "value"]: values are strings so that NaN and ±Inf survive JSON. */
const sample = z.tuple([z.number(), z.string()]);
type Sample = z.infer<typeof sample>;

export interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: Sample;
}
export interface MatrixSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly Sample[];
}

// The series themselves are checked by plain predicates inside zod: a full zod object schema per
// series took 3–8× as long as JSON.parse of the same answer at 5,000 hosts (npm run bench:fleet),
// these take a few per cent of it. Same shapes, same refusal of anything else.
function isLabels(m: unknown): m is Record<string, string> {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  for (const k in m) if (typeof (m as Record<string, unknown>)[k] !== 'string') return false;
  return true;
}
const isSample = (v: unknown): v is Sample => Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string';
function isVectorSample(x: unknown): x is VectorSample {
  return typeof x === 'object' && x !== null && isLabels((x as { metric?: unknown }).metric) && isSample((x as { value?: unknown }).value);
}
function isMatrixSeries(x: unknown): x is MatrixSeries {
  if (typeof x !== 'object' || x === null || !isLabels((x as { metric?: unknown }).metric)) return false;
  const values = (x as { values?: unknown }).values;
  return Array.isArray(values) && values.every(isSample);
}

export const vectorSchema = z.array(z.custom<VectorSample>(isVectorSample, { message: 'expected { metric: { label: "value" }, value: [seconds, "value"] }' }));
export const matrixSchema = z.array(z.custom<MatrixSeries>(isMatrixSeries, { message: 'expected { metric: { label: "value" }, values: [[seconds, "value"], …] }' }));

const dataSchema = z.discriminatedUnion('resultType', [
  z.object({ resultType: z.literal('vector'), result: vectorSchema }),
  z.object({ resultType: z.literal('matrix'), result: matrixSchema }),
  z.object({ resultType: z.literal('scalar'), result: sample }),
  z.object({ resultType: z.literal('string'), result: sample }),
]);

export const envelopeSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('success'), data: dataSchema, warnings: z.array(z.string()).optional(), infos: z.array(z.string()).optional() }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string(), data: z.unknown().optional(), warnings: z.array(z.string()).optional() }),
]);

export type Vector = readonly VectorSample[];
export type Matrix = readonly MatrixSeries[];
export type QueryData = z.infer<typeof dataSchema>;

export interface QueryResult<T> {
  readonly result: T;
  readonly warnings: readonly string[];
}

export interface RawAnswer {
  readonly url: string;
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly credentialsSent: boolean;
  /** The Location header of a 3xx answer. */
  readonly location?: string;
}

const excerpt = (body: string): string => {
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};

function looksLikeHtml(a: RawAnswer): boolean {
  return /\btext\/html\b/i.test(a.contentType ?? '') || /^\s*(<!doctype html|<html|<head|<body)/i.test(a.body);
}

/** Reads one answer of /api/v1/query or /api/v1/query_range into its data, or throws. */
export function readAnswer(a: RawAnswer): { data: QueryData; warnings: readonly string[] } {
  const d = { url: a.url, status: a.status, ...(a.contentType ? { contentType: a.contentType } : {}) };
  if (a.status === 401) {
    throw new PrometheusError('unauthorized', a.credentialsSent ? `${a.url}: 401 Unauthorized: the credentials were refused` : `${a.url}: 401 Unauthorized: it needs credentials and none were given`, { ...d, credentialsSent: a.credentialsSent });
  }
  if (a.status >= 300 && a.status < 400) {
    // Not followed: a redirect would carry the credentials elsewhere, and the API never redirects.
    throw new PrometheusError('html-page', `${a.url}: HTTP ${a.status} redirects to ${a.location ?? 'another page'}: a login page or portal in front of Prometheus?`, d);
  }
  if (a.status === 403) throw new PrometheusError('forbidden', `${a.url}: 403 Forbidden${a.credentialsSent ? ' (the credentials were sent)' : ''}`, { ...d, credentialsSent: a.credentialsSent });
  if (looksLikeHtml(a)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(a.body)?.[1]?.trim();
    throw new PrometheusError('html-page', `${a.url}: HTTP ${a.status} answered with an HTML page${title ? ` ("${title.slice(0, 80)}")` : ''}, not the Prometheus API: a login page or portal in front of it?`, d);
  }
  let json: unknown;
  try {
    json = JSON.parse(a.body);
  } catch {
    throw new PrometheusError('not-prometheus', `${a.url}: HTTP ${a.status}${a.contentType ? ` (${a.contentType})` : ''} is not JSON: ${excerpt(a.body) || 'empty body'}`, d);
  }
  const env = envelopeSchema.safeParse(json);
  if (!env.success) {
    throw new PrometheusError('not-prometheus', `${a.url}: HTTP ${a.status}: JSON, but not the Prometheus API's answer (${env.error.issues[0]?.path.join('.') || 'envelope'}: ${env.error.issues[0]?.message ?? 'invalid'})`, d);
  }
  if (env.data.status === 'error') {
    throw new PrometheusError('api', `Prometheus refused the query (${env.data.errorType}, HTTP ${a.status}): ${env.data.error}`, { ...d, errorType: env.data.errorType });
  }
  if (a.status < 200 || a.status > 299) throw new PrometheusError('not-prometheus', `${a.url}: HTTP ${a.status} with a success envelope`, d);
  return { data: env.data.data, warnings: env.data.warnings ?? [] };
}

export function asVector(data: QueryData, query: string): Vector {
  if (data.resultType !== 'vector') throw new PrometheusError('not-prometheus', `expected a vector for ${query}, got a ${data.resultType}`);
  return data.result;
}

export function asMatrix(data: QueryData, query: string): Matrix {
  if (data.resultType !== 'matrix') throw new PrometheusError('not-prometheus', `expected a matrix for ${query}, got a ${data.resultType}`);
  return data.result;
}

/** A sample value: Prometheus writes NaN, +Inf and -Inf as such. */
export function sampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}
