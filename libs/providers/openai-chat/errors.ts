// openai-chat errors: `{"error":{message,type,code}}` bodies, over HTTP and inside a 200 stream.
import { httpFailure, mapJsonError } from '../errors';
import type { UpstreamFailure } from '../types';

export const NAME = 'OpenAI-compatible upstream (Chat Completions)';

export const mapError = mapJsonError(NAME);

export interface ChatStreamError { message?: string; type?: string | null; code?: string | number | null; param?: string | null }

/**
 * An error payload inside a 200 stream: vLLM `{"error":{message,type,param,code:500}}` (code = HTTP
 * status), LiteLLM (code = status as a string), OpenRouter (`code:"server_error"` next to a choice
 * with finish_reason "error"). Classified like the HTTP error it stands for.
 */
export function inStreamFailure(err: ChatStreamError): UpstreamFailure {
  const message = err.message ?? 'the stream reported an error';
  const code = err.code === null || err.code === undefined || err.code === '' ? err.type ?? null : String(err.code);
  return httpFailure(NAME, null, message, null, code);
}
