// API keys: `sk-rh-<random>`, shown once at creation and stored only as a SHA-256 hash. Lookups go by
// hash, so a presented key is never compared with a stored secret byte by byte (no timing leak),
// and the key itself is never logged or stored.
//
// Layout: `rh:key:<hash>` → {id, revoked} (the lookup), `rh:keyid:<id>` → the record (hash, name,
// account, limits), `rh:keys` and `rh:account:keys:<account>` → ids. Unset limits are absent fields,
// so the limits script (libs/control/admission.ts) reads them with one HMGET.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isLimitReset, type LimitReset } from './periods';
import type { Redis } from './redis';

export const DEFAULT_ACCOUNT = 'default';

/** What an operator (or a member, for their account's keys) sets on a key. Money is USD. */
export interface KeySettings {
  name: string;
  /** Spend limit in USD per `limit_reset` period (all time when the reset is null). */
  limit: number | null;
  limit_reset: LimitReset | null;
  /** Requests per rate window (a minute). */
  rpm: number | null;
  /** Input + output tokens per rate window. */
  tpm: number | null;
  /** Streams at once. */
  max_concurrent: number | null;
  /** Model-id patterns this key may use (`*` matches anything); null: every model. */
  models: string[] | null;
  expires_at: string | null;
  disabled: boolean;
}

export interface ApiKeyRecord extends KeySettings {
  id: string;
  /** A recognisable, harmless form of the key (`sk-rh-AbCd…wxyz`). */
  label: string;
  account_id: string;
  /** A management key authenticates the control API as an admin; it cannot call /v1/responses. */
  management: boolean;
  revoked: boolean;
  created_at: string;
  last_used_at: string | null;
}

export type NewKey = Partial<KeySettings> & { name: string; account_id?: string; management?: boolean };

const PREFIX = 'sk-rh-';
export const keyByHash = (hash: string) => `rh:key:${hash}`;
export const keyById = (id: string) => `rh:keyid:${id}`;
const ALL = 'rh:keys';
const ofAccount = (account: string) => `rh:account:keys:${account}`;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(): string {
  return PREFIX + randomBytes(24).toString('base64url');
}

function labelOf(key: string): string {
  return key.length > PREFIX.length + 8 ? `${key.slice(0, PREFIX.length + 4)}…${key.slice(-4)}` : `${PREFIX}…`;
}

/** Record fields as stored: null settings are absent fields (HDEL), numbers and flags are strings. */
function settingsFields(s: Partial<KeySettings>): { set: Record<string, string>; del: string[] } {
  const set: Record<string, string> = {};
  const del: string[] = [];
  const put = (field: string, v: string | null | undefined) => {
    if (v === undefined) return;
    if (v === null) del.push(field);
    else set[field] = v;
  };
  put('name', s.name);
  put('limit_micro', s.limit === undefined ? undefined : s.limit === null ? null : String(Math.round(s.limit * 1e6)));
  put('limit_reset', s.limit_reset);
  for (const f of ['rpm', 'tpm', 'max_concurrent'] as const) put(f, s[f] === undefined ? undefined : s[f] === null ? null : String(s[f]));
  put('models', s.models === undefined ? undefined : s.models === null ? null : JSON.stringify(s.models));
  if (s.expires_at !== undefined) {
    put('expires_at', s.expires_at);
    put('expires_ms', s.expires_at === null ? null : String(Date.parse(s.expires_at)));
  }
  if (s.disabled !== undefined) set.disabled = s.disabled ? '1' : '0';
  return { set, del };
}

function num(v: string | undefined): number | null {
  return v === undefined || v === '' ? null : Number(v);
}

export function recordOf(id: string, h: Record<string, string>): ApiKeyRecord {
  const lastUsed = num(h.last_used_ms);
  return {
    id,
    name: h.name ?? '',
    label: h.label ?? `${PREFIX}…`,
    // Keys from before accounts existed belong to the default account.
    account_id: h.account_id || DEFAULT_ACCOUNT,
    management: h.management === '1',
    disabled: h.disabled === '1',
    revoked: h.revoked === '1',
    limit: h.limit_micro ? Number(h.limit_micro) / 1e6 : null,
    limit_reset: isLimitReset(h.limit_reset) ? h.limit_reset : null,
    rpm: num(h.rpm),
    tpm: num(h.tpm),
    max_concurrent: num(h.max_concurrent),
    models: h.models ? (JSON.parse(h.models) as string[]) : null,
    expires_at: h.expires_at || null,
    created_at: h.created_at ?? '',
    last_used_at: lastUsed === null ? null : new Date(lastUsed).toISOString(),
  };
}

