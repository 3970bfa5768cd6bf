// anthropic errors: HTTP error bodies are {"type":"error","error":{"type","message"}}; the same
// shape arrives inside the stream as an `error` event.
import { httpFailure, mapJsonError, streamFailure } from '../errors';
import type { UpstreamFailure } from '../types';

export const NAME = 'Anthropic';

/** Error bodies: error.type is read as the code. */
export const mapError = mapJsonError(NAME);

/** An in-stream `error` event (https://docs.anthropic.com/en/api/errors) in terms Codex understands. */
export function streamErrorFailure(type: string, message: string): UpstreamFailure {
  const said = `${message} (${type})`;
  switch (type) {
    case 'overloaded_error':
      return streamFailure(NAME, `${said}. Anthropic is overloaded; retry shortly or use another model.`, true, 'server_is_overloaded', 503);
    case 'rate_limit_error':
      return streamFailure(NAME, `${said}. Anthropic is rate limiting this deployment; retry shortly.`, true, 'rate_limit_exceeded', 429);
    case 'api_error':
      return streamFailure(NAME, `${said}. Anthropic had an internal error; retry the request.`, true);
    default:
      // invalid_request_error and the like (a prompt that is too long, say): a retry gets the same answer.
      return httpFailure(NAME, 400, message, null, type);
  }
}

