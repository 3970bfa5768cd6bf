import Redis from 'ioredis';

/** How long a Redis command may take before it fails (ROUTERHUB_REDIS_TIMEOUT_MS). */
export const DEFAULT_REDIS_TIMEOUT_MS = 1000;

export interface RedisOptions {
  /**
   * Every command fails after this long without an answer, so that a hung Redis (paused, a dead
   * link) fails a request promptly instead of hanging it. The connection itself stays and heals.
   */
  commandTimeoutMs?: number;
}

/**
 * One ioredis connection; retries forever with a capped backoff so a Redis restart heals itself.
 * Connection errors surface where they matter (a failed command, /readyz), not as log spam.
 */
export function connectRedis(url: string, opts: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    commandTimeout: opts.commandTimeoutMs,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  redis.on('error', () => undefined);
  return redis;
}

/** ROUTERHUB_REDIS_TIMEOUT_MS, or the default. */
export function redisTimeoutMs(env: Record<string, string | undefined>): number {
  const v = Number(env.ROUTERHUB_REDIS_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_REDIS_TIMEOUT_MS;
}

/**
 * Whether Redis answers a PING within `timeoutMs`. The answer is kept for `cacheMs` and concurrent
 * callers share one PING, so a load balancer probing often costs at most one round trip per period.
 * `status === 'ready'` is not enough: a paused Redis keeps its connection "ready".
 */
export function redisProbe(redis: Redis, timeoutMs: number, cacheMs: number): () => Promise<boolean> {
  let last: { ok: boolean; at: number } | null = null;
  let pending: Promise<boolean> | null = null;
  return () => {
    if (last && performance.now() - last.at < cacheMs) return Promise.resolve(last.ok);
    pending ??= new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      redis.ping().then(() => resolve(true), () => resolve(false)).finally(() => clearTimeout(timer));
    }).then((ok) => {
      last = { ok, at: performance.now() };
      pending = null;
      return ok;
    });
    return pending;
  };
}

export type { Redis };
