// openai-responses usage: already in Responses terms; checked for the servers (xAI) whose counts
// stray from them (../usage.ts).
import type { Usage } from '../../protocol/types';
import { int, reportedUsage } from '../usage';

export interface ResponsesUsage {
  input_tokens?: number | null;
  input_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null } | null;
  output_tokens?: number | null;
  output_tokens_details?: { reasoning_tokens?: number | null } | null;
  total_tokens?: number | null;
}

export function responsesUsage(u: ResponsesUsage): Usage {
  const cacheRead = int(u.input_tokens_details?.cached_tokens);
  return reportedUsage({
    input: u.input_tokens ?? 0,
    cacheRead,
    cacheWrite: int(u.input_tokens_details?.cache_write_tokens),
    output: u.output_tokens ?? 0,
    reasoning: int(u.output_tokens_details?.reasoning_tokens),
    total: u.total_tokens ?? undefined,
  });
}
