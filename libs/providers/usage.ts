// Usage in Responses terms, which every family maps its provider's counts into (each family's
// usage.ts): `input_tokens` includes cached (read and written) tokens, `output_tokens` includes
// reasoning, and `total_tokens` is the provider's own total where it sends one. The README's
// "Usage" table says which provider field feeds which count.
import type { Usage } from '../protocol/types';

/** One response's counts, already in Responses terms. */
export interface UsageCounts {
  /** Every input token: fresh, read from the prompt cache and written to it. */
  input: number;
  /** Of `input`, tokens read from the prompt cache. */
  cacheRead: number;
  /** Of `input`, tokens written to the prompt cache (providers that report writes). */
  cacheWrite?: number;
  /** Every output token, reasoning included. */
  output: number;
  /** Of `output`, reasoning (thinking) tokens. */
  reasoning: number;
  /** The provider's total, when it sends one; else input + output. */
  total?: number;
}

export function makeUsage(c: UsageCounts): Usage {
  const input = int(c.input);
  const output = int(c.output);
  const details: Usage['input_tokens_details'] = { cached_tokens: int(c.cacheRead) };
  // Only when there are writes: the Responses API's usage has no such field, most providers none to report.
  if (int(c.cacheWrite) > 0) details.cache_write_tokens = int(c.cacheWrite);
  return {
    input_tokens: input,
    input_tokens_details: details,
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: int(c.reasoning) },
    total_tokens: c.total !== undefined && int(c.total) > 0 ? int(c.total) : input + output,
  };
}

/**
 * Input including the cache: a count of cached tokens larger than the input count shows a server
 * that reports them outside it (xAI does at times), so they are added.
 */
function inputWithCache(input: number, cacheRead: number): number {
  return int(cacheRead) > int(input) ? int(input) + int(cacheRead) : int(input);
}

/**
 * Output including reasoning. Most servers count reasoning inside their output count (OpenAI,
 * DeepSeek, Qwen); some count it beside it (xAI). Their total tells which: when input + output
 * falls short of the total by exactly the reasoning count, reasoning was outside and is added.
 * Without a total, reasoning larger than the output can only have been outside it.
 */
function outputWithReasoning(input: number, output: number, reasoning: number, total?: number): number {
  const [i, o, r] = [int(input), int(output), int(reasoning)];
  if (r === 0) return o;
  if (total !== undefined && int(total) > 0) return int(total) - i - o === r ? o + r : o;
  return r > o ? o + r : o;
}

/**
 * Usage from an OpenAI-style server's counts (Chat Completions and Responses alike), whichever
 * convention it follows for cached and reasoning tokens: its numbers tell which (above).
 */
export function reportedUsage(r: UsageCounts): Usage {
  const input = inputWithCache(r.input, r.cacheRead);
  return makeUsage({ ...r, input, output: outputWithReasoning(input, r.output, r.reasoning, r.total) });
}

/** A count as a provider sent it: a non-negative integer, anything else 0. */
export function int(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}
