// The dashboard in a real browser (Debian's chromium driven by playwright-core) against the real
// cluster: the admin signs in, creates an account, a member and a limited key through the pages,
// copies the key and the Codex set-up, sends real requests with it (an HTTP client and Codex CLI
// through the config the page showed), sees them on Usage and Requests within seconds with the
// tokens and cost the responses reported; the member sees only their account and revokes the key,
// and the next request gets 401. Screenshots of every page go to a folder printed as a comment.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import t from 'tap';
import { api, postResponses, startTestCluster, type TestCluster } from '../../libs/testing/cluster';
import { runCodex, workspace } from '../../libs/testing/codex';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_EMAIL = 'ops@example.test';
const MEMBER_EMAIL = 'dev@team-browser.test';
const MEMBER_PASSWORD = 'member-password-123';
// Seconds the pages may take to show new traffic (they poll every 2 s).
const FRESH_MS = 8_000;

let tc: TestCluster;
let context: BrowserContext;
let page: Page;
let dash: string;
const profile = mkdtempSync(join(tmpdir(), 'rh-chromium-'));
const shots = mkdtempSync(join(tmpdir(), 'rh-dashboard-screens-'));

t.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: npm test installs Debian's chromium (deploy/setup.mjs --test)`);
  tc = await startTestCluster(() => [
    { id: 'test/codex', display_name: 'Test Codex', context_window: 200_000, reasoning: true,
      deployments: [{ provider: 'openai-responses', id: 'primary' }, { provider: 'openai-responses', id: 'fallback' }] },
    { id: 'test/claude', display_name: 'Test Claude', context_window: 100_000, deployments: [{ provider: 'anthropic', id: 'claude-east' }],
      pricing: { input: 3, cached_input: 0.3, output: 15 } },
  ], { adminEmail: ADMIN_EMAIL });
  dash = tc.cluster.dashboardUrl;
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: dash });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => m.type() === 'error' && !/status of 401/.test(m.text()) && pageErrors.push(m.text()));
  t.comment(`dashboard screenshots: ${shots}`);
});

t.teardown(async () => {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  await tc?.stop();
});

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const admin = (method: string, path: string) => api(dash, method, path, { key: tc.adminKey });
const usd = (n: number) => (n !== 0 && Math.abs(n) < 0.01 ? `$${n.toFixed(6)}` : `$${n.toFixed(2)}`);
// The test compiles without DOM types: the function runs in the page.
const readClipboard = () => page.evaluate('navigator.clipboard.readText()') as Promise<string>;
const int = (n: number) => new Intl.NumberFormat('en-US').format(n);

