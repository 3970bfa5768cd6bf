// Accounts: a team or customer that keys and members belong to, with an optional spend limit.
// `rh:account:<id>` → the record (the limit in micro-USD, absent when unset), `rh:accounts` → ids.
import { randomUUID } from 'node:crypto';
import { DEFAULT_ACCOUNT } from './keys';
import { isLimitReset, type LimitReset } from './periods';
import type { Redis } from './redis';

export interface AccountSettings {
  name: string;
  /** USD per `limit_reset` period, across every key of the account (all time when the reset is null). */
  limit: number | null;
  limit_reset: LimitReset | null;
  disabled: boolean;
}

export interface Account extends AccountSettings { id: string; created_at: string }

export const accountKey = (id: string) => `rh:account:${id}`;
const ALL = 'rh:accounts';

function fields(s: Partial<AccountSettings>): { set: Record<string, string>; del: string[] } {
  const set: Record<string, string> = {};
  const del: string[] = [];
  if (s.name !== undefined) set.name = s.name;
  if (s.limit !== undefined) {
    if (s.limit === null) del.push('limit_micro');
    else set.limit_micro = String(Math.round(s.limit * 1e6));
  }
  if (s.limit_reset !== undefined) {
    if (s.limit_reset === null) del.push('limit_reset');
    else set.limit_reset = s.limit_reset;
  }
  if (s.disabled !== undefined) set.disabled = s.disabled ? '1' : '0';
  return { set, del };
}

function accountOf(id: string, h: Record<string, string>): Account {
  return {
    id,
    name: h.name ?? id,
    limit: h.limit_micro ? Number(h.limit_micro) / 1e6 : null,
    limit_reset: isLimitReset(h.limit_reset) ? h.limit_reset : null,
    disabled: h.disabled === '1',
    created_at: h.created_at ?? '',
  };
}

export class AccountStore {
  constructor(private readonly redis: Redis) {}

  async create(input: Partial<AccountSettings> & { name: string }, id = `acct_${randomUUID().replace(/-/g, '').slice(0, 16)}`): Promise<Account> {
    const { set } = fields(input);
    await this.redis.multi().hset(accountKey(id), { ...set, created_at: new Date().toISOString() }).sadd(ALL, id).exec();
    return (await this.get(id))!;
  }

  /** The account keys and members land in when none is named; existing keys belong to it. */
  async ensureDefault(): Promise<Account> {
    const created = await this.redis.hsetnx(accountKey(DEFAULT_ACCOUNT), 'created_at', new Date().toISOString());
    if (created) await this.redis.multi().hsetnx(accountKey(DEFAULT_ACCOUNT), 'name', 'Default').sadd(ALL, DEFAULT_ACCOUNT).exec();
    return (await this.get(DEFAULT_ACCOUNT))!;
  }

  async get(id: string): Promise<Account | null> {
    const h = await this.redis.hgetall(accountKey(id));
    return h.created_at ? accountOf(id, h) : null;
  }

  async list(): Promise<Account[]> {
    const ids = await this.redis.smembers(ALL);
    const rows = await Promise.all(ids.map(async (id) => accountOf(id, await this.redis.hgetall(accountKey(id)))));
    return rows.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  async update(id: string, patch: Partial<AccountSettings>): Promise<Account | null> {
    if (!(await this.get(id))) return null;
    const { set, del } = fields(patch);
    const tx = this.redis.multi();
    if (Object.keys(set).length > 0) tx.hset(accountKey(id), set);
    if (del.length > 0) tx.hdel(accountKey(id), ...del);
    await tx.exec();
    return this.get(id);
  }
}
