import type { Usage } from '../protocol/types';

/** Responses usage; `input` includes `cached` and `output` includes `reasoning` (Responses semantics). */
export function makeUsage(input: number, cached: number, output: number, reasoning: number): Usage {
  const i = int(input);
  const o = int(output);
  return {
    input_tokens: i,
    input_tokens_details: { cached_tokens: int(cached) },
    output_tokens: o,
    output_tokens_details: { reasoning_tokens: int(reasoning) },
    total_tokens: i + o,
  };
}

function int(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}
