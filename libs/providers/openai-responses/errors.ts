// openai-responses errors: `{"error":{message,type,code}}` bodies, and the stream's `error` and
// `response.failed` events.
import type { ApiError } from '../../protocol/types';
import { httpFailure, mapJsonError } from '../errors';
import type { UpstreamFailure } from '../types';

export const NAME = 'OpenAI Responses upstream';

export const mapError = mapJsonError(NAME);

/**
 * An `error` event or a `response.failed` response's `error` (codes: rate_limit_exceeded,
 * server_error, invalid_prompt, image codes…), through the classifier HTTP errors go through.
 */
export function streamErrorFailure(err: Partial<ApiError>): UpstreamFailure {
  return httpFailure(NAME, null, err.message ?? 'the response failed', null, err.code ?? err.type ?? null);
}
