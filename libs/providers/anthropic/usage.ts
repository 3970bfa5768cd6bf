// anthropic usage: counts in message_start (input, cache) and message_delta (output so far, and
// on newer API versions the input again), mapped to Responses terms (../usage.ts).
import type { Usage } from '../../protocol/types';
import { int, makeUsage } from '../usage';

export interface AnthropicUsage {
  /** Excludes cache reads and writes. */
  input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  /** Includes thinking. */
  output_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

/** The counts of one message, from the events that carry them. */
export class AnthropicUsageCounter {
  private input = 0;
  private cacheRead = 0;
  private cacheWrite = 0;
  private output = 0;
  private thinking = 0;

  /** Counts are cumulative: message_delta repeats or raises message_start's (a server may send 0 for those it leaves out). */
  add(u: AnthropicUsage | null | undefined): void {
    if (!u) return;
    this.input = Math.max(this.input, int(u.input_tokens));
    this.cacheRead = Math.max(this.cacheRead, int(u.cache_read_input_tokens));
    this.cacheWrite = Math.max(this.cacheWrite, int(u.cache_creation_input_tokens));
    this.output = Math.max(this.output, int(u.output_tokens));
    this.thinking = Math.max(this.thinking, int(u.output_tokens_details?.thinking_tokens));
  }

  /** Anthropic sends no total: it is input (with both cache counts) + output. */
  usage(): Usage {
    return makeUsage({
      input: this.input + this.cacheRead + this.cacheWrite,
      cacheRead: this.cacheRead,
      cacheWrite: this.cacheWrite,
      output: this.output,
      reasoning: this.thinking,
    });
  }
}
