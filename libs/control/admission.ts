// Admission on the request path, shared by every ingress through Redis: one Lua script per request
// checks the key (valid, enabled, not expired), its account, both spend limits, rpm, tpm and
// max_concurrent, then counts the request and takes a concurrency lease, atomically. A lease is a
// member of a sorted set scored by its expiry: the ingress holding the stream renews its leases and
// removes them at the stream's end; an ingress that dies stops renewing, so its leases lapse.
//
// The script reads keys it derives from the key record (account, spend, windows): fine on a
// single Redis (what RouterHub runs), not on Redis Cluster.
import { randomBytes } from 'node:crypto';
import { accountDisabled, invalidApiKey, keyRateLimited, keyStoreUnavailable, missingApiKey, modelNotAllowed, spendLimitReached, tooManyStreams } from '../protocol/errors';
import { hashKey, keyByHash, type ApiKeyRecord } from '../store/keys';
import { nextReset, periodsAt, type LimitReset } from '../store/periods';
import { luaScript, type Redis } from '../store/redis';
import { tokenWindowKey } from '../store/usage';
import { metrics } from '../telemetry/metrics';
import { modelMatcher } from './input';

const requestWindowKey = (keyId: string, index: number) => `rh:rl:r:${keyId}:${index}`;
const leaseKey = (keyId: string) => `rh:lease:${keyId}`;

const ADMIT = `
local id = redis.call('HGET', KEYS[1], 'id')
if not id then return {'invalid'} end
local rk = 'rh:keyid:' .. id
local f = redis.call('HMGET', rk, 'revoked', 'disabled', 'expires_ms', 'management', 'account_id',
  'limit_micro', 'limit_reset', 'rpm', 'tpm', 'max_concurrent', 'models')
if f[1] == '1' then return {'revoked', id} end
if f[2] == '1' then return {'disabled', id} end
local now = tonumber(ARGV[1])
if f[3] and tonumber(f[3]) <= now then return {'expired', id} end
if f[4] == '1' and ARGV[8] ~= '1' then return {'management', id} end
local account = f[5]
if not account or account == '' then account = 'default' end
local function period(reset)
  if reset == 'daily' then return ARGV[3] elseif reset == 'weekly' then return ARGV[4] elseif reset == 'monthly' then return ARGV[5] end
  return 'all'
end
local a = redis.call('HMGET', 'rh:account:' .. account, 'disabled', 'limit_micro', 'limit_reset')
if a[1] == '1' then return {'account_disabled', id, account} end
if f[6] then
  local spent = tonumber(redis.call('HGET', 'rh:spend:k:' .. id, period(f[7])) or '0')
  if spent >= tonumber(f[6]) then return {'key_quota', id, account, f[6], f[7] or ''} end
end
if a[2] then
  local spent = tonumber(redis.call('HGET', 'rh:spend:a:' .. account, period(a[3])) or '0')
  if spent >= tonumber(a[2]) then return {'account_quota', id, account, a[2], a[3] or ''} end
end
local win = math.floor(now / tonumber(ARGV[2]))
local rkey = 'rh:rl:r:' .. id .. ':' .. win
local used = tonumber(redis.call('GET', rkey) or '0')
local tokens = tonumber(redis.call('GET', 'rh:rl:t:' .. id .. ':' .. win) or '0')
if f[8] and used >= tonumber(f[8]) then return {'rpm', id, account, f[8], tostring(used), f[9] or '', tostring(tokens)} end
if f[9] and tokens >= tonumber(f[9]) then return {'tpm', id, account, f[8] or '', tostring(used), f[9], tostring(tokens)} end
local leases = 0
if f[10] then
  local lk = 'rh:lease:' .. id
  redis.call('ZREMRANGEBYSCORE', lk, '-inf', now)
  leases = redis.call('ZCARD', lk)
  if leases >= tonumber(f[10]) then return {'concurrency', id, account, f[10], tostring(leases)} end
  redis.call('ZADD', lk, now + tonumber(ARGV[7]), ARGV[6])
  redis.call('PEXPIRE', lk, ARGV[7])
  leases = leases + 1
end
used = redis.call('INCR', rkey)
if used == 1 then redis.call('PEXPIRE', rkey, 2 * tonumber(ARGV[2])) end
redis.call('HSET', rk, 'last_used_ms', ARGV[1])
return {'ok', id, account, f[8] or '', tostring(used), f[9] or '', tostring(tokens), f[10] or '', f[11] or '', f[4] or ''}`;

