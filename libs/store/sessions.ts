// Dashboard sessions: a random token in an HttpOnly cookie; Redis holds only its SHA-256 (a leaked
// Redis dump cannot be replayed as a cookie) with the user id, expiring on its own.
import { randomBytes } from 'node:crypto';
import { hashKey } from './keys';
import type { Redis } from './redis';

const sessionKey = (token: string) => `rh:session:${hashKey(token)}`;

export class SessionStore {
  constructor(private readonly redis: Redis, readonly ttlSeconds: number) {}

  async create(userId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.redis.set(sessionKey(token), userId, 'EX', this.ttlSeconds);
    return token;
  }

  /** The session's user id, or null when it expired or never existed. */
  async get(token: string): Promise<string | null> {
    return this.redis.get(sessionKey(token));
  }

  async end(token: string): Promise<void> {
    await this.redis.del(sessionKey(token));
  }
}
