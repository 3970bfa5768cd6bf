// The shared classifier: the same cause gives the same (status, code, Retry-After) whichever family
// reported it, inside the stream or over HTTP.
import t from 'tap';
import type { ApiError } from '../protocol/types';
import { F } from '../wire/frames';
import { anthropic } from './anthropic/index';
import { causeOf, errorMessageOf, httpFailure, retryHintSeconds } from './errors';
import { gemini } from './gemini/index';
import { openaiChat } from './openai-chat/index';
import { openaiResponses } from './openai-responses/index';
import { chunks, replay } from './replay';
import type { ProviderAdapter } from './types';

type Family = 'anthropic' | 'gemini' | 'openai-chat' | 'openai-responses';
const ADAPTERS: Record<Family, ProviderAdapter> = { anthropic, gemini, 'openai-chat': openaiChat, 'openai-responses': openaiResponses };

/** What the client gets: [status, code, Retry-After, retryable]. */
type Outcome = [number, string | null, number | null, boolean];

function inStream(family: Family, payload: string): Outcome {
  const { out } = replay(ADAPTERS[family], [payload]);
  if (out.terminal?.[0] !== F.Failed) throw new Error(`${family}: ${payload} did not fail the response`);
  const [, error, status, retryAfter] = out.terminal as [number, ApiError, number, number | null];
  return [status, error.code, retryAfter, out.retryable];
}

// Each family's in-stream error shape (Anthropic's `error` event, Google's error object, OpenAI's
// `error` event, a chat server's `{"error":…}` chunk) for one cause.
const anthropicEvent = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message } });
const googleChunk = (code: number, status: string, message: string, retryDelay?: string) =>
  JSON.stringify({ error: { code, status, message, ...(retryDelay ? { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }] } : {}) } });
const openaiEvent = (code: string, message: string) => JSON.stringify({ type: 'error', code, message, param: null });
const chatChunk = (error: Record<string, unknown>) => JSON.stringify({ id: 'x', object: 'chat.completion.chunk', error, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] });

