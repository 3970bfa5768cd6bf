// The usage ledger: per API key and model, per UTC day, the counts billing needs. Each response is
// counted once: a marker keyed by the response id guards the increments in one Lua script, so a
// retried record (or a duplicate worker) cannot count it twice. The same script keeps the row per
// account, key, model and deployment the control API reads back (usage-report.ts), the spend
// counters spend limits are checked against, and the key's tokens in the current rate window.
// A line whose usage RouterHub estimated (the provider sent none: a cancelled or broken stream)
// also counts in the rows' `estimated` field, so that an operator can tell how much of a bill is.
// The response's request-log record can ride in the same script (one round trip per response, and
// a retried write appends it once, as it counts once).
import type { Usage } from '../protocol/types';
import type { Pricing } from '../routing/catalog';
import { periodsAt } from './periods';
import { luaScript, type Redis } from './redis';
import { REQUEST_LOG_STREAM, type LogAppend } from './requests';

export interface UsageTotals {
  requests: number;
  input_tokens: number;
  cached_tokens: number;
  /** Input tokens written to the prompt cache (providers that report writes). */
  cache_write_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  /** Cost in millionths of a US dollar (integer, so sums are exact). */
  cost_micro_usd: number;
  /** What prompt caching saved (cacheSavingsMicroUsd), in micro-USD. */
  cache_savings_micro_usd: number;
  /** Of `requests`, those whose usage RouterHub estimated (metering.ts). */
  estimated: number;
}

const RECORD = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', 172800) == false then return 0 end
for _, row in ipairs({KEYS[1], KEYS[3]}) do
  redis.call('HINCRBY', row, 'requests', 1)
  redis.call('HINCRBY', row, 'input_tokens', ARGV[1])
  redis.call('HINCRBY', row, 'cached_tokens', ARGV[2])
  redis.call('HINCRBY', row, 'output_tokens', ARGV[3])
  redis.call('HINCRBY', row, 'reasoning_tokens', ARGV[4])
  redis.call('HINCRBY', row, 'cost_micro_usd', ARGV[5])
  if ARGV[12] == '1' then redis.call('HINCRBY', row, 'estimated', 1) end
  if ARGV[13] ~= '0' then redis.call('HINCRBY', row, 'cache_write_tokens', ARGV[13]) end
  if ARGV[14] ~= '0' then redis.call('HINCRBY', row, 'cache_savings_micro_usd', ARGV[14]) end
end
redis.call('SADD', KEYS[4], ARGV[6])
for _, spend in ipairs({KEYS[5], KEYS[6]}) do
  for _, field in ipairs({'all', ARGV[7], ARGV[8], ARGV[9]}) do redis.call('HINCRBY', spend, field, ARGV[5]) end
end
redis.call('INCRBY', KEYS[7], ARGV[10])
redis.call('PEXPIRE', KEYS[7], ARGV[11])
if ARGV[15] then
  redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[15], '*', 'r', ARGV[16])
  if ARGV[17] ~= '' then redis.call('XTRIM', KEYS[8], 'MINID', '~', ARGV[17]) end
