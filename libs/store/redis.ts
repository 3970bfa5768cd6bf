import Redis from 'ioredis';

/** One ioredis connection; retries forever with a capped backoff so a Redis restart heals itself. */
export function connectRedis(url: string): Redis {
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
}

export type { Redis };
