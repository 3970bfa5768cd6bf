// anthropic: the Anthropic Messages API (`POST {base_url}/messages`, SSE).
import type { ProviderAdapter } from '../types';
import { mapError } from './errors';
import { buildRequest } from './request';
import { AnthropicStreamMapper } from './stream';

export const anthropic: ProviderAdapter = {
  family: 'anthropic',
  buildRequest,
  createStreamMapper: (out) => new AnthropicStreamMapper(out),
  mapError,
};
