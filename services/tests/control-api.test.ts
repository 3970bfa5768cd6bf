// The control API on the real dashboard process (with the real cluster behind it): sessions for
// people, management keys for scripts, accounts, users, keys, and a member confined to their own
// account's keys, usage and requests.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { paths } from '../../deploy/cluster';
import { api, postResponses, startTestCluster, waitUntil, type ApiResult, type TestCluster } from '../../libs/testing/cluster';

let tc: TestCluster;
let dash: string;

t.before(async () => {
  tc = await startTestCluster(() => [
    { id: 'test/model', deployments: [{ provider: 'openai-responses' }] },
    { id: 'other/model', deployments: [{ provider: 'openai-responses' }] },
  ], { adminEmail: 'ops@example.test', env: { ROUTERHUB_LOG_BODIES: '1' } });
  dash = tc.cluster.dashboardUrl;
});
t.teardown(() => tc.stop());

const admin = (method: string, path: string, body?: unknown) => api(dash, method, path, { key: tc.adminKey, body });
const cookieOf = (r: ApiResult) => /^(rh_session=[^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1] ?? '';

async function signIn(email: string, password: string): Promise<string> {
  const r = await api(dash, 'POST', '/api/v1/session', { body: { email, password } });
  if (r.status !== 200) throw new Error(`sign-in failed: ${JSON.stringify(r.body)}`);
  return cookieOf(r);
}

t.test('the first admin signs in with the generated password; the session is an HttpOnly, SameSite=Strict cookie that ends', async (t) => {
  const first = tc.cluster.firstAdmin!;
  t.equal(first.email, 'ops@example.test');
  t.type(first.password, 'string', 'the password was generated and is shown once');
  const wrong = await api(dash, 'POST', '/api/v1/session', { body: { email: first.email, password: 'not-the-password' } });
  t.equal(wrong.status, 401);
  t.equal(wrong.body.error.code, 'invalid_credentials');
  const unknown = await api(dash, 'POST', '/api/v1/session', { body: { email: 'nobody@example.test', password: 'whatever-it-is' } });
  t.equal(unknown.status, 401);

  const login = await api(dash, 'POST', '/api/v1/session', { body: { email: first.email, password: first.password } });
  t.equal(login.status, 200);
  t.match(login.headers.get('set-cookie'), /^rh_session=[^;]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+/);
  t.equal(login.body.data.user.role, 'admin');
  const cookie = cookieOf(login);
  const me = await api(dash, 'GET', '/api/v1/session', { cookie });
  t.equal(me.body.data.user.email, first.email);

  // A state change with the cookie must come from the dashboard's own origin.
  const noOrigin = await api(dash, 'POST', '/api/v1/accounts', { cookie, body: { name: 'from elsewhere' } });
  t.equal(noOrigin.status, 403);
  t.equal(noOrigin.body.error.code, 'origin_mismatch');
  const foreign = await api(dash, 'POST', '/api/v1/accounts', { cookie, origin: 'http://evil.example', body: { name: 'from elsewhere' } });
  t.equal(foreign.status, 403);
  const own = await api(dash, 'POST', '/api/v1/accounts', { cookie, origin: dash, body: { name: 'from the dashboard' } });
  t.equal(own.status, 201);

  const out = await api(dash, 'DELETE', '/api/v1/session', { cookie, origin: dash });
  t.equal(out.status, 200);
  t.match(out.headers.get('set-cookie'), /Max-Age=0/);
  const after = await api(dash, 'GET', '/api/v1/session', { cookie });
  t.equal(after.status, 401);
  t.equal(after.body.error.code, 'invalid_session');
});

t.test('wrong passwords are rate limited per email: after 5 the right one waits too, with Retry-After', async (t) => {
  const email = 'guessed@example.test';
  const password = 'the-right-password-1';
  t.equal((await admin('POST', '/api/v1/users', { email, password, role: 'member', account_id: 'default' })).status, 201);
  for (let i = 0; i < 5; i++) {
    t.equal((await api(dash, 'POST', '/api/v1/session', { body: { email, password: `wrong-${i}-password` } })).status, 401);
  }
  const blocked = await api(dash, 'POST', '/api/v1/session', { body: { email: email.toUpperCase(), password } });
  t.equal(blocked.status, 429, 'the sixth try is refused, whatever the case of the email and even with the right password');
  t.equal(blocked.body.error.code, 'too_many_sign_in_attempts');
  t.match(blocked.body.error.message, /Try again in \d+s/);
  t.ok(Number(blocked.headers.get('retry-after')) > 0);
  const other = await api(dash, 'POST', '/api/v1/session', { body: { email: tc.cluster.firstAdmin!.email, password: tc.cluster.firstAdmin!.password } });
  t.equal(other.status, 200, 'another email is not affected');
});

t.test('an admin with a management key creates an account and a limited key, changes it, and revokes it', async (t) => {
  const acct = await admin('POST', '/api/v1/accounts', { name: 'Team A', limit: 25, limit_reset: 'monthly' });
  t.equal(acct.status, 201);
  t.match(acct.body.data, { name: 'Team A', limit: 25, limit_reset: 'monthly', limit_remaining: 25, usage: 0, disabled: false });
  t.match(acct.body.data.limit_resets_at, /^\d{4}-\d{2}-01T00:00:00\.000Z$/);
  const created = await admin('POST', '/api/v1/keys', {
    name: 'ci', account_id: acct.body.data.id, limit: 5, limit_reset: 'daily', rpm: 60, tpm: 100000, max_concurrent: 4, models: ['test/*'], expires_at: '2099-01-01T00:00:00Z',
  });
  t.equal(created.status, 201);
  t.match(created.body.key, /^sk-rh-/);
  const k = created.body.data;
  t.match(k, { name: 'ci', account_id: acct.body.data.id, limit: 5, limit_reset: 'daily', limit_remaining: 5, rpm: 60, tpm: 100000, max_concurrent: 4, models: ['test/*'], expires_at: '2099-01-01T00:00:00.000Z', disabled: false, management: false, usage: 0, usage_daily: 0, usage_weekly: 0, usage_monthly: 0, last_used_at: null });
  t.notOk('hash' in k, 'the stored hash is never shown');
  t.ok(k.label.startsWith(created.body.key.slice(0, 10)), 'the label shows the start of the key');

  const listed = await admin('GET', `/api/v1/keys?account_id=${acct.body.data.id}`);
  t.same(listed.body.data.map((x: { id: string }) => x.id), [k.id]);

  const patched = await admin('PATCH', `/api/v1/keys/${k.id}`, { rpm: null, limit: 7.5, name: 'ci-2' });
  t.equal(patched.status, 200);
  t.match(patched.body.data, { rpm: null, limit: 7.5, name: 'ci-2', tpm: 100000 });

  tc.mock.script({ parts: [{ type: 'text', text: 'ok' }] });
  const served = await postResponses(tc.cluster.baseUrl, created.body.key, { model: 'test/model', input: 'x' });
  t.equal(served.status, 200, 'the new key works on the ingress');
  t.type((await admin('GET', `/api/v1/keys/${k.id}`)).body.data.last_used_at, 'string');

  const del = await admin('DELETE', `/api/v1/keys/${k.id}`);
  t.same(del.body, { data: { id: k.id, deleted: true } });
  t.equal((await admin('GET', `/api/v1/keys/${k.id}`)).status, 404);
  const refused = await postResponses(tc.cluster.baseUrl, created.body.key, { model: 'test/model', input: 'x' });
  t.equal(refused.status, 401, 'a revoked key is refused at once');
  t.match((refused.json as { error: { message: string } }).error.message, /revoked/);
});

t.test('bad input gets a 4xx naming the field; unknown routes and methods are 404/405', async (t) => {
  const cases: Array<[string, string, unknown, number, string | null]> = [
    ['POST', '/api/v1/keys', { name: 5 }, 400, 'name'],
    ['POST', '/api/v1/keys', { name: 'x', limt: 3 }, 400, 'limt'],
    ['POST', '/api/v1/keys', { name: 'x', limit_reset: 'hourly' }, 400, 'limit_reset'],
    ['POST', '/api/v1/keys', { name: 'x', rpm: 0 }, 400, 'rpm'],
    ['POST', '/api/v1/keys', { name: 'x', models: 'openai/*' }, 400, 'models'],
    ['POST', '/api/v1/keys', { name: 'x', expires_at: 'tomorrow' }, 400, 'expires_at'],
    ['POST', '/api/v1/keys', { name: 'x', account_id: 'acct_nope' }, 400, 'account_id'],
    ['POST', '/api/v1/keys', {}, 400, 'name'],
    ['POST', '/api/v1/users', { email: 'not-an-email' }, 400, 'email'],
    ['POST', '/api/v1/users', { email: 'a@example.test', password: 'short' }, 400, 'password'],
    ['POST', '/api/v1/users', { email: 'b@example.test', role: 'root' }, 400, 'role'],
    ['PATCH', '/api/v1/keys/key_nope', { name: 'x' }, 404, null],
    ['GET', '/api/v1/usage?group_by=week', undefined, 400, 'group_by'],
    ['GET', '/api/v1/usage?from=2026-13-01', undefined, 400, 'from'],
    ['GET', '/api/v1/requests?limit=0', undefined, 400, 'limit'],
    ['GET', '/api/v1/requests?before=yesterday', undefined, 400, 'before'],
  ];
  for (const [method, path, body, status, param] of cases) {
    const r = await admin(method, path, body);
    t.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)} → ${status}`);
    t.type(r.body.error.message, 'string');
    if (param) t.equal(r.body.error.param, param);
  }
  const notJson = await fetch(`${dash}/api/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${tc.adminKey}`, 'content-type': 'application/json' }, body: '{"name":' });
  t.equal(notJson.status, 400);
  const noType = await fetch(`${dash}/api/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${tc.adminKey}` }, body: '{"name":"x"}' });
  t.equal(noType.status, 415);
  t.equal((await admin('GET', '/api/v1/nothing')).status, 404);
  t.equal((await admin('PUT', '/api/v1/keys')).status, 405);
  const anonymous = await api(dash, 'GET', '/api/v1/keys');
  t.equal(anonymous.status, 401);
  t.equal(anonymous.body.error.code, 'missing_credentials');
  t.equal((await api(dash, 'GET', '/api/v1/keys', { key: 'sk-rh-not-a-key' })).status, 401);
});

t.test('any API key reads its own record at GET /api/v1/key, and nothing else', async (t) => {
  const r = await api(dash, 'GET', '/api/v1/key', { key: tc.key });
  t.equal(r.status, 200);
  t.match(r.body.data, { name: 'dev', account_id: 'default', management: false, limit: null, limit_remaining: null });
  t.type(r.body.data.usage, 'number');
  t.match(r.body.data.rate_limit, { window_seconds: 60, requests: { limit: null }, tokens: { limit: null }, concurrent: { limit: null, in_use: 0 } });
  const other = await api(dash, 'GET', '/api/v1/keys', { key: tc.key });
  t.equal(other.status, 403);
  t.match(other.body.error.message, /GET \/api\/v1\/key/);
});

t.test('a member sees and changes only their own account: keys, usage, requests', async (t) => {
  const a = (await admin('POST', '/api/v1/accounts', { name: 'Mine' })).body.data;
  const b = (await admin('POST', '/api/v1/accounts', { name: 'Theirs' })).body.data;
  const keyA = await admin('POST', '/api/v1/keys', { name: 'a-key', account_id: a.id });
  const keyB = await admin('POST', '/api/v1/keys', { name: 'b-key', account_id: b.id });
  const user = await admin('POST', '/api/v1/users', { email: 'member@example.test', role: 'member', account_id: a.id });
  t.equal(user.status, 201);
  t.type(user.body.password, 'string', 'a generated password is returned once');
  t.equal((await admin('POST', '/api/v1/users', { email: 'member@example.test' })).status, 409);

  // Traffic on both accounts, so there is something to hide.
  for (const k of [keyA.body.key, keyB.body.key]) {
    tc.mock.script({ parts: [{ type: 'text', text: 'ok' }], usage: { input: 100, output: 10 } });
    t.equal((await postResponses(tc.cluster.baseUrl, k, { model: 'test/model', input: 'x', stream: true })).status, 200);
  }
  t.ok(await waitUntil(async () => (await admin('GET', `/api/v1/requests?account_id=${b.id}`)).body.data.length === 1, 3000));

  const cookie = await signIn('member@example.test', user.body.password);
  const as = (method: string, path: string, body?: unknown) => api(dash, method, path, { cookie, origin: dash, body });
  t.same((await as('GET', '/api/v1/keys')).body.data.map((k: { id: string }) => k.id), [keyA.body.data.id], 'only their account\'s keys');
  t.equal((await as('GET', `/api/v1/keys?account_id=${b.id}`)).status, 403);
  for (const method of ['GET', 'PATCH', 'DELETE']) {
    t.equal((await as(method, `/api/v1/keys/${keyB.body.data.id}`, method === 'PATCH' ? { disabled: true } : undefined)).status, 404, `${method} another account's key: not found`);
  }
  t.equal((await admin('GET', `/api/v1/keys/${keyB.body.data.id}`)).body.data.disabled, false, 'and it is untouched');
  t.equal((await as('POST', '/api/v1/keys', { name: 'x', account_id: b.id })).status, 403);
  const own = await as('POST', '/api/v1/keys', { name: 'my own' });
  t.equal(own.status, 201);
  t.equal(own.body.data.account_id, a.id, 'a member\'s new key lands in their account');
  t.equal((await as('POST', '/api/v1/keys', { name: 'x', management: true })).status, 403);

  t.same((await as('GET', '/api/v1/accounts')).body.data.map((x: { id: string }) => x.id), [a.id]);
  t.equal((await as('GET', `/api/v1/accounts/${b.id}`)).status, 404);
  t.equal((await as('PATCH', `/api/v1/accounts/${a.id}`, { limit: 1000 })).status, 403, 'only an admin sets an account\'s budget');
  t.equal((await as('POST', '/api/v1/accounts', { name: 'new' })).status, 403);
  t.equal((await as('GET', '/api/v1/users')).status, 403);

  const usage = await as('GET', '/api/v1/usage?group_by=account');
  t.same(usage.body.data.map((r: { account_id: string }) => r.account_id), [a.id], 'usage of their account only');
  t.equal(usage.body.data[0].requests, 1);
  t.equal((await as('GET', `/api/v1/usage?account_id=${b.id}`)).status, 403);
  t.equal((await as('GET', `/api/v1/usage?key_id=${keyB.body.data.id}&group_by=key`)).body.data.length, 0, 'another account\'s key shows nothing');
  const requests = await as('GET', '/api/v1/requests');
  t.ok(requests.body.data.length >= 1);
  t.ok(requests.body.data.every((r: { account_id: string }) => r.account_id === a.id), 'request log of their account only');
  t.equal((await as('GET', `/api/v1/requests?account_id=${b.id}`)).status, 403);
  t.equal((await as('GET', `/api/v1/requests?key_id=${keyB.body.data.id}`)).body.data.length, 0);
});