const CAUSES: Array<{ cause: string; expected: Outcome; payloads: Partial<Record<Family, string>> }> = [
  {
    cause: 'rate limit, no wait named',
    expected: [429, 'rate_limit_exceeded', 1, true],
    payloads: {
      anthropic: anthropicEvent('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'),
      gemini: googleChunk(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).'),
      'openai-responses': openaiEvent('rate_limit_exceeded', 'Rate limit reached for requests'),
      'openai-chat': chatChunk({ code: 429, message: 'Rate limit exceeded' }),
    },
  },
  {
    cause: 'rate limit with a wait (RetryInfo, "try again in", "retry in")',
    expected: [429, 'rate_limit_exceeded', 7, true],
    payloads: {
      gemini: googleChunk(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota.', '6.2s'),
      'openai-responses': openaiEvent('rate_limit_exceeded', 'Rate limit reached for gpt-5 on tokens per min (TPM). Please try again in 6.5s.'),
      'openai-chat': chatChunk({ code: 'rate_limit_exceeded', message: 'Upstream rate limit. Please retry in 7s.' }),
    },
  },
  {
    cause: 'overloaded',
    expected: [503, 'server_is_overloaded', null, true],
    payloads: {
      anthropic: anthropicEvent('overloaded_error', 'Overloaded'),
      gemini: googleChunk(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'),
      'openai-responses': openaiEvent('server_is_overloaded', 'The server is overloaded.'),
      'openai-chat': chatChunk({ message: 'The engine is overloaded', type: 'ServiceUnavailableError', param: null, code: 503 }),
    },
  },
  {
    cause: 'context length exceeded',
    expected: [400, 'context_length_exceeded', null, false],
    payloads: {
      anthropic: anthropicEvent('invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum'),
      gemini: googleChunk(400, 'INVALID_ARGUMENT', 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).'),
      'openai-responses': openaiEvent('context_length_exceeded', 'Your input exceeds the context window of this model.'),
      'openai-chat': chatChunk({ message: "This model's maximum context length is 32768 tokens", type: 'BadRequestError', param: null, code: 400 }),
    },
  },
  {
    cause: 'invalid request',
    expected: [400, 'invalid_request', null, false],
    payloads: {
      anthropic: anthropicEvent('invalid_request_error', 'messages: roles must alternate'),
      gemini: googleChunk(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.'),
      'openai-responses': openaiEvent('invalid_image_url', 'The image URL could not be downloaded.'),
      'openai-chat': chatChunk({ message: 'tools[0].function.name is invalid', type: 'BadRequestError', param: null, code: 400 }),
    },
  },
  {
    cause: 'content filter',
    expected: [400, 'content_filter', null, false],
    payloads: {
      'openai-responses': openaiEvent('image_content_policy_violation', 'This image was rejected by the safety system.'),
      'openai-chat': chatChunk({ message: 'The response was filtered due to the prompt triggering content management policy.', type: null, code: 'content_filter' }),
    },
  },
  {
    cause: 'the provider refuses the deployment\'s key',
    expected: [502, 'upstream_auth_failed', null, true],
    payloads: {
      anthropic: anthropicEvent('authentication_error', 'invalid x-api-key'),
      gemini: googleChunk(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.'),
      'openai-responses': openaiEvent('invalid_api_key', 'Incorrect API key provided.'),
      'openai-chat': chatChunk({ code: 401, message: 'No auth credentials found' }),
    },
  },
  {
    cause: 'server error',
    expected: [502, 'upstream_error', null, true],
    payloads: {
      anthropic: anthropicEvent('api_error', 'Internal server error'),
      gemini: googleChunk(500, 'INTERNAL', 'An internal error has occurred.'),
      'openai-responses': openaiEvent('server_error', 'The server had an error while processing your request.'),
      'openai-chat': chatChunk({ code: 'server_error', message: 'Provider disconnected' }),
    },
  },
];

t.test('in-stream errors: the same cause gives the same status, code and Retry-After in every family', async (t) => {
  for (const { cause, expected, payloads } of CAUSES) {
    for (const [family, payload] of Object.entries(payloads) as Array<[Family, string]>) {
      t.same(inStream(family, payload), expected, `${cause}: ${family}`);
    }
  }
});

t.test('recorded in-stream rate limits: a 429 with the wait the provider named, in every family', async (t) => {
  const recorded: Array<[Family, string, number]> = [
    ['anthropic', 'rh-rate-limit-midstream.chunks.txt', 1], // Anthropic names no wait in the stream
    ['gemini', 'rh-rate-limit-midstream.chunks.txt', 6], // RetryInfo.retryDelay wins over the message's 6.72s
    ['openai-responses', 'rh-rate-limit-midstream.chunks.txt', 4], // "try again in 3.344s"
    ['openai-chat', 'rh-openrouter-rate-limit.chunks.txt', 9], // "Please retry in 9s"
  ];
  for (const [family, file, wait] of recorded) {
    const { out } = replay(ADAPTERS[family], chunks(family, file));
    const [, error, status, retryAfter] = out.terminal as [number, ApiError, number, number | null];
    t.same([status, error.code, retryAfter, out.retryable], [429, 'rate_limit_exceeded', wait, true], family);
    t.match(error.message, new RegExp(`try again in ${wait}s`), `${family}: the message names the wait, as Codex reads it`);
  }
});

t.test('HTTP and in-stream errors of one cause agree', async (t) => {
  const http = anthropic.mapError(429, {}, JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'Rate limited' } }));
  t.same([http.httpStatus, http.error.code, http.retryAfterSeconds], inStream('anthropic', anthropicEvent('rate_limit_error', 'Rate limited')).slice(0, 3));
  const google = gemini.mapError(503, {}, googleChunk(503, 'UNAVAILABLE', 'The model is overloaded.'));
  t.same([google.httpStatus, google.error.code], inStream('gemini', googleChunk(503, 'UNAVAILABLE', 'The model is overloaded.')).slice(0, 2));
  const quota = openaiResponses.mapError(429, {}, JSON.stringify({ error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }));
  t.same([quota.httpStatus, quota.error.code], [502, 'upstream_quota_exceeded'], 'billing of the deployment: not a wait, not the client\'s own insufficient_quota');
  t.same(quota.error.code, inStream('openai-responses', openaiEvent('insufficient_quota', 'You exceeded your current quota'))[1]);
});

t.test('a 404 for a path says the base_url is wrong and names the URL; a 404 for a model says so', async (t) => {
  const url = 'https://api.anthropic.com/messages';
  const path = anthropic.mapError(404, {}, '{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}', url);
  t.equal(path.error.code, 'upstream_path_not_found');
  t.match(path.error.message, /base_url is wrong/);
  t.match(path.error.message, url);
  const model = anthropic.mapError(404, {}, '{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}', url);
  t.equal(model.error.code, 'upstream_model_not_found');
  t.match(model.error.message, /model: claude-nope/);
  // OpenAI's unknown route, a FastAPI server's, Google's HTML page, Ollama's plain text.
  for (const body of [
    '{"error":{"message":"Invalid URL (POST /responses)","type":"invalid_request_error","param":null,"code":null}}',
    '{"detail":"Not Found"}',
    '<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That’s an error.</ins><p>The requested URL <code>/models/gemini-2.5-pro:streamGenerateContent</code> was not found on this server. <ins>That’s all we know.</ins>',
    '404 page not found',
  ]) {
    t.equal(openaiChat.mapError(404, {}, body, 'http://127.0.0.1:1/x').error.code, 'upstream_path_not_found', body.slice(0, 40));
  }
  const google = gemini.mapError(404, {}, '{"error":{"code":404,"message":"models/gemini-nope is not found for API version v1beta","status":"NOT_FOUND"}}');
  t.equal(google.error.code, 'upstream_model_not_found');
  t.match(errorMessageOf('<html><style>x{}</style><body><p>The requested URL <code>/a</code> was not found</p></body></html>').message, /^The requested URL \/a was not found$/);
});

t.test('causes and waits from words', async (t) => {
  t.equal(retryHintSeconds('Please try again in 20s.'), 20);
  t.equal(retryHintSeconds('Please try again in 1m12s.'), 72);
  t.equal(retryHintSeconds('Please try again in 350ms.'), 1);
  t.equal(retryHintSeconds('Please retry in 34.375186143s.'), 35);
  t.equal(retryHintSeconds('try again later'), null);
  t.equal(causeOf(null, 'slow_down', ''), 'rate_limit');
  t.equal(causeOf(null, 'DEADLINE_EXCEEDED', ''), 'server_error');
  t.equal(causeOf(null, 'something_new', ''), 'server_error', 'an unknown in-stream code: the provider failed');
  t.equal(causeOf(null, 'invalid_prompt', 'Invalid prompt: your prompt was flagged as potentially violating our usage policy.'), 'content_filter');
  t.equal(causeOf(500, 'api_error', 'Overloaded'), 'overloaded');
  const f = httpFailure('P', 400, 'unsupported parameter: top_k', null, 'unsupported_parameter');
  t.match(f.error.message, /HTTP 400, unsupported_parameter: unsupported parameter: top_k/, "the provider's own code stays in the message");
});
