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

// ---------------------------------------------------------------------------------------------
// The catalogue: one named constructor per error a client can see, so that the same cause always
// gives the same status, type, code, param and Retry-After (README, "Errors"). One function each,
// grouped by where the error comes from; add new ones in the same style.

// The request itself.

export function invalidJson(detail: string): HttpError {
  return new HttpError(400, `The request body is not valid JSON (${detail}). Send a JSON object with "model" and "input".`, 'invalid_request_error', 'invalid_json');
}

export function invalidRequest(): HttpError {
  return new HttpError(400, 'The request body is invalid.', 'invalid_request_error', 'invalid_request');
}

export function missingParameter(field: string): HttpError {
  return new HttpError(400, `Missing required parameter: '${field}'.`, 'invalid_request_error', 'missing_required_parameter', field);
}

export function invalidValue(field: string, detail: string): HttpError {
  return new HttpError(400, `Invalid value for '${field}': ${detail}.`, 'invalid_request_error', 'invalid_type', field);
}

export function requestTooLarge(limitBytes: number): HttpError {
  return new HttpError(413, `The request body is larger than this RouterHub accepts (${limitBytes} bytes). Shorten the input, or ask the operator to raise ROUTERHUB_MAX_BODY_BYTES.`, 'invalid_request_error', 'request_too_large');
}

export function routeNotFound(methodAndPath: string): HttpError {
  return new HttpError(404, `${methodAndPath} is not a RouterHub route. Use POST /v1/responses (OpenAI Responses API) or GET /v1/models.`, 'invalid_request_error', 'not_found');
}

export function modelNotFound(model: string): HttpError {
  return new HttpError(404, `The model '${model}' does not exist on this RouterHub. Model names look like 'provider/model-name' (e.g. 'openai/gpt-5.3-codex'); GET /v1/models lists the ones available.`, 'invalid_request_error', 'model_not_found', 'model');
}

export function invalidCacheHeader(header: string, value: string, modes: readonly string[]): HttpError {
  return new HttpError(400, `The ${header} header is "${value}"; it may be ${modes.join(', ')} (on: answer identical requests from the response cache; include-tool-outputs: also requests that carry tool outputs; off: never), or left out to follow the model's setting.`, 'invalid_request_error', 'invalid_cache_header', header);
}

// The API key and its limits.

export function missingApiKey(): HttpError {
  return new HttpError(401, 'Missing API key. Send "Authorization: Bearer <your RouterHub key>" (keys look like sk-rh-…; an operator creates them with the control API or `npm run keys -- create`).', 'invalid_request_error', 'missing_api_key');
}

/** Why a key is refused; `unknown` when the store cannot tell an invalid key from a revoked one. */
export type KeyProblem = 'unknown' | 'invalid' | 'revoked' | 'disabled' | 'expired' | 'management';

const KEY_PROBLEMS: Record<KeyProblem, string> = {
  unknown: 'Invalid or revoked API key. Check the key in your environment (e.g. ROUTERHUB_API_KEY) or ask the operator for a new one.',
  invalid: 'Invalid API key. Check the key in your environment (e.g. ROUTERHUB_API_KEY) or ask the operator for a new one.',
  revoked: 'This API key was revoked. Ask the operator for a new one.',
  disabled: 'This API key is disabled. Ask the operator to enable it.',
  expired: 'This API key has expired. Ask the operator for a new one.',
  management: 'This is a management key: it authenticates the control API (/api/v1/…), not /v1/responses (except with x-routerhub-deployment, for `npm run doctor`). Use an API key of an account.',
};

export function invalidApiKey(problem: KeyProblem = 'invalid'): HttpError {
  return new HttpError(401, KEY_PROBLEMS[problem], 'invalid_request_error', 'invalid_api_key');
}

export function accountDisabled(accountId: string): HttpError {
  return new HttpError(401, `The account this key belongs to (${accountId}) is disabled. Ask the operator.`, 'invalid_request_error', 'invalid_api_key');
}

/** 403: x-routerhub-deployment (pin a request to one deployment) sent with a plain API key. */
export function deploymentPinNotAllowed(header: string): HttpError {
  return new HttpError(403, `${header} is honoured only for management keys (it bypasses routing; npm run doctor uses it). Remove the header, or use a management key.`, 'permission_error', 'deployment_pin_not_allowed', header);
}

/** 400: x-routerhub-deployment names a deployment the model does not have. */
export function unknownDeployment(header: string, model: string, id: string, deployments: readonly string[]): HttpError {
  return new HttpError(400, `The model '${model}' has no deployment '${id}' in this RouterHub's catalog. Its deployments: ${deployments.join(', ')}.`, 'invalid_request_error', 'unknown_deployment', header);
}

export function modelNotAllowed(model: string, allowed: readonly string[]): HttpError {
  return new HttpError(403, `This API key may not use the model '${model}'. It may use: ${allowed.join(', ')}. Ask the operator to allow it, or pick one of those.`, 'permission_error', 'model_not_allowed', 'model');
}

