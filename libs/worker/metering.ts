// What a response is billed. The provider's own usage when it sent it; when it did not (the client
// went away, the stream broke after output, RouterHub stopped it), an estimate: input from the
// request's text, output from the characters streamed, both at ~4 characters per token, and the
// ledger line is marked `estimated`. A response whose provider failed before any output (the
// attempts a failover moves past) is not billed: providers do not charge for those either.
import type { ResponsesRequest, Usage } from '../protocol/types';
import type { OutputBuilder } from '../providers/output';
import { F } from '../wire/frames';

/** Characters per token of the estimate: the usual rule of thumb for English text and code. */
export const CHARS_PER_TOKEN = 4;
/** What an image in the input is counted as (providers bill ~1k tokens for a typical image, not its base64 size). */
export const IMAGE_TOKENS = 1000;
/** Nodes of the request the input estimate visits at most (a bound on its work, whatever the input). */
const MAX_NODES = 1_000_000;

/** The attempt whose provider accepted the request (HTTP 200): what is billed if the response ends early. */
export interface ServedAttempt {
  /** Estimated input tokens of the request this attempt sent. */
  inputTokens: number;
  builder: OutputBuilder;
}

export interface Metered { usage: Usage; estimated: boolean }

export function tokensOfChars(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/**
 * Input tokens of a request, estimated from the text the model reads: instructions, input items
 * and tool definitions. Iterative, so that no nesting depth can overflow the stack.
 */
export function estimateInputTokens(req: ResponsesRequest): number {
  let chars = 0;
  let images = 0;
  // Values still to visit, and whether their keys count: in tool definitions property names are
  // text the model reads; in input items keys are structure. Two plain arrays, no tuple per node.
  const values: unknown[] = [req.instructions, req.input, req.tools];
  const keyed: boolean[] = [false, false, true];
  for (let visited = 0; values.length > 0 && visited < MAX_NODES; visited++) {
    const v = values.pop();
    const keys = keyed.pop()!;
    if (typeof v === 'string') {
      if (v.startsWith('data:image/')) images++;
      else chars += v.length;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        values.push(v[i]);
        keyed.push(keys);
      }
    } else if (v !== null && typeof v === 'object') {
      for (const k in v) {
        if (keys) chars += k.length;
        values.push((v as Record<string, unknown>)[k]);
        keyed.push(keys);
      }
    }
  }
  return tokensOfChars(chars) + images * IMAGE_TOKENS;
}

export function estimatedUsage(inputTokens: number, outputChars: number): Usage {
  const output = tokensOfChars(outputChars);
  return { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + output };
}

/**
 * What the served attempt is billed. `stopped`: RouterHub or the client ended it (cancel, deadline,
 * shutdown) after the provider accepted it, so the provider was working on it even with no output yet.
 */
export function meter(served: ServedAttempt, stopped: boolean): Metered | null {
  const t = served.builder.terminal;
  if (t?.[0] === F.Completed && t[1]) return { usage: t[1], estimated: false };
  if (t?.[0] === F.Failed && !served.builder.hasOutput && !stopped) return null;
  return { usage: estimatedUsage(served.inputTokens, served.builder.outputChars), estimated: true };
}
