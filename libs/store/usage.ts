// The usage ledger: per API key and model, per UTC day, the counts billing needs. Each response is
// counted once: a marker keyed by the response id guards the increments in one Lua script, so a
// retried record (or a duplicate worker) cannot count it twice.
import type { Usage } from '../protocol/types';
import type { Pricing } from '../routing/catalog';
import type { Redis } from './redis';

export interface UsageTotals {
  requests: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  /** Cost in millionths of a US dollar (integer, so sums are exact). */
  cost_micro_usd: number;
}

const RECORD = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', 172800) == false then return 0 end
redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('HINCRBY', KEYS[1], 'input_tokens', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'cached_tokens', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'output_tokens', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'reasoning_tokens', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'cost_micro_usd', ARGV[5])
return 1`;

export function usageKey(keyId: string, model: string, day: string): string {
  return `rh:usage:${keyId}:${day}:${model}`;
}

/** USD per million tokens × tokens = micro-USD. Cached input is billed at its own price. */
export function costMicroUsd(usage: Usage, pricing: Pricing | null): number {
  if (!pricing) return 0;
  const cached = usage.input_tokens_details.cached_tokens;
  const fresh = Math.max(0, usage.input_tokens - cached);
  return Math.round(fresh * pricing.input + cached * (pricing.cached_input ?? pricing.input) + usage.output_tokens * pricing.output);
}

export class UsageLedger {
  constructor(private readonly redis: Redis) {}

  /** Records one response's usage; returns false when this response was already counted. */
  async record(responseId: string, keyId: string, model: string, usage: Usage, pricing: Pricing | null, at = new Date()): Promise<boolean> {
    const day = at.toISOString().slice(0, 10);
    const done = await this.redis.eval(
      RECORD, 2,
      usageKey(keyId, model, day), `rh:usage:counted:${responseId}`,
      usage.input_tokens, usage.input_tokens_details.cached_tokens, usage.output_tokens,
      usage.output_tokens_details.reasoning_tokens, costMicroUsd(usage, pricing),
    );
    return done === 1;
  }

  async totals(keyId: string, model: string, day: string): Promise<UsageTotals> {
    const h = await this.redis.hgetall(usageKey(keyId, model, day));
    const n = (k: string) => Number(h[k] ?? 0);
    return {
      requests: n('requests'), input_tokens: n('input_tokens'), cached_tokens: n('cached_tokens'),
      output_tokens: n('output_tokens'), reasoning_tokens: n('reasoning_tokens'), cost_micro_usd: n('cost_micro_usd'),
    };
  }
}
