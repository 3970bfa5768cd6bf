// anthropic errors: HTTP error bodies are {"type":"error","error":{"type","message"}}; the same
// shape arrives inside the stream as an `error` event.
import { httpFailure, mapJsonError } from '../errors';
import type { UpstreamFailure } from '../types';

export const NAME = 'Anthropic';

/** Error bodies: error.type is read as the code. */
export const mapError = mapJsonError(NAME);

/**
 * An in-stream `error` event (https://docs.anthropic.com/en/api/errors): its `type`
 * (overloaded_error, rate_limit_error, api_error, invalid_request_error…) is the code the shared
 * classifier reads, as for an HTTP error without a status.
 */
export function streamErrorFailure(type: string, message: string): UpstreamFailure {
  return httpFailure(NAME, null, message, null, type);
}