t.test('usage reads back per day, model, key, account and deployment, equal to what the responses reported', async (t) => {
  const acct = (await admin('POST', '/api/v1/accounts', { name: 'Usage' })).body.data;
  const key = (await admin('POST', '/api/v1/keys', { name: 'u', account_id: acct.id })).body;
  let cost = 0;
  for (const [model, usage] of [['test/model', { input: 1000, cached: 200, output: 50, reasoning: 5 }], ['other/model', { input: 300, output: 30 }]] as const) {
    tc.mock.script({ parts: [{ type: 'text', text: 'ok' }], usage });
    const r = await postResponses(tc.cluster.baseUrl, key.key, { model, input: 'x', stream: true });
    cost += (r.events.at(-1)!.data.response as { usage: { cost: number } }).usage.cost;
  }
  const q = `account_id=${acct.id}`;
  t.ok(await waitUntil(async () => (await admin('GET', `/api/v1/usage?${q}&group_by=account`)).body.data[0]?.requests === 2, 3000));
  const byModel = (await admin('GET', `/api/v1/usage?${q}&group_by=model`)).body.data;
  t.same(byModel.map((r: { model: string }) => r.model), ['other/model', 'test/model']);
  t.match(byModel[1], { requests: 1, input_tokens: 1000, cached_tokens: 200, output_tokens: 50, reasoning_tokens: 5 });
  const byKey = (await admin('GET', `/api/v1/usage?${q}&group_by=key`)).body.data;
  t.equal(byKey.length, 1);
  t.equal(byKey[0].key_id, key.data.id);
  t.equal(Math.round(byKey[0].cost * 1e6), Math.round(cost * 1e6), 'the ledger\'s cost equals the sum of usage.cost');
  const byDay = (await admin('GET', `/api/v1/usage?${q}`)).body;
  t.equal(byDay.group_by, 'day');
  t.equal(byDay.data[0].day, new Date().toISOString().slice(0, 10));
  const byDeployment = (await admin('GET', `/api/v1/usage?${q}&group_by=deployment`)).body.data;
  t.ok(byDeployment.every((r: { deployment: string }) => /^openai-responses\/.+@127\.0\.0\.1:\d+$/.test(r.deployment)));
  const filtered = (await admin('GET', `/api/v1/usage?${q}&group_by=key&model=other/model`)).body.data;
  t.equal(filtered[0].requests, 1);
  const past = (await admin('GET', `/api/v1/usage?${q}&from=2020-01-01&to=2020-01-31`)).body.data;
  t.same(past, []);
  const rec = (await admin('GET', `/api/v1/keys/${key.data.id}`)).body.data;
  t.equal(Math.round(rec.usage * 1e6), Math.round(cost * 1e6));
  t.equal(rec.usage_daily, rec.usage);
});

