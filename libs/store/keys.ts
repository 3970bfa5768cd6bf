// API keys: `sk-rh-<random>`, shown once at creation and stored only as a SHA-256 hash. Lookups go by
// hash, so a presented key is never compared with a stored secret byte by byte (no timing leak),
// and the key itself is never logged or stored.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from './redis';

export interface ApiKeyRecord { id: string; name: string; created_at: string; revoked: boolean }

const PREFIX = 'sk-rh-';
const byHash = (hash: string) => `rh:key:${hash}`;
const byId = (id: string) => `rh:keyid:${id}`;
const ALL = 'rh:keys';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(): string {
  return PREFIX + randomBytes(24).toString('base64url');
}

export class KeyStore {
  /** Positive lookups are cached briefly: a revoked key stops working within `cacheMs`. */
  private readonly cache = new Map<string, { id: string; until: number }>();

  constructor(private readonly redis: Redis, private readonly cacheMs = 5_000) {}

  /** Creates a key (or registers a given one, e.g. the local cluster's dev key). Returns the key once. */
  async create(name: string, key = generateKey()): Promise<{ key: string; record: ApiKeyRecord }> {
    const hash = hashKey(key);
    const existing = await this.redis.hget(byHash(hash), 'id');
    const id = existing ?? `key_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const record: ApiKeyRecord = { id, name, created_at: new Date().toISOString(), revoked: false };
    await this.redis
      .multi()
      .hset(byHash(hash), { id, name, created_at: record.created_at, revoked: '0' })
      .hset(byId(id), { hash, name, created_at: record.created_at, revoked: '0' })
      .sadd(ALL, id)
      .exec();
    return { key, record };
  }

  /** The key's id when the presented key is valid and not revoked. */
  async verify(presented: string): Promise<string | null> {
    const hash = hashKey(presented);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.id;
    const [id, revoked] = await this.redis.hmget(byHash(hash), 'id', 'revoked');
    if (!id || revoked === '1') {
      this.cache.delete(hash);
      return null;
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(hash, { id, until: now + this.cacheMs });
    return id;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const ids = await this.redis.smembers(ALL);
    const rows = await Promise.all(ids.map(async (id) => ({ ...(await this.redis.hgetall(byId(id))), id }) as Record<string, string>));
    return rows
      .map((r) => ({ id: r.id, name: r.name ?? '', created_at: r.created_at ?? '', revoked: r.revoked === '1' }))
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async revoke(id: string): Promise<boolean> {
    const hash = await this.redis.hget(byId(id), 'hash');
    if (!hash) return false;
    await this.redis.multi().hset(byId(id), 'revoked', '1').hset(byHash(hash), 'revoked', '1').exec();
    return true;
  }
}
