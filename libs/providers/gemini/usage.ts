// gemini usage: `usageMetadata`, repeated on each chunk with the counts so far, mapped to Responses
// terms (../usage.ts).
import type { Usage } from '../../protocol/types';
import { int, makeUsage } from '../usage';

export interface UsageMetadata {
  /** Includes the cached tokens. */
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  /** Excludes the thoughts. */
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  /** Input the model read from tool use (search grounding, URL context): billed as input. */
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

const COUNTS = ['promptTokenCount', 'cachedContentTokenCount', 'candidatesTokenCount', 'thoughtsTokenCount', 'toolUsePromptTokenCount', 'totalTokenCount'] as const;

/**
 * The counts so far after one more chunk. They only grow, and a chunk may leave some out (Gemma's
 * intermediate chunks have no candidatesTokenCount), so each keeps its largest value.
 */
export function addUsageMetadata(so: UsageMetadata | null, next: UsageMetadata): UsageMetadata {
  const merged: UsageMetadata = { ...so };
  for (const k of COUNTS) if (typeof next[k] === 'number') merged[k] = Math.max(merged[k] ?? 0, next[k]);
  return merged;
}

export function geminiUsage(u: UsageMetadata | null): Usage | null {
  if (!u) return null;
  const thoughts = int(u.thoughtsTokenCount);
  return makeUsage({
    input: int(u.promptTokenCount) + int(u.toolUsePromptTokenCount),
    cacheRead: int(u.cachedContentTokenCount),
    output: int(u.candidatesTokenCount) + thoughts,
    reasoning: thoughts,
    total: u.totalTokenCount,
  });
}