t.test('with ROUTERHUB_LOG_BODIES=1 the request log keeps the request body and the output text', async (t) => {
  const key = (await admin('POST', '/api/v1/keys', { name: 'bodies' })).body;
  tc.mock.script({ parts: [{ type: 'text', text: 'the logged answer' }] });
  await postResponses(tc.cluster.baseUrl, key.key, { model: 'test/model', input: 'the logged prompt', stream: true });
  t.ok(await waitUntil(async () => (await admin('GET', `/api/v1/requests?key_id=${key.data.id}`)).body.data.length === 1, 3000));
  const [rec] = (await admin('GET', `/api/v1/requests?key_id=${key.data.id}`)).body.data;
  t.match(JSON.parse(rec.request_body), { input: 'the logged prompt' });
  t.equal(rec.output_text, 'the logged answer');
});

t.test('npm run admin -- create-user and npm run keys -- create --admin', async (t) => {
  const run = (script: string, ...args: string[]) => execFileSync(process.execPath, [join(paths.DIST, 'services', script, 'main.js'), ...args], { env: { ...process.env, REDIS_URL: tc.cluster.redisUrl }, encoding: 'utf8' });
  const created = run('admin', 'create-user', '--email', 'second-admin@example.test');
  const password = /shown only this once:\n(\S+)/.exec(created)?.[1];
  t.ok(password, created);
  const cookie = await signIn('second-admin@example.test', password!);
  t.equal((await api(dash, 'GET', '/api/v1/users', { cookie })).status, 200, 'an admin by default');
  const mgmt = /^(sk-rh-\S+)$/m.exec(run('keys', 'create', '--admin', '--name', 'script'))?.[1];
  t.ok(mgmt);
  t.equal((await api(dash, 'GET', '/api/v1/accounts', { key: mgmt })).status, 200, 'the management key is an admin on the API');
  const refused = await postResponses(tc.cluster.baseUrl, mgmt!, { model: 'test/model', input: 'x' });
  t.equal(refused.status, 401, 'and not a key for /v1/responses');
  t.match((refused.json as { error: { message: string } }).error.message, /management key/);
});
