// Dashboard sessions: a random token in an HttpOnly cookie; Redis holds only its SHA-256 (a leaked
// Redis dump cannot be replayed as a cookie) with the user id, expiring on its own.
import { randomBytes } from 'node:crypto';
import { hashKey } from './keys';
import type { Redis } from './redis';

const sessionKey = (token: string) => `rh:session:${hashKey(token)}`;
const failuresKey = (email: string) => `rh:signin-failures:${hashKey(email.toLowerCase())}`;

/** Wrong passwords one email may have within the window before sign-in is refused until it ends. */
export const SIGN_IN_MAX_FAILURES = 5;
export const SIGN_IN_WINDOW_SECONDS = 900;

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

  /** Seconds until this email may try again, or 0: guessing passwords costs a window per few tries. */
  async signInBlockedFor(email: string): Promise<number> {
    const [failures, ttl] = await this.redis.multi().get(failuresKey(email)).ttl(failuresKey(email)).exec() as [[null, string | null], [null, number]];
    return Number(failures[1] ?? 0) >= SIGN_IN_MAX_FAILURES ? Math.max(1, ttl[1]) : 0;
  }

  /** Counts a wrong password; the window starts at the first failure, so it cannot be kept open forever. */
  async recordSignInFailure(email: string): Promise<void> {
    await this.redis.multi().incr(failuresKey(email)).expire(failuresKey(email), SIGN_IN_WINDOW_SECONDS, 'NX').exec();
  }

  async clearSignInFailures(email: string): Promise<void> {
    await this.redis.del(failuresKey(email));
  }
}