export interface AdmissionOptions {
  /** The rpm/tpm window (60 s; shorter only in tests). */
  rateWindowMs: number;
  /** A concurrency lease lapses this long after its ingress last renewed it. */
  leaseTtlMs: number;
  /** Admit keys seen valid within `keyCacheMs` when Redis cannot be reached (no limits then). */
  failOpen: boolean;
  keyCacheMs: number;
}

/** A request let in: who it is for, what to tell the client, and its lease to give back. */
export interface Admission {
  keyId: string;
  accountId: string;
  /** A management key, let in only because the request pins a deployment (`npm run doctor`). */
  management: boolean;
  /** x-ratelimit-* headers for the answer. */
  headers: Array<[string, string]>;
  /** Throws 403 when this key may not use `model`. */
  checkModel(model: string): void;
  /** Gives back the concurrency lease (idempotent). */
  release(): void;
}

/** Go-style durations as OpenAI sends them in x-ratelimit-reset-*: "850ms", "12s", "1m3s". */
export function resetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

export function dollars(micro: number): string {
  return `$${(micro / 1e6).toFixed(micro % 10_000 === 0 ? 2 : 6).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
}

export class Limits {
  private readonly leases = new Map<string, string>();
  private readonly renew: NodeJS.Timeout;
  /** Key hashes admitted lately, for fail-open only. */
  private readonly recent = new Map<string, { keyId: string; accountId: string; until: number }>();
  private readonly matchers = new Map<string, (model: string) => boolean>();
  /** Lease ids: this process's random prefix and a count, unique across ingresses without random bytes per request. */
  private readonly leasePrefix = randomBytes(9).toString('base64url');
  private leaseCount = 0;

  private readonly admitScript: (...args: Array<string | number>) => Promise<string[]>;

  constructor(private readonly redis: Redis, private readonly opts: AdmissionOptions) {
    this.admitScript = luaScript(redis, 'rhAdmit', 1, ADMIT);
    this.renew = setInterval(() => this.renewLeases(), Math.max(100, Math.floor(opts.leaseTtlMs / 3)));
    this.renew.unref();
  }

  stop(): void {
    clearInterval(this.renew);
  }

  /**
   * Checks a request's key and limits in one round trip to Redis; throws the HttpError to answer.
   * `pinned`: the request names a deployment (x-routerhub-deployment), which management keys may do.
   */
  async admit(authorization: string, pinned = false): Promise<Admission> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw missingApiKey();
    const hash = hashKey(m[1]);
    const now = Date.now();
    const p = periodsAt(now);
    const lease = `${this.leasePrefix}${(++this.leaseCount).toString(36)}`;
    let r: string[];
    try {
      r = (await this.admitScript(keyByHash(hash), now, this.opts.rateWindowMs, p.day, p.week, p.month, lease, this.opts.leaseTtlMs, pinned ? '1' : '0'));
    } catch {
      return this.storeDown(hash, now);
    }
    const windowEnd = (Math.floor(now / this.opts.rateWindowMs) + 1) * this.opts.rateWindowMs;
    switch (r[0]) {
      case 'ok': {
        const [, keyId, accountId, rpm, used, tpm, tokens, maxConcurrent, models, management] = r;
        if (this.recent.size > 100_000) this.recent.clear();
        this.recent.set(hash, { keyId, accountId, until: now + this.opts.keyCacheMs });
        const leased = maxConcurrent !== '';
        if (leased) this.leases.set(lease, keyId);
        const headers = rateHeaders(rpm, Number(used), tpm, Number(tokens), windowEnd - now);
        const allowed = models ? this.matcher(models) : null;
        let released = !leased;
        return {
          keyId, accountId, headers, management: management === '1',
          checkModel: (model) => {
            if (!allowed || allowed(model)) return;
            throw modelNotAllowed(model, JSON.parse(models) as string[]);
          },
          release: () => {
            if (released) return;
            released = true;
            this.leases.delete(lease);
            this.redis.zrem(leaseKey(keyId), lease).catch(() => undefined); // unreleased, it lapses
          },
        };
      }
      case 'invalid':
      case 'revoked':
      case 'disabled':
      case 'expired':
      case 'management':
        throw invalidApiKey(r[0]);
      case 'account_disabled':
        throw accountDisabled(String(r[2]));
      case 'key_quota':
      case 'account_quota': {
        const whose = r[0] === 'key_quota' ? 'This API key' : `This key's account (${r[2]})`;
        const reset = (r[4] || null) as LimitReset | null;
        const at = nextReset(reset, now);
        const when = at === null ? 'it does not reset; ask the operator to raise it' : `it resets at ${new Date(at).toISOString()}`;
        throw spendLimitReached(whose, `${dollars(Number(r[3]))}${reset ? ` (${reset})` : ''}`, when, at === null ? null : Math.ceil((at - now) / 1000));
      }
      case 'rpm':
      case 'tpm': {
        const [, , , rpm, used, tpm, tokens] = r;
        const wait = windowEnd - now;
        const what = r[0] === 'rpm' ? `requests (${rpm} per ${windowName(this.opts.rateWindowMs)})` : `tokens (${tpm} per ${windowName(this.opts.rateWindowMs)})`;
        const e = keyRateLimited(r[0] === 'rpm' ? 'requests' : 'tokens', what, Math.ceil(wait / 1000));
        e.headers.push(...rateHeaders(rpm, Number(used), tpm, Number(tokens), wait));
        throw e;
      }
      case 'concurrency':
        throw tooManyStreams(r[4], r[3]);
      default:
        throw new Error(`unexpected admission result ${r[0]}`);
    }
  }

  /** Redis did not answer: key checks fail closed, unless the operator lets recently seen keys through. */
  private storeDown(hash: string, now: number): Admission {
    const seen = this.recent.get(hash);
    if (this.opts.failOpen && seen && seen.until > now) {
      metrics.limitStoreErrors.inc({ outcome: 'open' });
      return { keyId: seen.keyId, accountId: seen.accountId, management: false, headers: [], checkModel: () => undefined, release: () => undefined };
    }
    metrics.limitStoreErrors.inc({ outcome: 'closed' });
    throw keyStoreUnavailable();
  }

  private matcher(models: string): (model: string) => boolean {
    let m = this.matchers.get(models);
    if (!m) {
      if (this.matchers.size > 10_000) this.matchers.clear();
      m = modelMatcher(JSON.parse(models) as string[]);
      this.matchers.set(models, m);
    }
    return m;
  }

  private renewLeases(): void {
    if (this.leases.size === 0) return;
    const until = Date.now() + this.opts.leaseTtlMs;
    const pipe = this.redis.pipeline();
    for (const [lease, keyId] of this.leases) pipe.zadd(leaseKey(keyId), 'XX', until, lease).pexpire(leaseKey(keyId), this.opts.leaseTtlMs);
    pipe.exec().catch(() => undefined);
  }
}

