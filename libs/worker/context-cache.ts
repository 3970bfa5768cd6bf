// Explicit prompt caches (Gemini's `cachedContents`), worker side: a conversation's stable prefix is
// stored at the provider once, and the cache's name kept in Redis under the deployment and a hash of
// the prefix, for the provider's TTL, so that every worker's later turns send only what follows.
// Caching never fails a request: whatever goes wrong (Redis, the create call) sends the request whole.
import { createHash } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { ContextCachePlan, ProviderAdapter, UpstreamRequest } from '../providers/types';
import { redactUrl } from '../providers/upstream-request';
import type { Redis } from '../store/redis';
import type { Log } from '../telemetry/log';
import { metrics } from '../telemetry/metrics';

const PREFIX = 'rh:ctxcache:';
/** Redis forgets a name this long before the provider drops the cache, so a name it gives is rarely gone. */
const MARGIN_MS = 60_000;
/** After a failed create call the prefix is sent whole for this long (the same call would likely fail again). */
const CREATE_FAILED_MS = 5 * 60_000;
/** What Redis holds for a prefix whose create call failed. */
const FAILED = '-';

export function contextCacheKey(deploymentId: string, hash: string): string {
  return `${PREFIX}${createHash('sha256').update(`${deploymentId}\n${hash}`).digest('hex')}`;
}

/** What the create call needs of the job: its connection pool, its cancellation and timeouts. */
export interface CreateContext {
  dispatcher: Dispatcher;
  signal: AbortSignal;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
}

/** The request to send for one attempt, and the Redis key of the cache it names (null: sent whole). */
export interface CachedUpstream { upstream: UpstreamRequest; key: string | null }

export class ContextCaches {
  constructor(private readonly redis: Redis, private readonly log: Log) {}

  /** The request reading its prefix from the cache: the one Redis names, else one created now. */
  async upstreamFor(ctx: CreateContext, adapter: ProviderAdapter, deploymentId: string, plan: ContextCachePlan): Promise<CachedUpstream> {
    const key = contextCacheKey(deploymentId, plan.hash);
    const count = (result: string) => metrics.contextCache.inc({ deployment: deploymentId, result });
    let name: string | null;
    try {
      name = await this.redis.get(key);
    } catch {
      count('error');
      return { upstream: plan.plain(), key: null };
    }
    if (name === FAILED) return { upstream: plan.plain(), key: null };
    if (name) {
      count('hit');
      return { upstream: plan.cached(name), key };
    }
    name = await this.create(ctx, adapter, deploymentId, plan);
    if (ctx.signal.aborted) return { upstream: plan.plain(), key: null };
    count(name ? 'created' : 'create_failed');
    const ttlMs = name ? Math.max(1000, plan.ttlMs - Math.min(MARGIN_MS, plan.ttlMs / 10)) : CREATE_FAILED_MS;
    // Two workers creating the same prefix at once each keep their own; the provider drops the spare at its TTL.
    await this.redis.set(key, name ?? FAILED, 'PX', Math.round(ttlMs)).catch(() => count('error'));
    return name ? { upstream: plan.cached(name), key } : { upstream: plan.plain(), key: null };
  }

  /** The provider no longer has the cache `key` names: the next turn creates it again. */
  async forget(key: string, deploymentId: string): Promise<void> {
    metrics.contextCache.inc({ deployment: deploymentId, result: 'refused' });
    await this.redis.del(key).catch(() => metrics.contextCache.inc({ deployment: deploymentId, result: 'error' }));
  }

  private async create(ctx: CreateContext, adapter: ProviderAdapter, deploymentId: string, plan: ContextCachePlan): Promise<string | null> {
    const { url, headers, body } = plan.create;
    try {
      const res = await request(url, { method: 'POST', headers, body, signal: ctx.signal, dispatcher: ctx.dispatcher, headersTimeout: ctx.headersTimeoutMs, bodyTimeout: ctx.idleTimeoutMs });
      const text = await res.body.text();
      const name = res.statusCode === 200 ? adapter.createdCacheName?.(text) ?? null : null;
      if (!name) {
        const said = res.statusCode === 200 ? 'an answer without a cache name' : adapter.mapError(res.statusCode, res.headers, text, redactUrl(url)).error.message;
        this.log.warn({ deployment: deploymentId, status: res.statusCode, tokens: plan.tokens }, `prompt cache not created (the request is sent whole): ${said}`);
      }
      return name;
    } catch (err) {
      if (!ctx.signal.aborted) this.log.warn({ deployment: deploymentId }, `prompt cache not created (the request is sent whole): ${(err as Error).message}`);
      return null;
    }
  }
}
