// OpenAI-shaped errors: `{"error":{"message","type","param","code"}}`, never `"error": null`.
import type { ApiError } from './types';

/** An error answered to the client before any SSE byte was sent. */
export class HttpError extends Error {
  /** Extra response headers (e.g. x-ratelimit-* on a 429). */
  readonly headers: Array<[string, string]> = [];

  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null,
    readonly param: string | null = null,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }

  get body(): ApiError {
    return { message: this.message, type: this.type, param: this.param, code: this.code };
  }
}

export function errorJson(error: ApiError): string {
  return JSON.stringify({ error });
}

export const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  499: '499 Client Closed Request',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Error`;
}

/** 503: Redis, which holds the keys, did not answer within ROUTERHUB_REDIS_TIMEOUT_MS (paused, down, unreachable). */
export function keyStoreUnavailable(): HttpError {
  return new HttpError(503, 'RouterHub cannot check API keys right now: its key store (Redis) did not answer in time. Retry shortly.', 'server_error', 'key_store_unavailable', null, 1);
}

// Bounds on input (libs/protocol/bounds.ts), in OpenAI's words where OpenAI has them
// (`string_above_max_length`, `array_above_max_length`).

/** An array (`input`, `tools`) with more entries than the ingress takes. */
export function arrayTooLong(param: string, length: number, limit: number, what: string, setting: string): HttpError {
  return new HttpError(400, `Invalid '${param}': array too long. Expected at most ${limit} ${what}, but got ${length} instead. Send fewer (e.g. compact the conversation), or ask the operator to raise ${setting}.`, 'invalid_request_error', 'array_above_max_length', param);
}

/** A string (or an object key: `what`) longer than the ingress takes. */
export function stringTooLong(param: string, length: number, limit: number, setting: string, what = 'a string'): HttpError {
  return new HttpError(400, `Invalid '${param}': string too long. Expected ${what} with maximum length ${limit}, but got a string with length ${length} instead. Shorten it, or ask the operator to raise ${setting}.`, 'invalid_request_error', 'string_above_max_length', param);
}

/** Arrays and objects nested deeper than `limit` inside `param`; `at` is where the walk stopped. */
export function nestedTooDeep(param: string, limit: number, at: string, setting: string): HttpError {
  const where = at.length > 120 ? `${at.slice(0, 120)}…` : at;
  return new HttpError(400, `Invalid '${param}': nested too deeply. Expected at most ${limit} levels of arrays and objects, but '${where}' goes deeper. Flatten it, or ask the operator to raise ${setting}.`, 'invalid_request_error', 'nested_too_deep', param);
}

/**
 * Headers the ingress's HTTP parser would not answer (too many fields, too many bytes): answered by
 * the load balancer in front of it (deploy/haproxy.cfg carries this body, a test keeps them equal).
 */
export function requestHeadersTooLarge(maxFields: number, maxBytes: number): HttpError {
  return new HttpError(431, `The request headers are too large for RouterHub: at most ${maxFields} header fields and ${maxBytes} bytes of headers. Send fewer or shorter headers (for Codex, check http_headers and env_http_headers in the provider config).`, 'invalid_request_error', 'request_headers_too_large');
}
