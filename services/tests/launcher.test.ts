// `npm start`'s launcher as a user runs it: the banner, the demo models of every wire format with
// no provider keys, and a clean stop of every process on SIGTERM.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import t from 'tap';
import { freePort, paths, waitForPort } from '../../deploy/cluster';
import { generateKey } from '../../libs/store/keys';
import { postResponses, waitUntil } from '../../libs/testing/cluster';

t.test('the local cluster starts, serves every demo model, prints the Codex config, and stops cleanly', async (t) => {
  const port = await freePort();
  const key = generateKey();
  // The launcher's Redis keeps its data between runs: a new admin each run, so the banner shows it.
  const adminEmail = `admin-${Date.now()}@example.test`;
  const adminPassword = generateKey();
  const child = spawn(process.execPath, [join(paths.DIST, 'deploy', 'main.js')], {
    env: { ...process.env, PORT: String(port), ROUTERHUB_DEV_KEY: key, ROUTERHUB_WORKERS: '2', NATS_URL: '', REDIS_URL: '', ROUTERHUB_ADMIN_EMAIL: adminEmail, ROUTERHUB_ADMIN_PASSWORD: adminPassword },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', () => undefined);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitUntil(() => out.includes('Ctrl-C stops every process') || child.exitCode !== null, 60_000, 100);
  t.match(out, `base URL   http://127.0.0.1:${port}/v1`);
  t.notOk(out.includes(key), 'a dev key given in ROUTERHUB_DEV_KEY is never printed');
  t.match(out, 'dev key    (the one in ROUTERHUB_DEV_KEY');
  t.match(out, 'model_provider = "routerhub"');
  t.match(out, '[model_providers.routerhub]');
  t.match(out, `base_url = "http://127.0.0.1:${port}/v1"`);
  t.match(out, 'env_key = "ROUTERHUB_API_KEY"');
  t.match(out, 'wire_api = "responses"');
  t.match(out, `model_catalog_url = "http://127.0.0.1:${port}/v1/codex/models"`);
  t.match(out, `dashboard  http://127.0.0.1:${port + 1}`, 'the dashboard listens on the ingress port + 1');
  t.match(out, `admin      ${adminEmail}  password (ROUTERHUB_ADMIN_PASSWORD)`, 'the admin is printed (a generated password would be shown)');
  const login = await fetch(`http://127.0.0.1:${port + 1}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: adminEmail, password: adminPassword }) });
  t.equal(login.status, 200, 'and they sign in to the control API');
  const nats = Number(/NATS\s+nats:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  const redis = Number(/Redis\s+redis:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);

  const store = new Redis(redis, '127.0.0.1', { lazyConnect: true });
  await store.connect();
  t.same(await store.config('GET', 'appendonly'), ['appendonly', 'yes'], "the launcher's Redis keeps an append-only file");
  t.same(await store.config('GET', 'appendfsync'), ['appendfsync', 'everysec'], 'synced every second: a crash loses at most the last second');
  store.disconnect();

  const base = `http://127.0.0.1:${port}`;
  for (const model of ['routerhub/demo', 'routerhub/demo-anthropic', 'routerhub/demo-gemini', 'routerhub/demo-chat']) {
    const r = await postResponses(base, key, { model, input: 'hello RouterHub', stream: true });
    t.equal(r.events.at(-1)?.data.type, 'response.completed', `${model} answers`);
    t.match(JSON.stringify(r.events.at(-1)?.data), /hello RouterHub/, `${model}: the demo echoes the prompt`);
  }
  const catalog = await fetch(`${base}/v1/codex/models?client_version=0.169.0`, { headers: { authorization: `Bearer ${key}` } });
  t.ok(((await catalog.json()) as { models: Array<{ slug: string }> }).models.some((m) => m.slug === 'anthropic/claude-sonnet-4-5'));

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'the launcher exits 0 on SIGTERM');
  for (const p of [port, port + 1, nats, redis]) await t.rejects(waitForPort(p, 300), `nothing listens on ${p} any more`);
});
