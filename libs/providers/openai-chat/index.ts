// openai-chat: upstreams that speak OpenAI Chat Completions (`POST {base_url}/chat/completions`, SSE).
import type { ProviderAdapter } from '../types';
import { mapError } from './errors';
import { buildRequest } from './request';
import { ChatStreamMapper } from './stream';

export const openaiChat: ProviderAdapter = {
  family: 'openai-chat',
  buildRequest,
  createStreamMapper: (out) => new ChatStreamMapper(out),
  mapError,
};
