// The control API (/api/v1/…, JSON, OpenAI-shaped errors): accounts, users, keys with limits,
// usage read back from the ledger, the request log, and dashboard sessions. Who may do what is
// decided here, once per request, from the principal: an admin (a management key or an admin's
// session) sees everything, a member (session) only their own account, and any API key may read
// its own record at GET /api/v1/key. Another account's things are "not found" to a member.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, keyStoreUnavailable } from '../protocol/errors';
import { AccountStore, type Account } from '../store/accounts';
import { DEFAULT_ACCOUNT, keyProblem, KeyStore, type ApiKeyRecord, type KeySettings } from '../store/keys';
import type { Redis } from '../store/redis';
import { RequestLog } from '../store/requests';
import { SessionStore } from '../store/sessions';
import { GROUP_BY, remaining, spendOf, usageReport } from '../store/usage-report';
import { generatePassword, UserStore, type Role, type User } from '../store/users';
import { rateLimitState } from './admission';
import { cookies, readJson, sendError, sendJson, type Handler } from './http';
import { bad, count, day, flag, instant, models, oneOf, onlyFields, reset, text, usd } from './input';

export interface ControlOptions {
  sessionTtlSeconds: number;
  /** Origins allowed to change state with a session cookie besides the request's own host. */
  allowedOrigins: string[];
  /** The rpm/tpm window (ROUTERHUB_RATE_WINDOW_MS). */
  rateWindowMs: number;
  requestLog: { maxEntries: number; maxAgeMs: number };
}

export type Principal =
  | { role: 'admin'; user: User | null; session: string | null; key: ApiKeyRecord | null }
  | { role: 'member'; user: User; session: string }
  | { role: 'key'; key: ApiKeyRecord };

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  /** Resolved lazily: POST /api/v1/session needs none. */
  who: () => Promise<Principal>;
}

type Route = [method: string, path: RegExp, run: (ctx: Ctx) => Promise<void>];

export const SESSION_COOKIE = 'rh_session';
const MAX_BODY = 64 * 1024;
const KEY_FIELDS = ['name', 'account_id', 'management', 'limit', 'limit_reset', 'rpm', 'tpm', 'max_concurrent', 'models', 'expires_at', 'disabled'] as const;
const ACCOUNT_FIELDS = ['name', 'limit', 'limit_reset', 'disabled'] as const;
const REQUEST_STATUSES = ['completed', 'incomplete', 'failed', 'cancelled'] as const;

function notFound(what: string, id: string): HttpError {
  return new HttpError(404, `No ${what} with id "${id}" (or not one you can see).`, 'invalid_request_error', 'not_found');
}

function forbidden(message: string): HttpError {
  return new HttpError(403, message, 'permission_error', 'forbidden');
}

export class ControlPlane {
  readonly keys: KeyStore;
  readonly accounts: AccountStore;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly requests: RequestLog;
  private readonly routes: Route[];

  constructor(readonly redis: Redis, readonly opts: ControlOptions) {
    this.keys = new KeyStore(redis);
    this.accounts = new AccountStore(redis);
    this.users = new UserStore(redis);
    this.sessions = new SessionStore(redis, opts.sessionTtlSeconds);
    this.requests = new RequestLog(redis, opts.requestLog);
    const id = '([A-Za-z0-9_-]{1,64})';
    this.routes = [
      ['POST', /^\/api\/v1\/session$/, (c) => this.login(c)],
      ['GET', /^\/api\/v1\/session$/, (c) => this.whoami(c)],
      ['DELETE', /^\/api\/v1\/session$/, (c) => this.logout(c)],
      ['GET', /^\/api\/v1\/key$/, (c) => this.currentKey(c)],
      ['POST', /^\/api\/v1\/keys$/, (c) => this.createKey(c)],
      ['GET', /^\/api\/v1\/keys$/, (c) => this.listKeys(c)],
      ['GET', new RegExp(`^/api/v1/keys/${id}$`), (c) => this.getKey(c)],
      ['PATCH', new RegExp(`^/api/v1/keys/${id}$`), (c) => this.patchKey(c)],
      ['DELETE', new RegExp(`^/api/v1/keys/${id}$`), (c) => this.deleteKey(c)],
      ['POST', /^\/api\/v1\/accounts$/, (c) => this.createAccount(c)],
      ['GET', /^\/api\/v1\/accounts$/, (c) => this.listAccounts(c)],
      ['GET', new RegExp(`^/api/v1/accounts/${id}$`), (c) => this.getAccount(c)],
      ['PATCH', new RegExp(`^/api/v1/accounts/${id}$`), (c) => this.patchAccount(c)],
      ['POST', /^\/api\/v1\/users$/, (c) => this.createUser(c)],
      ['GET', /^\/api\/v1\/users$/, (c) => this.listUsers(c)],
      ['GET', new RegExp(`^/api/v1/users/${id}$`), (c) => this.getUser(c)],
      ['PATCH', new RegExp(`^/api/v1/users/${id}$`), (c) => this.patchUser(c)],
      ['GET', /^\/api\/v1\/usage$/, (c) => this.usage(c)],
      ['GET', /^\/api\/v1\/requests$/, (c) => this.listRequests(c)],
    ];
  }