/** A spend limit (`whose`: "This API key" or the account) that resets in `retryAfterSeconds`, or never (null). */
export function spendLimitReached(whose: string, limit: string, when: string, retryAfterSeconds: number | null): HttpError {
  return new HttpError(429, `${whose} has used its spend limit of ${limit}: ${when}.`, 'insufficient_quota', 'insufficient_quota', null, retryAfterSeconds);
}

/** The key's `rpm` or `tpm` window is used up; `what` names the limit, e.g. "requests (60 per minute)". */
export function keyRateLimited(kind: 'requests' | 'tokens', what: string, seconds: number): HttpError {
  return new HttpError(429, `Rate limit reached for this API key on ${what}: try again in ${seconds}s.`, kind, 'rate_limit_exceeded', null, seconds);
}

export function tooManyStreams(running: string | number, limit: string | number): HttpError {
  return new HttpError(429, `This API key already has ${running} streams running, its limit (max_concurrent ${limit}): try again in 1s, once one ends.`, 'requests', 'rate_limit_exceeded', null, 1);
}

// RouterHub itself (ingress, dispatch, workers).

export function internalError(detail: string): HttpError {
  return new HttpError(500, `RouterHub internal error: ${detail}`, 'server_error', 'internal_error');
}

export function serverAtCapacity(waitingBytes: number): HttpError {
  return new HttpError(503, `RouterHub is at capacity: ${Math.round(waitingBytes / 1024)} KiB of requests are already waiting for a worker. Retry shortly (the workers are overloaded; an operator can add workers or raise ROUTERHUB_MAX_WAITING_BYTES).`, 'server_error', 'server_at_capacity', null, 1);
}

export function dispatchFailed(detail: string): HttpError {
  return new HttpError(503, `RouterHub could not hand the request to a worker (${detail}). Retry shortly.`, 'server_error', 'dispatch_failed', null, 1);
}

export function noWorkerAvailable(waitedMs: number): HttpError {
  return new HttpError(503, `No RouterHub worker accepted the request within ${waitedMs} ms. The workers are down or overloaded; retry shortly.`, 'server_error', 'no_worker_available', null, 1);
}

/** Lost frames and lost workers are passing faults: the client retries at once (`Retry-After: 1`). */
export function framesLost(expected: number, got: number): HttpError {
  return new HttpError(502, `Part of the response was lost between RouterHub's worker and ingress (expected frame batch ${expected}, got ${got}). Retry the request.`, 'server_error', 'frames_lost', null, 1);
}

/** A worker stopped a response whose frames the ingress lost (the client learns the usage billed). */
export function responseEndingLost(): HttpError {
  return new HttpError(502, 'Part of the response was lost between RouterHub\'s worker and ingress. Retry the request.', 'server_error', 'frames_lost', null, 1);
}

/** The ending of a response whose (live) worker went silent was lost (e.g. sent while NATS restarted). */
export function framesSilent(silentMs: number): HttpError {
  return new HttpError(502, `Part of the response was lost between RouterHub's worker and ingress (nothing arrived for ${Math.round(silentMs / 1000)} s, though the worker is alive). Retry the request.`, 'server_error', 'frames_lost', null, 1);
}

export function workerLost(workerId: string): HttpError {
  return new HttpError(502, `The RouterHub worker serving this response (${workerId}) stopped responding. Retry the request; another worker will serve it.`, 'server_error', 'worker_lost', null, 1);
}

/** 503: an ingress stopping (SIGTERM) ended a response still open when its grace period was over. */
export function ingressShuttingDown(): HttpError {
  return new HttpError(503, 'The RouterHub ingress serving this response is shutting down and could not finish it in time. Retry the request; another ingress will serve it.', 'server_error', 'ingress_shutting_down', null, 1);
}

export function workerShuttingDown(): HttpError {
  // Another worker can serve it at once: a client that has not seen a byte yet gets 503 + Retry-After.
  return new HttpError(503, 'The RouterHub worker serving this response is shutting down. Retry the request; another worker will serve it.', 'server_error', 'worker_shutting_down', null, 1);
}

export function workerCrashed(detail: string): HttpError {
  return new HttpError(502, `RouterHub worker error: ${detail}`, 'server_error', 'server_error');
}

export function requestBodyUnavailable(): HttpError {
  return new HttpError(502, 'RouterHub\'s worker could not fetch the request body from the ingress. Retry the request.', 'server_error', 'request_body_unavailable');
}

export function responseUndeliverable(): HttpError {
  return new HttpError(502, 'Part of this response was too large for RouterHub\'s internal message bus (NATS max_payload) and could not be delivered. Ask the operator to raise max_payload, or ask for a shorter output.', 'server_error', 'response_undeliverable');
}

export function responseTimeout(): HttpError {
  return new HttpError(504, 'The response ran longer than this RouterHub allows (ROUTERHUB_MAX_RESPONSE_MS) and was stopped.', 'server_error', 'response_timeout');
}

/** No deployment of the model has its key in the workers' environment (`vars`: the variables). */
export function noDeploymentAvailable(model: string, vars: string): HttpError {
  return new HttpError(503, `No deployment of model "${model}" can serve: the workers have no API key in ${vars}. The operator must set ${vars} in the workers' environment.`, 'server_error', 'no_deployment_available');
}

