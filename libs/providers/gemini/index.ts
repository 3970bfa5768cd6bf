// gemini: Google's Gemini API (`models/{model}:streamGenerateContent?alt=sse`).
import type { ProviderAdapter } from '../types';
import { createdCacheName, isCacheRefused, planContextCache } from './context-cache';
import { mapError } from './errors';
import { buildRequest } from './request';
import { GeminiStreamMapper } from './stream';

export const gemini: ProviderAdapter = {
  family: 'gemini',
  buildRequest,
  createStreamMapper: (out) => new GeminiStreamMapper(out),
  mapError,
  planContextCache,
  createdCacheName,
  isCacheRefused,
};
