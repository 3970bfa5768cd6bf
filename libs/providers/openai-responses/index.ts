// openai-responses: an upstream that speaks the Responses API itself (OpenAI, Azure OpenAI, and
// compatible servers), `POST {base_url}/responses`.
import type { ProviderAdapter } from '../types';
import { mapError } from './errors';
import { buildRequest, buildRequestFromSource } from './request';
import { ResponsesStreamMapper } from './stream';

export const openaiResponses: ProviderAdapter = {
  family: 'openai-responses',
  deploymentBoundState: true,
  buildRequest,
  buildRequestFromSource,
  createStreamMapper: (out) => new ResponsesStreamMapper(out),
  mapError,
};