  /** The API as a dashboard-server handler: takes every /api/ request. */
  handler(): Handler {
    return async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://dashboard');
      if (!url.pathname.startsWith('/api/')) return false;
      let matchedPath = false;
      for (const [method, path, run] of this.routes) {
        const m = path.exec(url.pathname);
        if (!m) continue;
        matchedPath = true;
        if (method !== req.method) continue;
        let principal: Promise<Principal> | null = null;
        const ctx: Ctx = { req, res, url, params: m.slice(1), who: () => (principal ??= this.principal(req)) };
        await run(ctx).catch((err: unknown) => this.fail(res, err));
        return true;
      }
      req.resume();
      if (matchedPath) sendError(res, new HttpError(405, `${req.method} is not allowed on ${url.pathname}.`, 'invalid_request_error', 'method_not_allowed'));
      else sendError(res, new HttpError(404, `${req.method} ${url.pathname} is not a control API route. See the README's "Control API" section for the endpoints.`, 'invalid_request_error', 'not_found'));
      return true;
    };
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) return void res.destroy();
    if (err instanceof HttpError) return sendError(res, err);
    // A store that does not answer is not the caller's fault, and not a bug: say so (and retry).
    if (this.redis.status !== 'ready') {
      return sendError(res, keyStoreUnavailable());
    }
    throw err;
  }

  // --- who is asking ---------------------------------------------------------------------------

  private async principal(req: IncomingMessage): Promise<Principal> {
    const auth = req.headers.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (!m) throw new HttpError(401, 'Send "Authorization: Bearer <key>" (a RouterHub key, sk-rh-…).', 'invalid_request_error', 'invalid_api_key');
      const key = await this.keys.byKey(m[1]);
      const problem = keyProblem(key);
      if (problem) throw new HttpError(401, problem === 'invalid' ? 'Invalid API key.' : `This API key is ${problem}.`, 'invalid_request_error', 'invalid_api_key');
      return key!.management ? { role: 'admin', user: null, session: null, key } : { role: 'key', key: key! };
    }
    const token = cookies(req)[SESSION_COOKIE];
    if (!token) throw new HttpError(401, 'Not signed in. Sign in with POST /api/v1/session {"email","password"}, or send "Authorization: Bearer <management key>".', 'invalid_request_error', 'missing_credentials');
    const userId = await this.sessions.get(token);
    const user = userId ? await this.users.get(userId) : null;
    if (!user || user.disabled) throw new HttpError(401, 'Your session has expired or ended. Sign in again.', 'invalid_request_error', 'invalid_session');
    // A cookie rides along on requests other sites make: a state change must come from our own pages.
    if (req.method !== 'GET' && req.method !== 'HEAD') this.checkOrigin(req);
    return user.role === 'admin' ? { role: 'admin', user, session: token, key: null } : { role: 'member', user, session: token };
  }

  private checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    const own = [`http://${req.headers.host}`, `https://${req.headers.host}`];
    if (!origin || !(own.includes(origin) || this.opts.allowedOrigins.includes(origin))) {
      throw new HttpError(403, `This request changes state with a session cookie but its Origin (${origin ?? 'none'}) is not this dashboard's. Send it from the dashboard, or use a management key.`, 'permission_error', 'origin_mismatch');
    }
  }

  /** Admins and members (sessions, management keys); a plain API key may only read itself. */
  private async person(c: Ctx): Promise<Exclude<Principal, { role: 'key' }>> {
    const p = await c.who();
    if (p.role === 'key') throw forbidden('An API key can only read its own record, at GET /api/v1/key. The rest of the control API needs a management key or a dashboard session.');
    return p;
  }

  private async admin(c: Ctx): Promise<void> {
    const p = await this.person(c);
    if (p.role !== 'admin') throw forbidden('Only an admin can do this.');
  }

  /** The account a member is confined to (null for an admin). */
  private scope(p: Exclude<Principal, { role: 'key' }>): string | null {
    return p.role === 'member' ? p.user.account_id : null;
  }

  // --- sessions ---------------------------------------------------------------------------------

  private async login(c: Ctx): Promise<void> {
    const body = await readJson(c.req, MAX_BODY);
    onlyFields(body, ['email', 'password']);
    const email = text(body, 'email', { required: true, max: 254 })!;
    const password = body.password;
    if (typeof password !== 'string' || password === '') throw bad('password', '"password" is required (a string).');
    if (c.req.headers.origin) this.checkOrigin(c.req);
    const wait = await this.sessions.signInBlockedFor(email);
    if (wait > 0) {
      throw new HttpError(429, `Too many wrong passwords for ${email}. Try again in ${wait}s, or ask an admin to set a new password.`, 'invalid_request_error', 'too_many_sign_in_attempts', 'password', wait);
    }
    const user = await this.users.authenticate(email, password);
    if (!user) {
      await this.sessions.recordSignInFailure(email);
      throw new HttpError(401, 'Wrong email or password.', 'invalid_request_error', 'invalid_credentials');
    }
    await this.sessions.clearSignInFailures(email);
    const token = await this.sessions.create(user.id);
    const secure = c.req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
    sendJson(c.res, 200, { data: { user, expires_at: new Date(Date.now() + this.opts.sessionTtlSeconds * 1000).toISOString() } }, {
      'set-cookie': `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${this.opts.sessionTtlSeconds}${secure}`,
    });
  }

  private async whoami(c: Ctx): Promise<void> {
    const p = await this.person(c);
    sendJson(c.res, 200, { data: { user: p.user, role: p.role, account_id: p.role === 'member' ? p.user.account_id : null } });
  }

  private async logout(c: Ctx): Promise<void> {
    const p = await this.person(c);
    if (p.session) await this.sessions.end(p.session);
    sendJson(c.res, 200, { data: { signed_out: p.session !== null } }, { 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
  }

  // --- keys -------------------------------------------------------------------------------------

  async keyView(k: ApiKeyRecord): Promise<Record<string, unknown>> {
    const spend = await spendOf(this.redis, 'k', k.id);
    const { revoked: _revoked, ...rest } = k;
    return { ...rest, ...spend, ...remaining(k.limit, k.limit_reset, spend) };
  }

  private async currentKey(c: Ctx): Promise<void> {
    const p = await c.who();
    const key = p.role === 'key' ? p.key : p.role === 'admin' ? p.key : null;
    if (!key) throw new HttpError(401, 'GET /api/v1/key describes the API key you send: send "Authorization: Bearer sk-rh-…".', 'invalid_request_error', 'missing_api_key');
    sendJson(c.res, 200, { data: { ...(await this.keyView(key)), rate_limit: await rateLimitState(this.redis, key, this.opts.rateWindowMs) } });
  }

  private async createKey(c: Ctx): Promise<void> {
    const p = await this.person(c);
    const body = await readJson(c.req, MAX_BODY);
    onlyFields(body, KEY_FIELDS);
    const settings = keySettings(body);
    const management = flag(body, 'management') ?? false;
    if (management && p.role !== 'admin') throw forbidden('Only an admin can create a management key.');
    const scope = this.scope(p);
    const accountId = text(body, 'account_id', { max: 64 }) ?? scope ?? DEFAULT_ACCOUNT;
    if (scope && accountId !== scope) throw forbidden('Members create keys for their own account only; leave out "account_id".');
    if (!(await this.accounts.get(accountId))) throw bad('account_id', `No account with id "${accountId}". Create it with POST /api/v1/accounts.`);
    if (settings.name === undefined) throw bad('name', '"name" is required (who or what the key is for).');
    const { key, record } = await this.keys.create({ ...settings, name: settings.name, account_id: accountId, management });
    sendJson(c.res, 201, { data: await this.keyView(record), key });
  }

  private async listKeys(c: Ctx): Promise<void> {
    const p = await this.person(c);
    const wanted = c.url.searchParams.get('account_id') || undefined;
    const scope = this.scope(p);
    if (scope && wanted && wanted !== scope) throw forbidden('Members see their own account only.');
    const keys = await this.keys.list(scope ?? wanted);
    sendJson(c.res, 200, { data: await Promise.all(keys.map((k) => this.keyView(k))) });
  }

  /** A key the principal may see, or 404. */
  private async visibleKey(c: Ctx): Promise<ApiKeyRecord> {
    const p = await this.person(c);
    const key = await this.keys.get(c.params[0]);
    const scope = this.scope(p);
    if (!key || key.revoked || (scope && key.account_id !== scope)) throw notFound('key', c.params[0]);
    if (key.management && p.role !== 'admin') throw notFound('key', c.params[0]);
    return key;
  }

  private async getKey(c: Ctx): Promise<void> {
    sendJson(c.res, 200, { data: await this.keyView(await this.visibleKey(c)) });
  }

  private async patchKey(c: Ctx): Promise<void> {
    const key = await this.visibleKey(c);
    const body = await readJson(c.req, MAX_BODY);
    onlyFields(body, KEY_FIELDS.filter((f) => f !== 'account_id' && f !== 'management'));
    const updated = await this.keys.update(key.id, keySettings(body));
    if (!updated) throw notFound('key', key.id);
    sendJson(c.res, 200, { data: await this.keyView(updated) });
  }

  private async deleteKey(c: Ctx): Promise<void> {
    const key = await this.visibleKey(c);
    await this.keys.revoke(key.id);
    sendJson(c.res, 200, { data: { id: key.id, deleted: true } });
  }

  // --- accounts ---------------------------------------------------------------------------------

  private async accountView(a: Account): Promise<Record<string, unknown>> {
    const spend = await spendOf(this.redis, 'a', a.id);
    return { ...a, ...spend, ...remaining(a.limit, a.limit_reset, spend) };
  }

  private async createAccount(c: Ctx): Promise<void> {
    await this.admin(c);
    const body = await readJson(c.req, MAX_BODY);
    onlyFields(body, ACCOUNT_FIELDS);
    const s = accountSettings(body);
    if (s.name === undefined) throw bad('name', '"name" is required (the team or customer).');
    const account = await this.accounts.create({ ...s, name: s.name });
    sendJson(c.res, 201, { data: await this.accountView(account) });
  }

  private async listAccounts(c: Ctx): Promise<void> {
    const scope = this.scope(await this.person(c));
    const accounts = scope ? [await this.accounts.get(scope)].filter((a): a is Account => a !== null) : await this.accounts.list();
    sendJson(c.res, 200, { data: await Promise.all(accounts.map((a) => this.accountView(a))) });
  }

  private async getAccount(c: Ctx): Promise<void> {
    const scope = this.scope(await this.person(c));
    const account = await this.accounts.get(c.params[0]);
    if (!account || (scope && account.id !== scope)) throw notFound('account', c.params[0]);
    sendJson(c.res, 200, { data: await this.accountView(account) });
  }

  private async patchAccount(c: Ctx): Promise<void> {
    await this.admin(c);
    const body = await readJson(c.req, MAX_BODY);
    onlyFields(body, ACCOUNT_FIELDS);
    const account = await this.accounts.update(c.params[0], accountSettings(body));
    if (!account) throw notFound('account', c.params[0]);
    sendJson(c.res, 200, { data: await this.accountView(account) });
  }

  // --- users ------------------------------------------------------------------------------------

  private async createUser(c: Ctx): Promise<void> {
    await this.admin(c);
    const body = await readJson(c.req, MAX_BODY);
    onlyFields(body, ['email', 'password', 'role', 'account_id']);
    const email = text(body, 'email', { required: true, max: 254 })!;
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw bad('email', '"email" must be an email address.');
    const role = userRole(body) ?? 'member';
    const accountId = text(body, 'account_id', { max: 64 }) ?? DEFAULT_ACCOUNT;
    if (!(await this.accounts.get(accountId))) throw bad('account_id', `No account with id "${accountId}".`);
    const given = password(body);
    const pass = given ?? generatePassword();
    const user = await this.users.create({ email, password: pass, role, account_id: accountId });
    if (!user) throw new HttpError(409, `A user with email ${email} exists already.`, 'invalid_request_error', 'email_taken', 'email');
    sendJson(c.res, 201, { data: user, ...(given ? {} : { password: pass }) });
  }

  private async listUsers(c: Ctx): Promise<void> {
    await this.admin(c);
    sendJson(c.res, 200, { data: await this.users.list(c.url.searchParams.get('account_id') || undefined) });
  }

  private async getUser(c: Ctx): Promise<void> {
    const p = await this.person(c);
    if (p.role === 'member' && p.user.id !== c.params[0]) throw notFound('user', c.params[0]);
    const user = await this.users.get(c.params[0]);
    if (!user) throw notFound('user', c.params[0]);
    sendJson(c.res, 200, { data: user });
  }

  private async patchUser(c: Ctx): Promise<void> {
    await this.admin(c);
    const body = await readJson(c.req, MAX_BODY);
    onlyFields(body, ['password', 'role', 'account_id', 'disabled']);
    const accountId = text(body, 'account_id', { max: 64 });
    if (accountId && !(await this.accounts.get(accountId))) throw bad('account_id', `No account with id "${accountId}".`);
    const user = await this.users.update(c.params[0], { role: userRole(body), account_id: accountId, disabled: flag(body, 'disabled'), password: password(body) });
    if (!user) throw notFound('user', c.params[0]);
    sendJson(c.res, 200, { data: user });
  }

  // --- usage and the request log ----------------------------------------------------------------

  /** The account filter: a member's own, whatever they ask for; an admin's choice. */
  private async accountFilter(c: Ctx): Promise<string | undefined> {
    const scope = this.scope(await this.person(c));
    const wanted = c.url.searchParams.get('account_id') || undefined;
    if (scope && wanted && wanted !== scope) throw forbidden('Members see their own account only.');
    return scope ?? wanted;
  }

  private async usage(c: Ctx): Promise<void> {
    const accountId = await this.accountFilter(c);
    const q = c.url.searchParams;
    const today = new Date().toISOString().slice(0, 10);
    const to = day(q, 'to', today);
    const from = day(q, 'from', new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10));
    if (from > to) throw bad('from', '"from" is after "to".');
    if (Date.parse(to) - Date.parse(from) > 366 * 86_400_000) throw bad('from', 'Ask for at most 366 days at once.');
    const groupBy = oneOf(q, 'group_by', GROUP_BY, 'day')!;
    const data = await usageReport(this.redis, { from, to, group_by: groupBy, account_id: accountId, key_id: q.get('key_id') || undefined, model: q.get('model') || undefined });
    sendJson(c.res, 200, { data, from, to, group_by: groupBy });
  }

  private async listRequests(c: Ctx): Promise<void> {
    const accountId = await this.accountFilter(c);
    const q = c.url.searchParams;
    const before = q.get('before') || undefined;
    if (before && !/^\d{1,15}-\d{1,10}$/.test(before)) throw bad('before', '"before" must be a request record id (its "id", e.g. "1764662400000-0"), as given in "next_before".');
    const limitText = q.get('limit');
    const limit = limitText === null || limitText === '' ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw bad('limit', '"limit" must be a whole number from 1 to 500.');
    const status = oneOf(q, 'status', REQUEST_STATUSES, undefined);
    const page = await this.requests.list({ account_id: accountId, key_id: q.get('key_id') || undefined, model: q.get('model') || undefined, status, before, limit });
    sendJson(c.res, 200, page);
  }
}

