// Reading the ledger back: per-day rows (account, key, model, deployment) summed into buckets, and
// the spend counters behind a key's or an account's `usage_*` and `limit_remaining`.
import { daysBetween, nextReset, periodField, periodsAt, type LimitReset } from './periods';
import type { Redis } from './redis';
import { ledgerDay, ledgerRow, spendKey } from './usage';

export const GROUP_BY = ['day', 'model', 'key', 'account', 'deployment'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageQuery {
  from: string;
  to: string;
  group_by: GroupBy;
  account_id?: string;
  key_id?: string;
  model?: string;
}

export interface UsageBucket {
  requests: number;
  input_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  /** USD. */
  cost: number;
  /** USD prompt caching saved: cache reads at the full input price less their price, less the write premium. */
  cache_savings: number;
}

const COUNTS = ['requests', 'input_tokens', 'cached_tokens', 'output_tokens', 'reasoning_tokens', 'cost_micro_usd', 'cache_write_tokens', 'cache_savings_micro_usd'] as const;

export async function usageReport(redis: Redis, q: UsageQuery): Promise<Array<Record<string, string> & UsageBucket>> {
  const days = daysBetween(q.from, q.to);
  const members = await Promise.all(days.map((d) => redis.smembers(ledgerDay(d))));
  const rows: Array<{ day: string; account: string; key: string; model: string; deployment: string }> = [];
  days.forEach((day, i) => {
    for (const m of members[i]) {
      const [account, key, model, deployment] = m.split('\t');
      if (q.account_id && account !== q.account_id) continue;
      if (q.key_id && key !== q.key_id) continue;
      if (q.model && model !== q.model) continue;
      rows.push({ day, account, key, model, deployment });
    }
  });
  const values = await Promise.all(rows.map((r) => redis.hmget(ledgerRow(r.day, `${r.account}\t${r.key}\t${r.model}\t${r.deployment}`), ...COUNTS)));
  const field = { day: 'day', model: 'model', key: 'key_id', account: 'account_id', deployment: 'deployment' }[q.group_by];
  const buckets = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const name = { day: r.day, model: r.model, key: r.key, account: r.account, deployment: r.deployment }[q.group_by];
    const sums = buckets.get(name) ?? new Array<number>(COUNTS.length).fill(0);
    values[i].forEach((v, j) => (sums[j] += Number(v ?? 0)));
    buckets.set(name, sums);
  });
  return [...buckets.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]) => ({
      [field]: name,
      requests: s[0], input_tokens: s[1], cached_tokens: s[2], cache_write_tokens: s[6], output_tokens: s[3], reasoning_tokens: s[4], cost: s[5] / 1e6, cache_savings: s[7] / 1e6,
    }) as Record<string, string> & UsageBucket);
}

/** Spend in USD: all time and in the current day, week and month (UTC). */
export interface Spend { usage: number; usage_daily: number; usage_weekly: number; usage_monthly: number }

export async function spendOf(redis: Redis, kind: 'k' | 'a', id: string, now = Date.now()): Promise<Spend> {
  const p = periodsAt(now);
  const [all, d, w, m] = await redis.hmget(spendKey(kind, id), 'all', p.day, p.week, p.month);
  const usd = (v: string | null) => Number(v ?? 0) / 1e6;
  return { usage: usd(all), usage_daily: usd(d), usage_weekly: usd(w), usage_monthly: usd(m) };
}

/** What is left of a limit in its current period, and when the period resets (ISO, null: never). */
export function remaining(limit: number | null, reset: LimitReset | null, spend: Spend, now = Date.now()): { limit_remaining: number | null; limit_resets_at: string | null } {
  if (limit === null) return { limit_remaining: null, limit_resets_at: null };
  const field = periodField(reset, periodsAt(now));
  const used = field === 'all' ? spend.usage : field.startsWith('d:') ? spend.usage_daily : field.startsWith('w:') ? spend.usage_weekly : spend.usage_monthly;
  const at = nextReset(reset, now);
  return { limit_remaining: Math.max(0, Math.round((limit - used) * 1e6) / 1e6), limit_resets_at: at === null ? null : new Date(at).toISOString() };
}
