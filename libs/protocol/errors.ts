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
