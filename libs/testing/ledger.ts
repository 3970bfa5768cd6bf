// Test support for billing: read a key's ledger totals, and sum the usage that clients saw in their
// terminal events, so that tests compare the two.
import Redis from 'ioredis';
import type { Test } from 'tap';
import { hashKey, keyByHash } from '../store/keys';
import { UsageLedger, type UsageTotals } from '../store/usage';
import type { ClientResult, SseEvent, TestCluster } from './cluster';
import { sleep, terminals, waitUntil } from './cluster';

export interface SeenUsage { responses: number; input_tokens: number; cached_tokens: number; output_tokens: number; reasoning_tokens: number }

export const noUsage = (): SeenUsage => ({ responses: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0, reasoning_tokens: 0 });

export async function keyIdOf(redis: Redis, key: string): Promise<string> {
  const id = await redis.hget(keyByHash(hashKey(key)), 'id');
  if (!id) throw new Error('the key is not in Redis');
  return id;
}

export interface LedgerCluster { tc: TestCluster; redis: Redis; probe: LedgerProbe }

/**
 * A test file's cluster (`start`), with a Redis client and a ledger probe on its dev key, handed to
 * `ready` before the file's tests; stopped after them. The mock is reset before each test.
 */
export function withLedgerCluster(t: Test, start: () => Promise<TestCluster>, ready: (c: LedgerCluster) => void): void {
  let c: LedgerCluster | null = null;
  t.before(async () => {
    const tc = await start();
    const redis = new Redis(tc.cluster.redisUrl);
    c = { tc, redis, probe: new LedgerProbe(redis, await keyIdOf(redis, tc.key)) };
    ready(c);
  });
  t.teardown(async () => {
    c?.redis.disconnect();
    await c?.tc.stop();
  });
  t.beforeEach(() => c?.tc.mock.reset());
}

/** A key's ledger totals for one model today, summed over the day's rows. */
export class LedgerProbe {
  private readonly ledger: UsageLedger;
  constructor(redis: Redis, private readonly keyId: string) {
    this.ledger = new UsageLedger(redis);
  }

  totals(model: string): Promise<UsageTotals> {
    return this.ledger.totals(this.keyId, model, new Date().toISOString().slice(0, 10));
  }

  /** The change since `before` once `n` more responses are in (workers write just after a stream ends) and nothing more arrives. */
  async settled(model: string, before: UsageTotals, n: number, ms = 5000): Promise<UsageTotals> {
    await waitUntil(async () => (await this.since(model, before)).requests >= n, ms);
    await sleep(200);
    return this.since(model, before);
  }

  /** The change in totals since `before`. */
  async since(model: string, before: UsageTotals): Promise<UsageTotals> {
    const now = await this.totals(model);
    const d = {} as UsageTotals;
    for (const k of Object.keys(now) as Array<keyof UsageTotals>) d[k] = now[k] - before[k];
    return d;
  }
}

interface WireUsage { input_tokens: number; output_tokens: number; input_tokens_details?: { cached_tokens?: number }; output_tokens_details?: { reasoning_tokens?: number } }

/** Adds the usage of a response's terminal event (if it has one with usage) to `sum`. */
export function addSeenUsage(sum: SeenUsage, events: SseEvent[] | ClientResult): SeenUsage {
  const list = Array.isArray(events) ? events : events.events;
  const end = terminals(list)[0];
  const usage = (end?.data.response as { usage?: WireUsage | null } | undefined)?.usage;
  if (!usage) return sum;
  sum.responses++;
  sum.input_tokens += usage.input_tokens;
  sum.cached_tokens += usage.input_tokens_details?.cached_tokens ?? 0;
  sum.output_tokens += usage.output_tokens;
  sum.reasoning_tokens += usage.output_tokens_details?.reasoning_tokens ?? 0;
  return sum;
}

/** Characters of output a client received in deltas (text, reasoning summary, arguments, custom input). */
export function streamedChars(events: SseEvent[]): number {
  let n = 0;
  for (const e of events) if (e.data.type.endsWith('.delta') && typeof e.data.delta === 'string') n += e.data.delta.length;
  return n;
}
