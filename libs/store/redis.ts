import Redis from 'ioredis';

/**
 * One ioredis connection; retries forever with a capped backoff so a Redis restart heals itself.
 * Connection errors surface where they matter (a failed command, /readyz), not as log spam.
 */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  redis.on('error', () => undefined);
  return redis;
}

export type { Redis };
