// Upstream failures in terms Codex understands (CODEX-CONTRACT.md section 3): 429 + Retry-After for
// rate limits, `context_length_exceeded` for overflow, 502/503 rather than 500 so that the message
// reaches the user, and a message that names the provider and what to do. One classifier for HTTP
// errors and in-stream errors of every family: the same cause gives the same status, code and
// Retry-After whichever provider sent it.
import {
  contentFiltered, contextLengthExceeded, upstreamAuthFailed, upstreamQuotaExhausted, upstreamFailed, upstreamModelNotFound, upstreamOverloaded,
  upstreamPathNotFound, upstreamRateLimited, upstreamRejected, upstreamRequestTooLarge, upstreamStreamFailed, type HttpError,
} from '../protocol/errors';
import type { ApiError } from '../protocol/types';
import type { ProviderAdapter, UpstreamFailure } from './types';

/** A catalogue error as an upstream failure; `retryable`: may another deployment succeed? */
export function upstreamFailure(err: HttpError, retryable: boolean): UpstreamFailure {
  return { error: err.body, httpStatus: err.status, retryable, retryAfterSeconds: err.retryAfterSeconds };
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

/**
 * The wait a provider names in its words: OpenAI's "Please try again in 20s" / "in 1m12s" / "in
 * 350ms", Google's "Please retry in 34.4s". Whole seconds, at least 1.
 */
export function retryHintSeconds(message: string): number | null {
  const m = /(?:try again|retry) (?:in|after) (?:(\d+)m(?!s))?(\d+(?:\.\d+)?)?\s*(ms|s|sec|seconds?)?\b/i.exec(message);
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  const seconds = Number(m[1] ?? 0) * 60 + (m[3] === 'ms' ? Number(m[2] ?? 0) / 1000 : Number(m[2] ?? 0));
  return Math.max(1, Math.ceil(seconds));
}

/** What went wrong, whatever the family's words for it. */
export type UpstreamCause =
  | 'context_length' | 'content_filter' | 'quota' | 'rate_limit' | 'overloaded' | 'auth' | 'not_found'
  | 'too_large' | 'invalid_request' | 'server_error';

const CONTEXT_OVERFLOW = /context[_ ]length|context window|too many tokens|prompt is too long|maximum context|input token count.*exceeds|exceeds the maximum number of tokens/i;
const CONTENT_FILTER_CODES = new Set(['content_filter', 'content_policy_violation', 'image_content_policy_violation', 'content_filtered']);
/** OpenAI's `invalid_prompt` also stands for a prompt its moderation flagged. */
const FLAGGED = /flagged|usage polic|content polic|safety/i;

/**
 * In-stream errors carry a code or type rather than a status: Anthropic's `error.type`
 * (rate_limit_error, overloaded_error, api_error, invalid_request_error…), Google's `status`
 * (RESOURCE_EXHAUSTED, UNAVAILABLE, INVALID_ARGUMENT…), OpenAI's `code` (rate_limit_exceeded,
 * server_error, invalid_prompt, image codes…), and chat servers' free-form types (vLLM's
 * `InternalServerError`). Order matters: "rate limit" before "server".
 */
const CODE_CAUSES: Array<[RegExp, UpstreamCause]> = [
  [/rate.?limit|too.?many.?requests|resource.?exhausted|quota|slow.?down/i, 'rate_limit'],
  [/overload|unavailable|capacity/i, 'overloaded'],
  [/auth|permission|forbidden|unauthenticated|invalid.?api.?key|credential/i, 'auth'],
  [/not.?found/i, 'not_found'],
  [/too.?large/i, 'too_large'],
  [/invalid|bad.?request|failed.?precondition|out.?of.?range|unsupported|image_/i, 'invalid_request'],
  [/server|internal|api.?error|timeout|deadline|unknown|vector_store/i, 'server_error'],
];

/** Why an upstream failed, from its HTTP status when it sent one, else from its code and words. */
export function causeOf(status: number | null, code: string | null, detail: string): UpstreamCause {
  if (CONTEXT_OVERFLOW.test(detail) || code === 'context_length_exceeded') return 'context_length';
  if ((code && CONTENT_FILTER_CODES.has(code)) || (code === 'invalid_prompt' && FLAGGED.test(detail))) return 'content_filter';
  // OpenAI's billing refusal comes as a 429 but waiting does not help; Google's per-minute quotas do pass.
  if (code === 'insufficient_quota') return 'quota';
  if (status !== null) {
    if (status === 429) return 'rate_limit';
    if (status === 401 || status === 403) return 'auth';
    if (status === 404) return 'not_found';
    if (status === 413) return 'too_large';
    if (status === 529 || status === 503 || (status >= 500 && (/overload/i.test(detail) || /overload/i.test(code ?? '')))) return 'overloaded';
    if (status === 408 || status === 409 || status >= 500) return 'server_error';
    if (status >= 400) return 'invalid_request';
  }
  const tag = `${code ?? ''}`;
  for (const [pattern, cause] of CODE_CAUSES) if (pattern.test(tag)) return cause;
  // An error event with no code we know: the provider broke, another deployment may not.
  return 'server_error';
}

/** A 404 that names no model but a path, route or URL (the base_url is wrong, not the model). */
const PATH_NOT_FOUND = /^(not found|404( page)? not found)$|invalid url|no (such )?route|unknown (url|path|route|endpoint)|requested url|cannot (post|get)|no provider api at|unrecognized request url/i;

function isPathNotFound(detail: string, code: string | null): boolean {
  if (code === 'model_not_found') return false;
  // Google's HTML page names the path it did not find, model name included: the page's words decide.
  if (PATH_NOT_FOUND.test(detail.trim().replace(/[.\s]+$/, ''))) return true;
  return detail === '' || (!/model/i.test(detail) && /not.?found/i.test(detail));
}

/**
 * Classifies an upstream failure, over HTTP or inside the stream. `provider` names the family for
 * the message; `status` is the HTTP status (null for an in-stream error); `detail` the upstream's own
 * message; `upstreamCode` its error code, type or status (an in-stream error's numeric code is read
 * as the HTTP status it stands for); `retryAfter` what its headers (or RetryInfo) said; `url` the URL tried, with
 * any key removed (upstream-request.ts redactUrl), named when the URL itself looks wrong.
 */
export function httpFailure(
  provider: string,
  status: number | null,
  detail: string,
  retryAfter: number | null,
  upstreamCode: string | null = null,
  url: string | null = null,
): UpstreamFailure {
  const said = detail ? `: ${detail.replace(/[.\s]+$/, '')}` : '';
  // The provider's own code stays in the message; the client's `code` is the cause's, the same for every family.
  const where = [status !== null ? `HTTP ${status}` : 'in the stream', upstreamCode].filter(Boolean).join(', ');
  // In-stream errors of Google, vLLM and LiteLLM carry the HTTP status they stand for as their code.
  const standsFor = status ?? (upstreamCode && /^\d{3}$/.test(upstreamCode) ? Number(upstreamCode) : null);
  switch (causeOf(standsFor, upstreamCode, detail)) {
    case 'context_length':
      return upstreamFailure(contextLengthExceeded(provider, said), false);
    case 'content_filter':
      return upstreamFailure(contentFiltered(provider, said), false);
    case 'quota':
      return upstreamFailure(upstreamQuotaExhausted(provider, where, said), true);
    case 'rate_limit': {
      // Deployment health waits the provider's own delay, or its backoff when the provider named none.
      const named = retryAfter ?? retryHintSeconds(detail);
      return { ...upstreamFailure(upstreamRateLimited(provider, named ?? 1, said), true), retryAfterKnown: named !== null };
    }
    case 'overloaded':
      return upstreamFailure(upstreamOverloaded(provider, where, said, retryAfter), true);
    case 'auth':
      return upstreamFailure(upstreamAuthFailed(provider, where, said), true);
    case 'not_found':
      // Another deployment may have the model, or a base_url that is right.
      return upstreamFailure(isPathNotFound(detail, upstreamCode) ? upstreamPathNotFound(provider, said, url) : upstreamModelNotFound(provider, said, url), true);
    case 'too_large':
      return upstreamFailure(upstreamRequestTooLarge(provider, said), false);
    case 'invalid_request':
      // The request itself is wrong for this provider; another deployment would say the same.
      return upstreamFailure(upstreamRejected(provider, where, said), false);
    case 'server_error':
      return upstreamFailure(upstreamFailed(provider, where, said, retryAfter), true);
  }
}

/** `mapError` for a family whose error bodies take the usual `{"error":{"message","type"|"code"}}` shapes. */
export function mapJsonError(provider: string): ProviderAdapter['mapError'] {
  return (status, headers, body, url) => {
    const { message, code } = errorMessageOf(body);
    return httpFailure(provider, status, message, retryAfterSeconds(headers), code, url ?? null);
  };
}

/** The stream itself broke (cut, malformed, connection lost): `code` says how; another deployment may work. */
export function streamFailure(provider: string, detail: string, retryable: boolean, code = 'upstream_error'): UpstreamFailure {
  return upstreamFailure(upstreamStreamFailed(provider, detail, code), retryable);
}

/** The `message` of an error body in the usual `{"error":{"message"}}` shapes, or the text of the page. */
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
    // FastAPI servers (vLLM's routes): {"detail":"Not Found"}.
    if (typeof doc.detail === 'string') return { message: doc.detail, code: null };
  } catch {
    // not JSON
  }
  return { message: pageText(body), code: null };
}

/** A non-JSON body in a line: an HTML error page (Google's 404 page) as its text. */
function pageText(body: string): string {
  const text = /<html|<!doctype/i.test(body) ? body.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ') : body;
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
