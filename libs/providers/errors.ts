// Upstream failures in terms Codex understands (CODEX-CONTRACT.md section 3): 429 + Retry-After for
// rate limits, `context_length_exceeded` for overflow, 502/503 rather than 500 so that the message
// reaches the user, and a message that names the provider and what to do.
import type { ApiError } from '../protocol/types';
import type { ProviderAdapter, UpstreamFailure } from './types';

export function apiError(message: string, type: string, code: string | null, param: string | null = null): ApiError {
  return { message, type, param, code };
}

/** `retry-after` (seconds or HTTP date) or `retry-after-ms`, in whole seconds. */
export function retryAfterSeconds(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | null {
  const ms = first(headers['retry-after-ms']);
  if (ms && Number.isFinite(Number(ms))) return Math.max(1, Math.ceil(Number(ms) / 1000));
  const value = first(headers['retry-after']);
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.max(1, Math.ceil(Number(value)));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(1, Math.ceil((date - now) / 1000));
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

const CONTEXT_OVERFLOW = /context[_ ]length|context window|too many tokens|prompt is too long|maximum context|input token count.*exceeds|exceeds the maximum number of tokens/i;

/**
 * Classifies an upstream HTTP failure. `provider` names the family for the message; `detail` is the
 * upstream's own message; `upstreamCode` its error code or type when it has one.
 */
export function httpFailure(
  provider: string,
  status: number,
  detail: string,
  retryAfter: number | null,
  upstreamCode: string | null = null,
): UpstreamFailure {
  const said = detail ? `: ${detail.replace(/[.\s]+$/, '')}` : '';
  if (CONTEXT_OVERFLOW.test(detail) || upstreamCode === 'context_length_exceeded') {
    return fail(400, apiError(`The input is longer than the model's context window (${provider}${said}). Start a new thread or shorten the history.`, 'invalid_request_error', 'context_length_exceeded'), false, null);
  }
  if (status === 429) {
    const wait = retryAfter ?? 1;
    return { ...fail(429, apiError(`${provider} is rate limiting this model${said}. Please try again in ${wait}s.`, 'rate_limit_error', 'rate_limit_exceeded'), true, wait), retryAfterKnown: retryAfter !== null };
  }
  if (status === 401 || status === 403) {
    return fail(502, apiError(`${provider} rejected RouterHub's credentials for this deployment (HTTP ${status}${said}). The operator should check the deployment's API key.`, 'upstream_error', 'upstream_auth_failed'), true, null);
  }
  if (status === 404) {
    return fail(502, apiError(`${provider} does not know this deployment's model (HTTP 404${said}). The operator should check the model catalog.`, 'upstream_error', 'upstream_model_not_found'), true, null);
  }
  if (status === 413) {
    return fail(413, apiError(`${provider} says the request is too large${said}. Shorten the input.`, 'invalid_request_error', 'request_too_large'), false, null);
  }
  if (status === 408 || status === 409 || status === 529 || status >= 500) {
    const overloaded = status === 529 || status === 503 || /overload/i.test(detail) || upstreamCode === 'overloaded_error';
    return fail(
      overloaded ? 503 : 502,
      apiError(`${provider} failed (HTTP ${status}${said}). RouterHub tried every deployment of this model; retry shortly.`, 'upstream_error', overloaded ? 'server_is_overloaded' : 'upstream_error'),
      true,
      retryAfter,
    );
  }
  // Other 4xx: the request itself is wrong for this provider; another deployment would say the same.
  return fail(400, apiError(`${provider} rejected the request (HTTP ${status}${said}).`, 'invalid_request_error', upstreamCode ?? 'invalid_request'), false, null);
}

/** `mapError` for a family whose error bodies take the usual `{"error":{"message","type"|"code"}}` shapes. */
export function mapJsonError(provider: string): ProviderAdapter['mapError'] {
  return (status, headers, body) => {
    const { message, code } = errorMessageOf(body);
    return httpFailure(provider, status, message, retryAfterSeconds(headers), code);
  };
}

/** A failure inside an open stream (mid-stream `error` event, cut connection, malformed data). */
export function streamFailure(provider: string, detail: string, retryable: boolean, code = 'upstream_error', httpStatus = 502): UpstreamFailure {
  return fail(httpStatus, apiError(`${provider} stream failed: ${detail}`, 'upstream_error', code), retryable, null);
}

function fail(httpStatus: number, error: ApiError, retryable: boolean, retryAfter: number | null): UpstreamFailure {
  return { error, httpStatus, retryable, retryAfterSeconds: retryAfter };
}

/** The `message` of an error body in the usual `{"error":{"message"}}` shapes, or the raw text. */
export function errorMessageOf(body: string): { message: string; code: string | null } {
  try {
    const doc = JSON.parse(body) as Record<string, unknown>;
    const err = (Array.isArray(doc) ? doc[0]?.error : doc.error) as Record<string, unknown> | string | undefined;
    if (typeof err === 'string') return { message: err, code: null };
    if (err && typeof err === 'object') {
      // A numeric `code` is an HTTP status (Google, vLLM, OpenRouter): the textual status says more.
      const code = (typeof err.code === 'number' ? err.status ?? err.type ?? null : err.code ?? err.type ?? err.status ?? null) as string | number | null;
      return { message: String(err.message ?? JSON.stringify(err)), code: code === null ? null : String(code) };
    }
    if (typeof doc.message === 'string') return { message: doc.message, code: null };
  } catch {
    // not JSON
  }
  return { message: body.slice(0, 500).trim(), code: null };
}