function windowName(ms: number): string {
  return ms === 60_000 ? 'minute' : `${ms / 1000}s window`;
}

function rateHeaders(rpm: string, used: number, tpm: string, tokens: number, resetMs: number): Array<[string, string]> {
  const h: Array<[string, string]> = [];
  const reset = resetDuration(resetMs);
  if (rpm !== '') h.push(['x-ratelimit-limit-requests', rpm], ['x-ratelimit-remaining-requests', String(Math.max(0, Number(rpm) - used))], ['x-ratelimit-reset-requests', reset]);
  if (tpm !== '') h.push(['x-ratelimit-limit-tokens', tpm], ['x-ratelimit-remaining-tokens', String(Math.max(0, Number(tpm) - tokens))], ['x-ratelimit-reset-tokens', reset]);
  return h;
}

/** A key's rate limits and where it stands in the current window (GET /api/v1/key). */
export async function rateLimitState(redis: Redis, key: ApiKeyRecord, windowMs: number, now = Date.now()): Promise<Record<string, unknown>> {
  const index = Math.floor(now / windowMs);
  const [used, tokens, leases] = await Promise.all([
    redis.get(requestWindowKey(key.id, index)),
    redis.get(tokenWindowKey(key.id, index)),
    redis.zcount(leaseKey(key.id), now, '+inf'),
  ]);
  const resetsAt = new Date((index + 1) * windowMs).toISOString();
  return {
    window_seconds: windowMs / 1000,
    requests: { limit: key.rpm, used: Number(used ?? 0), remaining: key.rpm === null ? null : Math.max(0, key.rpm - Number(used ?? 0)), resets_at: resetsAt },
    tokens: { limit: key.tpm, used: Number(tokens ?? 0), remaining: key.tpm === null ? null : Math.max(0, key.tpm - Number(tokens ?? 0)), resets_at: resetsAt },
    concurrent: { limit: key.max_concurrent, in_use: leases },
  };
}
