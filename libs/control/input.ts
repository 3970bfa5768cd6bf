// Validation of the control API's JSON bodies and query strings: every bad field is a 400 naming
// the field and what it must be, and unknown fields are refused (a typo must not pass silently).
import { HttpError } from '../protocol/errors';
import { isLimitReset, LIMIT_RESETS, type LimitReset } from '../store/periods';

export function bad(param: string, message: string): HttpError {
  return new HttpError(400, message, 'invalid_request_error', 'invalid_request', param);
}

export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw bad(k, `Unknown field "${k}". Allowed fields: ${allowed.join(', ')}.`);
  }
}

export function text(body: Record<string, unknown>, field: string, opts: { required?: boolean; max?: number } = {}): string | undefined {
  const v = body[field];
  if (v === undefined) {
    if (opts.required) throw bad(field, `"${field}" is required (a string).`);
    return undefined;
  }
  if (typeof v !== 'string' || v.trim() === '') throw bad(field, `"${field}" must be a non-empty string.`);
  if (v.length > (opts.max ?? 200)) throw bad(field, `"${field}" is longer than ${opts.max ?? 200} characters.`);
  return v.trim();
}

export function flag(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(field, `"${field}" must be true or false.`);
  return v;
}

/** A limit in USD: a number ≥ 0, or null to remove it. */
export function usd(body: Record<string, unknown>, field: string): number | null | undefined {
  const v = body[field];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e9) throw bad(field, `"${field}" must be an amount in US dollars (a number ≥ 0), or null for no limit.`);
  return v;
}

/** A positive whole number, or null to remove the limit. */
export function count(body: Record<string, unknown>, field: string, what: string): number | null | undefined {
  const v = body[field];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1e12) throw bad(field, `"${field}" must be a whole number ≥ 1 (${what}), or null for no limit.`);
  return v;
}

export function reset(body: Record<string, unknown>, field: string): LimitReset | null | undefined {
  const v = body[field];
  if (v === undefined || v === null) return v;
  if (!isLimitReset(v)) throw bad(field, `"${field}" must be one of ${LIMIT_RESETS.join(', ')} (calendar periods in UTC), or null for a limit that never resets.`);
  return v;
}

const MODEL_PATTERN = /^[A-Za-z0-9._:/*-]+$/;

/** Allowed-model patterns: model ids where `*` matches any run of characters; null: every model. */
export function models(body: Record<string, unknown>, field: string): string[] | null | undefined {
  const v = body[field];
  if (v === undefined || v === null) return v;
  if (!Array.isArray(v) || v.length === 0 || v.length > 100 || !v.every((m) => typeof m === 'string' && MODEL_PATTERN.test(m))) {
    throw bad(field, `"${field}" must be a non-empty list of model ids or patterns (e.g. ["openai/*", "anthropic/claude-sonnet-4-5"]), or null for every model.`);
  }
  return v as string[];
}

export function instant(body: Record<string, unknown>, field: string): string | null | undefined {
  const v = body[field];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(Date.parse(v))) throw bad(field, `"${field}" must be an ISO 8601 time (e.g. "2026-12-31T23:59:59Z"), or null.`);
  return new Date(v).toISOString();
}

/** A query-string date (YYYY-MM-DD). */
export function day(q: URLSearchParams, field: string, fallback: string): string {
  const v = q.get(field);
  if (v === null || v === '') return fallback;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) throw bad(field, `"${field}" must be a UTC date, YYYY-MM-DD.`);
  return v;
}

export function oneOf<T extends string>(q: URLSearchParams, field: string, allowed: readonly T[], fallback: T | undefined): T | undefined {
  const v = q.get(field);
  if (v === null || v === '') return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw bad(field, `"${field}" must be one of ${allowed.join(', ')}.`);
  return v as T;
}

/** Compiles allowed-model patterns; `*` matches any run of characters. */
export function modelMatcher(patterns: string[]): (model: string) => boolean {
  const res = patterns.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  return (model) => res.some((r) => r.test(model));
}
