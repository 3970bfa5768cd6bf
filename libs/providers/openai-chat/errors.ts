// openai-chat errors: `{"error":{message,type,code}}` bodies, over HTTP and inside a 200 stream.
import { httpFailure, mapJsonError, streamFailure } from '../errors';
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
  const code = err.code === null || err.code === undefined ? null : String(err.code);
  const status = code && /^\d{3}$/.test(code) ? Number(code) : statusOf(`${code ?? ''} ${err.type ?? ''}`);
  const upstreamCode = code && !/^\d+$/.test(code) ? code : null;
  if (status !== null) return httpFailure(NAME, status, message, null, upstreamCode);
  return streamFailure(NAME, `${message}. Retry the request; if it keeps failing, the operator should check this deployment.`, false, upstreamCode ?? 'upstream_error');
}

function statusOf(tag: string): number | null {
  if (/rate.?limit|too.?many.?requests/i.test(tag)) return 429;
  if (/overload|unavailable|capacity/i.test(tag)) return 503;
  if (/server.?error|internal|timeout/i.test(tag)) return 500;
  if (/context.?length/i.test(tag)) return 400;
  return null;
}

