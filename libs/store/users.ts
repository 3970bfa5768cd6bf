// People who use the control API: an admin (the operator: everything) or a member (their own
// account). Passwords are scrypt hashes with a per-user salt (node:crypto), compared in constant time.
// `rh:user:<id>` → the record, `rh:user:email:<email>` → id, `rh:users` → ids.
import { randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { DEFAULT_ACCOUNT } from './keys';
import type { Redis } from './redis';

export type Role = 'admin' | 'member';

export interface User {
  id: string;
  email: string;
  role: Role;
  account_id: string;
  disabled: boolean;
  created_at: string;
  last_login_at: string | null;
}

export interface UserSettings { role: Role; account_id: string; disabled: boolean; password: string }

// N = 2^15 costs ~50-100 ms per attempt: cheap for a login, expensive for a guesser.
const SCRYPT: ScryptOptions = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEYLEN = 32;

function scrypt(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFKC'), salt, KEYLEN, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$<salt b64>$<hash b64>`: the parameters travel with the hash, so they can change later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await new Promise<Buffer>((resolve, reject) => scryptCb(password.normalize('NFKC'), Buffer.from(salt, 'base64'), expected.length,
    { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 }, (err, k) => (err ? reject(err) : resolve(k))));
  return timingSafeEqual(key, expected);
}

export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

const userKey = (id: string) => `rh:user:${id}`;
const byEmail = (email: string) => `rh:user:email:${email.toLowerCase()}`;
const ALL = 'rh:users';

function userOf(id: string, h: Record<string, string>): User {
  return {
    id,
    email: h.email ?? '',
    role: h.role === 'admin' ? 'admin' : 'member',
    account_id: h.account_id || DEFAULT_ACCOUNT,
    disabled: h.disabled === '1',
    created_at: h.created_at ?? '',
    last_login_at: h.last_login_at || null,
  };
}

// Compared against when the email is unknown, so a login takes as long either way.
let decoy: Promise<string> | null = null;

export class UserStore {
  constructor(private readonly redis: Redis) {}

  /** Creates a user; null when the email is taken. */
  async create(input: { email: string; password: string; role: Role; account_id?: string }): Promise<User | null> {
    const id = `user_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const claimed = await this.redis.set(byEmail(input.email), id, 'NX');
    if (!claimed) return null;
    await this.redis.multi()
      .hset(userKey(id), {
        email: input.email, role: input.role, account_id: input.account_id ?? DEFAULT_ACCOUNT, disabled: '0',
        password: await hashPassword(input.password), created_at: new Date().toISOString(),
      })
      .sadd(ALL, id)
      .exec();
    return this.get(id);
  }

  async get(id: string): Promise<User | null> {
    const h = await this.redis.hgetall(userKey(id));
    return h.email ? userOf(id, h) : null;
  }

  async count(): Promise<number> {
    return this.redis.scard(ALL);
  }

  async list(accountId?: string): Promise<User[]> {
    const ids = await this.redis.smembers(ALL);
    const rows = await Promise.all(ids.map(async (id) => userOf(id, await this.redis.hgetall(userKey(id)))));
    return rows.filter((u) => u.email && (!accountId || u.account_id === accountId)).sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async update(id: string, patch: Partial<UserSettings>): Promise<User | null> {
    if (!(await this.get(id))) return null;
    const set: Record<string, string> = {};
    if (patch.role !== undefined) set.role = patch.role;
    if (patch.account_id !== undefined) set.account_id = patch.account_id;
    if (patch.disabled !== undefined) set.disabled = patch.disabled ? '1' : '0';
    if (patch.password !== undefined) set.password = await hashPassword(patch.password);
    if (Object.keys(set).length > 0) await this.redis.hset(userKey(id), set);
    return this.get(id);
  }

  /** The user whose email and password these are (and who is not disabled), or null. */
  async authenticate(email: string, password: string): Promise<User | null> {
    const id = await this.redis.get(byEmail(email));
    const stored = id ? await this.redis.hget(userKey(id), 'password') : null;
    if (!id || !stored) {
      decoy ??= hashPassword(generatePassword());
      await verifyPassword(password, await decoy);
      return null;
    }
    if (!(await verifyPassword(password, stored))) return null;
    const user = await this.get(id);
    if (!user || user.disabled) return null;
    await this.redis.hset(userKey(id), 'last_login_at', new Date().toISOString());
    return { ...user, last_login_at: new Date().toISOString() };
  }
}