async function signIn(email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

interface Seen { input: number; cached: number; output: number; reasoning: number; cost: number; requests: number }
const seen: Seen = { input: 0, cached: 0, output: 0, reasoning: 0, cost: 0, requests: 0 };
/** Script errors in the page: none expected (a 401 the app handles is logged by the browser, not counted). */
const pageErrors: string[] = [];
let accountId = '';
let apiKey = '';
let codexConfig = '';

t.test('a wrong password gets a clear message; the admin signs in', async (t) => {
  await page.goto(dash);
  await signIn(ADMIN_EMAIL, 'not-the-password');
  await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
  await shot('sign-in');
  await page.getByLabel('Password').fill(tc.cluster.firstAdmin!.password!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
  t.ok(await page.getByText(`${ADMIN_EMAIL} · admin`).isVisible(), 'the header names the admin');
  t.ok(await page.getByRole('link', { name: 'Accounts and users' }).isVisible(), 'an admin sees the admin page');
});

t.test('the admin creates an account and invites a member through the UI', async (t) => {
  await page.getByRole('link', { name: 'Accounts and users' }).click();
  const accountForm = page.getByRole('form', { name: 'Create account' });
  await accountForm.getByLabel('Name').fill('Team Browser');
  await accountForm.getByLabel('Spend limit (USD)').fill('50');
  await accountForm.getByLabel('Limit resets').selectOption('monthly');
  await accountForm.getByRole('button', { name: 'Create account' }).click();
  const row = page.locator('tr[data-account-id]', { hasText: 'Team Browser' });
  await row.waitFor();
  accountId = (await row.getAttribute('data-account-id'))!;
  t.match(await row.innerText(), /\$50\.00 monthly/);

  const userForm = page.getByRole('form', { name: 'Invite user' });
  await userForm.getByLabel('Email').fill(MEMBER_EMAIL);
  await userForm.getByLabel('Initial password').fill(MEMBER_PASSWORD);
  await userForm.getByLabel('Role').selectOption('member');
  await userForm.getByLabel('Account').selectOption(accountId);
  await userForm.getByRole('button', { name: 'Invite user' }).click();
  await page.locator('tr[data-user-id]', { hasText: MEMBER_EMAIL }).waitFor();
  const users = (await admin('GET', '/api/v1/users')).body.data as Array<{ email: string; role: string; account_id: string }>;
  t.match(users.find((u) => u.email === MEMBER_EMAIL), { role: 'member', account_id: accountId }, 'the API has the member in the new account');
  await shot('accounts');
});

t.test('the admin creates a limited key for the account; it is shown once with a copy button and the Codex set-up', async (t) => {
  await page.getByRole('link', { name: 'Keys' }).click();
  await page.locator('#account-switch').selectOption(accountId);
  await page.locator('summary', { hasText: 'Create key' }).click();
  const form = page.getByRole('form', { name: 'Create key' });
  await form.getByLabel('Name').fill('browser-ci');
  await form.getByLabel('Spend limit (USD)').fill('10');
  await form.getByLabel('Limit resets').selectOption('monthly');
  await form.getByLabel('Requests per minute').fill('100');
  await form.getByLabel('Tokens per minute').fill('1000000');
  await form.getByLabel('Streams at once').fill('4');
  await form.getByLabel('Allowed models').fill('test/*');
  await form.getByRole('button', { name: 'Create key' }).click();

  const shown = page.getByTestId('new-key');
  await shown.waitFor();
  apiKey = (await shown.getByTestId('new-key-value').innerText()).trim();
  t.equal(await form.getByRole('alert').count(), 0, 'no error under the form');
  t.match(apiKey, /^sk-rh-[A-Za-z0-9_-]{20,}$/);
  await shown.getByRole('button', { name: 'Copy key' }).click();
  t.equal(await readClipboard(), apiKey, 'the copy button put the key on the clipboard');

  await page.getByLabel('Model', { exact: true }).selectOption('test/codex');
  codexConfig = await shown.getByTestId('codex-config').innerText();
  t.match(codexConfig, `model = "test/codex"`);
  t.match(codexConfig, `base_url = "${tc.cluster.baseUrl}/v1"`);
  t.match(codexConfig, `model_catalog_url = "${tc.cluster.baseUrl}/v1/codex/models"`);
  t.match(codexConfig, 'wire_api = "responses"');
  t.equal((await shown.getByTestId('codex-export').innerText()).trim(), `export ROUTERHUB_API_KEY=${apiKey}`);
  await shown.getByRole('button', { name: 'Copy config' }).click();
  t.equal(await readClipboard(), codexConfig.replace(/\n?$/, '\n'), 'the config copies as shown');

  const keys = (await admin('GET', `/api/v1/keys?account_id=${accountId}`)).body.data;
  t.match(keys, [{ name: 'browser-ci', limit: 10, limit_reset: 'monthly', rpm: 100, tpm: 1000000, max_concurrent: 4, models: ['test/*'] }], 'the API has the key with its limits');
  const row = page.locator('tr[data-key-id]', { hasText: 'browser-ci' });
  t.match(await row.innerText(), /100 rpm · 1,000,000 tpm · 4 at once/);
  t.match(await row.innerText(), /\$0\.00 of \$10\.00 monthly/);
  await shot('keys-new-key');
});

t.test('real requests with the copied key: an HTTP client (one failing over) and Codex CLI through the shown config', async (t) => {
  const add = (u: { input_tokens: number; input_tokens_details: { cached_tokens: number }; output_tokens: number; output_tokens_details: { reasoning_tokens: number }; cost: number }) => {
    seen.requests++;
    seen.input += u.input_tokens;
    seen.cached += u.input_tokens_details.cached_tokens;
    seen.output += u.output_tokens;
    seen.reasoning += u.output_tokens_details.reasoning_tokens;
    seen.cost += u.cost;
  };
  // The primary deployment is rate limited: the request fails over to the fallback.
  tc.mock.script(
    { parts: [], httpError: { status: 429, message: 'slow down', retryAfter: 1 } },
    { parts: [{ type: 'text', text: 'four' }], usage: { input: 12_000, cached: 8_000, output: 700, reasoning: 300 } },
    { parts: [{ type: 'text', text: 'five' }], usage: { input: 3_000, output: 150 } },
  );
  for (const input of ['2 + 2?', '2 + 3?']) {
    const r = await postResponses(tc.cluster.baseUrl, apiKey, { model: 'test/codex', input, stream: true });
    t.equal(r.status, 200);
    const done = r.events.find((e) => e.data.type === 'response.completed');
    t.ok(done, 'the stream completed');
    add((done!.data.response as { usage: Parameters<typeof add>[0] }).usage);
  }

  // Codex CLI with exactly the config the page showed.
  const home = mkdtempSync(join(tmpdir(), 'rh-codex-home-'));
  writeFileSync(join(home, 'config.toml'), codexConfig);
  tc.mock.script({ parts: [{ type: 'text', text: '2 + 2 = 4.' }], usage: { input: 5_000, cached: 1_000, output: 40 } });
  const run = await runCodex(home, apiKey, workspace(), ['What is 2 + 2?']);
  t.equal(run.code, 0, run.code === 0 ? 'codex exited 0' : `codex: ${run.stderr.slice(-1500)}`);
  t.match(run.stdout, /2 \+ 2 = 4\./);
  rmSync(home, { recursive: true, force: true });
  const log = (await admin('GET', `/api/v1/requests?account_id=${accountId}`)).body.data as Array<{ user_agent: string; input_tokens: number; cached_tokens: number; output_tokens: number; reasoning_tokens: number; cost: number }>;
  const codex = log.find((r) => /codex/i.test(r.user_agent ?? ''));
  t.ok(codex, 'the request log has Codex\'s request');
  if (codex) {
    seen.requests++;
    seen.input += codex.input_tokens;
    seen.cached += codex.cached_tokens;
    seen.output += codex.output_tokens;
    seen.reasoning += codex.reasoning_tokens;
    seen.cost += codex.cost;
  }
  t.equal(seen.requests, 3);
  t.ok(seen.cost > 0, 'the responses cost something');
});

t.test('Usage shows the traffic within seconds, with the tokens and cost the responses reported', async (t) => {
  await page.getByRole('link', { name: 'Usage' }).click();
  const total = (id: string) => page.getByTestId(`total-${id}`);
  await t.resolves(total('requests').filter({ hasText: new RegExp(`^${seen.requests}$`) }).waitFor({ timeout: FRESH_MS }), 'the request count arrived');
  t.equal(await total('input_tokens').innerText(), int(seen.input));
  t.equal(await total('cached_tokens').innerText(), int(seen.cached));
  t.equal(await total('output_tokens').innerText(), int(seen.output));
  t.equal(await total('reasoning_tokens').innerText(), int(seen.reasoning));
  t.equal(await total('cost').innerText(), usd(seen.cost));
  const apiTotals = (await admin('GET', `/api/v1/usage?group_by=account&account_id=${accountId}`)).body.data[0];
  t.match(apiTotals, { requests: seen.requests, input_tokens: seen.input, cached_tokens: seen.cached, output_tokens: seen.output, reasoning_tokens: seen.reasoning });
  t.ok(Math.abs(apiTotals.cost - seen.cost) < 1e-6, 'the API\'s cost equals the sum of usage.cost the client saw');
  const byModel = page.getByRole('table', { name: 'By model' });
  t.match(await byModel.innerText(), /test\/codex/);
  t.match(await byModel.innerText(), new RegExp(`${((seen.cached / seen.input) * 100).toFixed(1)}%`), 'the cache share per model');
  t.match(await page.getByRole('table', { name: 'By key' }).innerText(), /browser-ci/);
  await page.getByLabel('Endpoint').selectOption('/v1/responses');
  t.equal(await total('requests').innerText(), String(seen.requests), 'all of it under /v1/responses');
  await shot('usage');
});

t.test('Requests lists each response; a row opens its failover attempts and errors', async (t) => {
  await page.getByRole('link', { name: 'Requests' }).click();
  const rows = page.locator('table.requests tbody tr[data-response-id]');
  await t.resolves(rows.nth(seen.requests - 1).waitFor({ timeout: FRESH_MS }), 'every request is listed');
  t.equal(await rows.count(), seen.requests);
  const failedOver = rows.filter({ hasText: 'fallback' }).filter({ hasText: '12,000' });
  t.match(await failedOver.innerText(), /completed/);
  await failedOver.getByRole('button').click();
  const details = page.getByTestId('request-details');
  await details.waitFor();
  t.match(await details.innerText(), /primary.*429/s, 'the failed attempt at the primary with its status');
  t.match(await details.innerText(), /Served by\s+fallback/);
  await shot('requests');
  await details.getByRole('button', { name: 'Close' }).click();
});

t.test('Models shows the catalog, deployment health and a Codex snippet', async (t) => {
  await page.getByRole('link', { name: 'Models' }).click();
  const codexModel = page.getByRole('region', { name: /Test Codex/ });
  await codexModel.waitFor();
  const text = await codexModel.innerText();
  t.match(text, /200,000 tokens/);
  t.match(text, /\$1\.25/);
  t.match(text, /openai-responses/);
  const primary = codexModel.getByRole('row', { name: /primary/ });
  t.match(await primary.innerText(), /primary\s+openai-responses\s+0\s+healthy\s+model price\s+3\s+1\s+1/, 'the primary: healthy now; its failed attempt (an error, a rate limit) and the two requests it served');
  await codexModel.getByText('Use with Codex').click();
  t.match(await codexModel.getByTestId('codex-config').innerText(), 'model = "test/codex"');
  t.match(await page.getByRole('region', { name: /Test Claude/ }).innerText(), /anthropic/);
  await shot('models');
});

t.test('the member signs in and sees only their account; revoking the key makes the next request 401', async (t) => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await signIn(MEMBER_EMAIL, MEMBER_PASSWORD);
  // Signing in returns to the page the URL names (here: Models, where the admin signed out).
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByRole('link', { name: 'Keys' }).click();
  await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
  t.equal(await page.getByTestId('member-account').innerText(), 'Account: Team Browser');
  t.equal(await page.getByRole('link', { name: 'Accounts and users' }).count(), 0, 'no admin page for a member');
  const keyRows = page.locator('tr[data-key-id]');
  await keyRows.first().waitFor();
  t.same(await keyRows.locator('th').allInnerTexts(), ['browser-ci'], 'only their account\'s key (not the dev key)');
  await shot('member-keys');

  await page.getByRole('link', { name: 'Usage' }).click();
  await page.getByTestId('total-requests').filter({ hasText: new RegExp(`^${seen.requests}$`) }).waitFor({ timeout: FRESH_MS });
  t.pass('the member sees their account\'s usage');
  await page.getByRole('link', { name: 'Keys' }).click();

  const row = page.locator('tr[data-key-id]', { hasText: 'browser-ci' });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke for good' }).click();
  await t.resolves(row.waitFor({ state: 'detached' }), 'the revoked key leaves the list');
  const refused = await postResponses(tc.cluster.baseUrl, apiKey, { model: 'test/codex', input: 'again?' });
  t.equal(refused.status, 401, 'the next request with the revoked key gets 401');
});

t.test('the pages ran without a script error', async (t) => {
  t.same(pageErrors, []);
});
