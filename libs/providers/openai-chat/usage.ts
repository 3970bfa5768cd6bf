// openai-chat usage: the Chat Completions `usage` object, in the dialects of the servers that speak
// it, mapped to Responses terms (../usage.ts).
import type { Usage } from '../../protocol/types';
import { int, reportedUsage } from '../usage';

interface CacheDetails {
  cached_tokens?: number | null;
  /** Qwen (DashScope) explicit-cache writes, inside prompt_tokens. */
  cache_creation_input_tokens?: number | null;
  /** OpenRouter's name for cache writes. */
  cache_write_tokens?: number | null;
}

export interface ChatUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  total_tokens?: number | null;
  prompt_tokens_details?: CacheDetails | null;
  /** Mistral spells it both ways. */
  prompt_token_details?: CacheDetails | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** DeepSeek's name for cached prompt tokens. */
  prompt_cache_hit_tokens?: number | null;
  /** Mistral's. */
  num_cached_tokens?: number | null;
  /** Moonshot's (Kimi), beside the counts. */
  cached_tokens?: number | null;
}

/** Whether a chunk's `usage` carries counts (some servers send `usage: {}` or only timings). */
export function hasCounts(u: ChatUsage | null | undefined): u is ChatUsage {
  return !!u && (typeof u.prompt_tokens === 'number' || typeof u.completion_tokens === 'number' || typeof u.total_tokens === 'number');
}

export function chatUsage(u: ChatUsage): Usage {
  const details = u.prompt_tokens_details ?? u.prompt_token_details;
  // One count under several names: whichever the server filled.
  const cacheRead = Math.max(int(details?.cached_tokens), int(u.prompt_cache_hit_tokens), int(u.num_cached_tokens), int(u.cached_tokens));
  const writes = details?.cache_creation_input_tokens ?? details?.cache_write_tokens;
  return reportedUsage({
    input: u.prompt_tokens ?? 0,
    cacheRead,
    cacheWrite: int(writes),
    output: u.completion_tokens ?? 0,
    reasoning: int(u.completion_tokens_details?.reasoning_tokens),
    total: u.total_tokens ?? undefined,
  });
}