/** Why a presented key does not authenticate, or null when it does. */
export function keyProblem(r: ApiKeyRecord | null, now = Date.now()): 'invalid' | 'revoked' | 'disabled' | 'expired' | null {
  if (!r) return 'invalid';
  if (r.revoked) return 'revoked';
  if (r.disabled) return 'disabled';
  if (r.expires_at && Date.parse(r.expires_at) <= now) return 'expired';
  return null;
}

export class KeyStore {
  /** Positive lookups for GET /v1/models are cached briefly: a disabled key stops working within `cacheMs`. */
  private readonly cache = new Map<string, { id: string; until: number }>();

  constructor(private readonly redis: Redis, private readonly cacheMs = 5_000) {}

  /**
   * Creates a key, or registers a given one (the launcher's dev key, ROUTERHUB_ADMIN_KEY): a key
   * registered again keeps its id, limits and usage and is made valid again. Returns the key once.
   */
  async create(input: NewKey, key = generateKey()): Promise<{ key: string; record: ApiKeyRecord }> {
    const hash = hashKey(key);
    const existing = await this.redis.hget(keyByHash(hash), 'id');
    const id = existing ?? `key_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const account = input.account_id ?? DEFAULT_ACCOUNT;
    const { set, del } = settingsFields(input);
    const tx = this.redis.multi()
      .hset(keyByHash(hash), { id, revoked: '0' })
      .hset(keyById(id), { ...set, hash, label: labelOf(key), account_id: account, management: input.management ? '1' : '0', revoked: '0' })
      .hsetnx(keyById(id), 'created_at', new Date().toISOString())
      .sadd(ALL, id)
      .sadd(ofAccount(account), id);
    if (!existing && del.length > 0) tx.hdel(keyById(id), ...del);
    await tx.exec();
    return { key, record: (await this.get(id))! };
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    const h = await this.redis.hgetall(keyById(id));
    return h.hash ? recordOf(id, h) : null;
  }

  /** The record of a presented key (revoked or not), uncached: for the control API. */
  async byKey(presented: string): Promise<ApiKeyRecord | null> {
    const id = await this.redis.hget(keyByHash(hashKey(presented)), 'id');
    return id ? this.get(id) : null;
  }

  /** The key's id when the presented key is valid (not revoked, disabled or expired). */
  async verify(presented: string): Promise<string | null> {
    const hash = hashKey(presented);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.id;
    const record = await this.byKey(presented);
    if (keyProblem(record, now)) {
      this.cache.delete(hash);
      return null;
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(hash, { id: record!.id, until: now + this.cacheMs });
    return record!.id;
  }

  /** Keys not revoked, oldest first; of one account when given. */
  async list(accountId?: string): Promise<ApiKeyRecord[]> {
    const ids = await this.redis.smembers(accountId ? ofAccount(accountId) : ALL);
    const rows = await Promise.all(ids.map(async (id) => recordOf(id, await this.redis.hgetall(keyById(id)))));
    return rows
      .filter((r) => !r.revoked && (!accountId || r.account_id === accountId))
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  async update(id: string, patch: Partial<KeySettings>): Promise<ApiKeyRecord | null> {
    const current = await this.get(id);
    if (!current || current.revoked) return null;
    const { set, del } = settingsFields(patch);
    const tx = this.redis.multi();
    if (Object.keys(set).length > 0) tx.hset(keyById(id), set);
    if (del.length > 0) tx.hdel(keyById(id), ...del);
    await tx.exec();
    return this.get(id);
  }

  /** Revokes a key for good: its lookup goes, its record stays for the usage history. */
  async revoke(id: string): Promise<boolean> {
    const hash = await this.redis.hget(keyById(id), 'hash');
    if (!hash) return false;
    await this.redis.multi().hset(keyById(id), 'revoked', '1').hset(keyByHash(hash), 'revoked', '1').exec();
    return true;
  }
}