function keySettings(body: Record<string, unknown>): Partial<KeySettings> {
  const out: Partial<KeySettings> = {
    name: text(body, 'name', { max: 200 }),
    limit: usd(body, 'limit'),
    limit_reset: reset(body, 'limit_reset'),
    rpm: count(body, 'rpm', 'requests per minute'),
    tpm: count(body, 'tpm', 'tokens per minute'),
    max_concurrent: count(body, 'max_concurrent', 'streams at once'),
    models: models(body, 'models'),
    expires_at: instant(body, 'expires_at'),
    disabled: flag(body, 'disabled'),
  };
  for (const k of Object.keys(out) as Array<keyof KeySettings>) if (out[k] === undefined) delete out[k];
  return out;
}

function accountSettings(body: Record<string, unknown>): { name?: string; limit?: number | null; limit_reset?: Account['limit_reset']; disabled?: boolean } {
  const out = { name: text(body, 'name', { max: 200 }), limit: usd(body, 'limit'), limit_reset: reset(body, 'limit_reset'), disabled: flag(body, 'disabled') };
  for (const k of Object.keys(out) as Array<keyof typeof out>) if (out[k] === undefined) delete out[k];
  return out;
}

function userRole(body: Record<string, unknown>): Role | undefined {
  const v = body.role;
  if (v === undefined) return undefined;
  if (v !== 'admin' && v !== 'member') throw bad('role', '"role" must be "admin" (everything) or "member" (their own account).');
  return v;
}

function password(body: Record<string, unknown>): string | undefined {
  const v = body.password;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length < 10 || v.length > 200) throw bad('password', '"password" must be 10 to 200 characters (leave it out to have one generated).');
  return v;
}