end
return 1`;

/** One response's line in the ledger. */
export interface UsageEntry {
  responseId: string;
  keyId: string;
  accountId: string;
  model: string;
  /** The catalog deployment that served it (deploymentId). */
  deployment: string;
  usage: Usage;
  costMicroUsd: number;
  /** What prompt caching saved on it (cacheSavingsMicroUsd); default 0. */
  cacheSavingsMicroUsd?: number;
  /** The usage is RouterHub's estimate, not the provider's count. */
  estimated?: boolean;
  at?: Date;
}

/** The read-back row of one day: account, key, model and deployment, tab-separated (none holds a tab). */
export const ledgerRow = (day: string, member: string) => `rh:usage:row:${day}:${member}`;
export const ledgerDay = (day: string) => `rh:usage:rows:${day}`;
/** Spend in micro-USD per period field (periods.ts) of a key ('k') or an account ('a'). */
export const spendKey = (kind: 'k' | 'a', id: string) => `rh:spend:${kind}:${id}`;
/** Tokens a key used in one rate window (index = epoch ms / window). */
export const tokenWindowKey = (keyId: string, index: number) => `rh:rl:t:${keyId}:${index}`;

export function usageKey(keyId: string, model: string, day: string): string {
  return `rh:usage:${keyId}:${day}:${model}`;
}

/**
 * USD per million tokens × tokens = micro-USD. Input read from the prompt cache and input written to
 * it are billed at their own prices, each `input` when the catalog has none.
 */
export function costMicroUsd(usage: Usage, pricing: Pricing | null): number {
  if (!pricing) return 0;
  const cached = usage.input_tokens_details.cached_tokens;
  const written = usage.input_tokens_details.cache_write_tokens ?? 0;
  const fresh = Math.max(0, usage.input_tokens - cached - written);
  return Math.round(
    fresh * pricing.input + cached * (pricing.cached_input ?? pricing.input) + written * (pricing.cache_write_input ?? pricing.input)
    + usage.output_tokens * pricing.output,
  );
}

/**
 * What prompt caching saved on one response, in micro-USD: cache reads at the full input price
 * minus what they cost, less the premium paid for cache writes (negative when writes outweigh reads).
 */
export function cacheSavingsMicroUsd(usage: Usage, pricing: Pricing | null): number {
  if (!pricing) return 0;
  const cached = usage.input_tokens_details.cached_tokens;
  const written = usage.input_tokens_details.cache_write_tokens ?? 0;
  return Math.round(cached * (pricing.input - (pricing.cached_input ?? pricing.input)) - written * ((pricing.cache_write_input ?? pricing.input) - pricing.input));
}

export class UsageLedger {
  /** `rateWindowMs`: the rpm/tpm window (ROUTERHUB_RATE_WINDOW_MS), shared with the ingress's limits. */
  private readonly recordScript: (...args: Array<string | number>) => Promise<number>;

  constructor(private readonly redis: Redis, private readonly rateWindowMs = 60_000) {
    this.recordScript = luaScript(redis, 'rhUsageRecord', 8, RECORD);
  }

  /**
   * Records one response's usage, and its request-log record (RequestLog.entry) when given; returns
   * false when this response was already counted (its record was appended then).
   */
  async record(e: UsageEntry, log?: LogAppend): Promise<boolean> {
    const at = e.at ?? new Date();
    const day = at.toISOString().slice(0, 10);
    const p = periodsAt(at.getTime());
    const member = `${e.accountId}\t${e.keyId}\t${e.model}\t${e.deployment}`;
    const { usage } = e;
    const done = await this.recordScript(
      usageKey(e.keyId, e.model, day), `rh:usage:counted:${e.responseId}`, ledgerRow(day, member), ledgerDay(day),
      spendKey('k', e.keyId), spendKey('a', e.accountId), tokenWindowKey(e.keyId, Math.floor(at.getTime() / this.rateWindowMs)), REQUEST_LOG_STREAM,
      usage.input_tokens, usage.input_tokens_details.cached_tokens, usage.output_tokens,
      usage.output_tokens_details.reasoning_tokens, e.costMicroUsd,
      member, p.day, p.week, p.month, usage.input_tokens + usage.output_tokens, 2 * this.rateWindowMs, e.estimated ? 1 : 0,
      usage.input_tokens_details.cache_write_tokens ?? 0, e.cacheSavingsMicroUsd ?? 0,
      ...(log ? [log.maxEntries, log.json, log.minId] : []),
    );
    return done === 1;
  }

  async totals(keyId: string, model: string, day: string): Promise<UsageTotals> {
    const h = await this.redis.hgetall(usageKey(keyId, model, day));
    const n = (k: string) => Number(h[k] ?? 0);
    return {
      requests: n('requests'), input_tokens: n('input_tokens'), cached_tokens: n('cached_tokens'), cache_write_tokens: n('cache_write_tokens'),
      output_tokens: n('output_tokens'), reasoning_tokens: n('reasoning_tokens'), cost_micro_usd: n('cost_micro_usd'),
      cache_savings_micro_usd: n('cache_savings_micro_usd'), estimated: n('estimated'),
    };
  }
}
