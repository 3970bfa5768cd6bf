// The response cache in Redis: one entry per (account, model, normalized request) hash, with a TTL,
// bounded in size per entry (the worker stops recording past it) and in total (the store script
// evicts the entries that expire soonest until the new one fits). An index (sorted set by expiry)
// and a size table keep the total exact although Redis expires entries by itself.
import { luaScript, type Redis } from './redis';

const PREFIX = 'rh:rcache:';
const INDEX = `${PREFIX}index`;
const SIZES = `${PREFIX}sizes`;
const TOTAL = `${PREFIX}bytes`;

export const responseCacheKey = (hash: string) => `${PREFIX}e:${hash}`;

// KEYS: entry, index, sizes, total. ARGV: value, ttl ms, now ms, max total bytes.
// Forgets entries Redis already expired, stores the new one, then evicts the soonest to expire
// (with one TTL per model: the oldest) while the total is over the bound. Bounded work per call.
const STORE = `
local size = string.len(ARGV[1])
local now = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
if size > max then return 0 end
local function forget(member)
  local s = tonumber(redis.call('HGET', KEYS[3], member) or '0')
  redis.call('HDEL', KEYS[3], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('DECRBY', KEYS[4], s)
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do forget(member) end
if redis.call('ZSCORE', KEYS[2], KEYS[1]) then forget(KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), KEYS[1])
redis.call('HSET', KEYS[3], KEYS[1], size)
local total = redis.call('INCRBY', KEYS[4], size)
for _ = 1, 1000 do
  if total <= max then break end
  local first = redis.call('ZRANGE', KEYS[2], 0, 1)
  local oldest = first[1] == KEYS[1] and first[2] or first[1]
  if not oldest then break end
  redis.call('DEL', oldest)
  forget(oldest)
  total = tonumber(redis.call('GET', KEYS[4]))
end
return 1`;

export class ResponseCacheStore {
  /** `maxTotalBytes`: what every entry together may take in Redis. */
  private readonly store: (...args: Array<string | number | Buffer>) => Promise<number>;

  constructor(private readonly redis: Redis, private readonly maxTotalBytes: number) {
    this.store = luaScript(redis, 'rhResponseCacheStore', 4, STORE);
  }

  async get(hash: string): Promise<Buffer | null> {
    return this.redis.getBuffer(responseCacheKey(hash));
  }

  /** Stores an entry for `ttlMs`; false when it is larger than the whole cache may be. */
  async put(hash: string, value: Buffer, ttlMs: number): Promise<boolean> {
    const stored = await this.store(responseCacheKey(hash), INDEX, SIZES, TOTAL, value, Math.max(1, Math.round(ttlMs)), Date.now(), this.maxTotalBytes);
    return stored === 1;
  }

  /** Bytes the cache's entries take (as counted by the store script). */
  async totalBytes(): Promise<number> {
    return Number((await this.redis.get(TOTAL)) ?? 0);
  }
}