// The provider (upstream). `provider` names the deployment's family for the message; `said` is
// ": <the provider's own words>" or empty. libs/providers/errors.ts decides which one applies.

/** 429: every deployment of the model is cooling down after its provider's rate limit (deployment health). */
export function allDeploymentsRateLimited(model: string, seconds: number): HttpError {
  return new HttpError(429, `Every deployment of model '${model}' is rate limited by its provider. Please try again in ${seconds}s.`, 'rate_limit_error', 'rate_limit_exceeded', null, seconds);
}

export function upstreamRateLimited(provider: string, seconds: number, said: string): HttpError {
  return new HttpError(429, `${provider} is rate limiting this model${said}. Please try again in ${seconds}s.`, 'rate_limit_error', 'rate_limit_exceeded', null, seconds);
}

export function upstreamOverloaded(provider: string, where: string, said: string, retryAfterSeconds: number | null): HttpError {
  return new HttpError(503, `${provider} is overloaded (${where}${said}); retry shortly, or use another model.`, 'upstream_error', 'server_is_overloaded', null, retryAfterSeconds);
}

export function upstreamFailed(provider: string, where: string, said: string, retryAfterSeconds: number | null): HttpError {
  return new HttpError(502, `${provider} failed (${where}${said}); retry the request. If it keeps failing, use another model or ask the operator.`, 'upstream_error', 'upstream_error', null, retryAfterSeconds);
}

export function contextLengthExceeded(provider: string, said: string): HttpError {
  return new HttpError(400, `The input is longer than the model's context window (${provider}${said}). Start a new thread or shorten the history.`, 'invalid_request_error', 'context_length_exceeded');
}

export function contentFiltered(provider: string, said: string): HttpError {
  return new HttpError(400, `${provider} refused the request under its content policy${said}. Rephrase the input.`, 'invalid_request_error', 'content_filter');
}

export function upstreamRejected(provider: string, where: string, said: string): HttpError {
  return new HttpError(400, `${provider} rejected the request (${where}${said}). Change the request as it says; another deployment would refuse it too.`, 'invalid_request_error', 'invalid_request');
}

export function upstreamRequestTooLarge(provider: string, said: string): HttpError {
  return new HttpError(413, `${provider} says the request is too large${said}. Shorten the input.`, 'invalid_request_error', 'request_too_large');
}

/** The deployment's account with the provider is out of credit (OpenAI's `insufficient_quota`): not the client's quota. */
export function upstreamQuotaExhausted(provider: string, where: string, said: string): HttpError {
  return new HttpError(502, `${provider} says this deployment's account has no quota left (${where}${said}). The operator should check the deployment's billing with the provider.`, 'upstream_error', 'upstream_quota_exceeded');
}

export function upstreamAuthFailed(provider: string, where: string, said: string): HttpError {
  return new HttpError(502, `${provider} rejected RouterHub's credentials for this deployment (${where}${said}). The operator should check the deployment's API key.`, 'upstream_error', 'upstream_auth_failed');
}

/** `url`: the URL tried, with any key removed (upstream-request.ts redactUrl). */
export function upstreamModelNotFound(provider: string, said: string, url: string | null): HttpError {
  const tried = url ? ` at ${url}` : '';
  return new HttpError(502, `${provider} does not know this deployment's model (HTTP 404${tried}${said}). The operator should check the model catalog.`, 'upstream_error', 'upstream_model_not_found');
}

export function upstreamPathNotFound(provider: string, said: string, url: string | null): HttpError {
  return new HttpError(502, `${provider} has no API at the URL RouterHub tried (HTTP 404${url ? ` for ${url}` : ''}${said}): the deployment's base_url is wrong. The operator should fix it in the model catalog (README, "Model catalog", lists the forms each provider family accepts).`, 'upstream_error', 'upstream_path_not_found');
}

/** The stream broke (cut, malformed, connection lost); `code` says how. */
export function upstreamStreamFailed(provider: string, detail: string, code: string): HttpError {
  return new HttpError(502, `${provider} stream failed: ${detail}`, 'upstream_error', code);
}

export const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  408: '408 Request Timeout',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  431: '431 Request Header Fields Too Large',
  499: '499 Client Closed Request',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Error`;
}

/** 408: the request body stopped arriving (a client that declared more than it sent, or stalled). */
export function requestBodyTimeout(received: number, declared: number, timeoutMs: number): HttpError {
  return new HttpError(408, `The request body stopped arriving: ${received} of ${declared || 'the'} bytes came, then nothing for ${Math.round(timeoutMs / 1000)} s. Send the whole body (with a Content-Length that matches it).`, 'invalid_request_error', 'request_timeout');
}

/** 400: something in `input` the model's provider family cannot take: where it is, the family, and what to send instead. */
export function unsupportedInput(param: string, what: string, family: string, hint: string): HttpError {
  return new HttpError(400, `${param} is ${what}, which the ${family} family cannot take: ${hint}.`, 'invalid_request_error', 'unsupported_input', param);
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
