// Honest health and a Redis that cannot answer, against real processes: /readyz turns 503 while NATS
// is down, Redis does not answer or no worker is alive (and says which), /healthz stays 200; a
// paused or killed Redis fails authentication closed within ROUTERHUB_REDIS_TIMEOUT_MS and heals
// by itself, a ledger write that timed out is retried and counted once; and no key (RouterHub's or
// a provider's, even one the provider echoes back) appears in any process's output or any answer.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import t from 'tap';
import { binary, freePort, waitForPort } from '../../deploy/cluster';
import { generateKey } from '../../libs/store/keys';
import { api, postResponses, sleep, startTestCluster, terminals, waitUntil, type ClientResult, type TestCluster } from '../../libs/testing/cluster';
import { addSeenUsage, keyIdOf, LedgerProbe, noUsage } from '../../libs/testing/ledger';

const REDIS_TIMEOUT_MS = 500;
const WORKER_DEAD_MS = 1500;
const PROVIDER_KEY = `sk-upstream-${randomBytes(18).toString('base64url')}`;
const WRONG_KEY = generateKey();

/** Everything every process wrote, stdout and stderr. */
const output: string[] = [];
const servers: ChildProcess[] = [];
const redisDir = mkdtempSync(join(tmpdir(), 'rh-health-redis-'));
let natsPort: number;
let redisPort: number;
let nats: ChildProcess;
let redisServer: ChildProcess;
let tc: TestCluster;
let base: string;

function collect(p: ChildProcess): ChildProcess {
  p.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  p.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  return p;
}

function startNats(): ChildProcess {
  const p = collect(spawn(binary('nats-server'), ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  servers.push(p);
  return p;
}

// Every write synced, so that a killed Redis comes back with its keys.
function startRedis(): ChildProcess {
  const p = collect(spawn(binary('redis-server'), ['--bind', '127.0.0.1', '--port', String(redisPort), '--dir', redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  servers.push(p);
  return p;
}

function stopped(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

async function readyz(): Promise<{ status: number; body: { status: string; checks: Record<string, boolean>; failed: Array<{ check: string; message: string }> } }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

const ask = (input: string, key = tc.key) => postResponses(base, key, { model: 'test/model', input, stream: true });

t.before(async () => {
  natsPort = await freePort();
  redisPort = await freePort();
  nats = startNats();
  redisServer = startRedis();
  await Promise.all([waitForPort(natsPort), waitForPort(redisPort)]);
  tc = await startTestCluster(() => [{ id: 'test/model', deployments: [{ provider: 'openai-responses', api_key_env: 'TEST_UPSTREAM_KEY' }] }], {
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    workers: 2,
    stdio: 'pipe',
    env: { ROUTERHUB_REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS), ROUTERHUB_WORKER_DEAD_MS: String(WORKER_DEAD_MS), TEST_UPSTREAM_KEY: PROVIDER_KEY },
  });
  for (const p of [...tc.cluster.ingresses.map((i) => i.process), tc.cluster.dashboard, ...tc.cluster.workers]) collect(p);
  base = tc.cluster.baseUrl;
});

t.teardown(async () => {
  // A paused server would never exit: wake it first, whatever the test left.
  for (const p of servers) if (p.exitCode === null && p.signalCode === null) p.kill('SIGCONT');
  await tc?.stop();
  for (const p of servers) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(servers.map(stopped));
  rmSync(redisDir, { recursive: true, force: true });
});
t.beforeEach(() => tc.mock.reset());

t.test('ready with everything up: each check named', async (t) => {
  t.equal((await fetch(`${base}/healthz`)).status, 200);
  const r = await readyz();
  t.equal(r.status, 200);
  t.same(r.body.checks, { nats: true, redis: true, workers: true, accepting: true });
  t.same(r.body.failed, []);
});

t.test('no key in any answer: a wrong key, a right key, a provider that echoes its key', async (t) => {
  const wrong = await ask('hello', WRONG_KEY);
  t.equal(wrong.status, 401);
  t.notOk(wrong.raw.includes(WRONG_KEY), 'the presented key is not echoed');

  tc.mock.script({ parts: [{ type: 'text', text: 'fine' }] });
  t.equal((await ask('hello')).events.at(-1)?.data.type, 'response.completed');

  // An auth error quoting the key the provider was sent (some do, in full).
  tc.mock.script({ parts: [], httpError: { status: 401, message: `Incorrect API key provided: ${PROVIDER_KEY}.`, type: 'invalid_request_error' } });
  const rejected = await ask('hello');
  t.equal(rejected.status, 502);
  const message = (rejected.json as { error: { message: string } }).error.message;
  t.match(message, /rejected RouterHub's credentials.*\[redacted\]/, message);
  t.notOk(rejected.raw.includes(PROVIDER_KEY), 'the provider key is not in the answer');

  // The same inside a stream, after output.
  tc.mock.script({ parts: [{ type: 'text', text: 'partial answer' }], streamError: { afterParts: 1, message: `key ${PROVIDER_KEY} is over its quota` } });
  const broken = await ask('hello');
  const end = terminals(broken.events)[0];
  t.equal(end?.data.type, 'response.failed');
  t.match(JSON.stringify(end.data), /\[redacted\]/);
  t.notOk(broken.raw.includes(PROVIDER_KEY), 'nor in the stream');

  // The request log (what the dashboard shows) and the metrics.
  const log = await api(tc.cluster.dashboardUrl, 'GET', '/api/v1/requests?limit=50', { key: tc.adminKey });
  t.equal(log.status, 200);
  const logText = JSON.stringify(log.body);
  t.match(logText, /upstream_auth_failed/, 'the failed attempt is in the request log');
  for (const k of [PROVIDER_KEY, tc.key, WRONG_KEY]) t.notOk(logText.includes(k), 'no key in the request log');
  const metrics = await (await fetch(`${base}/metrics`)).text();
  for (const k of [PROVIDER_KEY, tc.key, WRONG_KEY]) t.notOk(metrics.includes(k), 'no key in the metrics');
});

t.test('NATS killed: /readyz 503 within a second, /healthz 200; back on the same port: ready and serving', async (t) => {
  const killedAt = Date.now();
  nats.kill('SIGKILL');
  await stopped(nats);
  t.ok(await waitUntil(async () => (await readyz()).status === 503, 1000, 25), `/readyz 503 ${Date.now() - killedAt} ms after the kill`);
  const r = await readyz();
  t.equal(r.body.checks.nats, false);
  t.match(r.body.failed, [{ check: 'nats', message: /NATS is disconnected/ }]);
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'still alive');

  nats = startNats();
  await waitForPort(natsPort);
  const restartedAt = Date.now();
  t.ok(await waitUntil(async () => (await readyz()).status === 200, 10_000), `ready again ${Date.now() - restartedAt} ms after NATS is back`);
  tc.mock.script({ parts: [{ type: 'text', text: 'after NATS came back' }] });
  const after = await ask('after');
  t.equal(after.events.at(-1)?.data.type, 'response.completed', 'a request completes');
});

t.test('Redis paused: 503 key_store_unavailable within the bound, a ledger write retried and counted once, healed on SIGCONT', async (t) => {
  const probe = new Redis(`redis://127.0.0.1:${redisPort}`);
  t.teardown(() => probe.disconnect());
  const ledger = new LedgerProbe(probe, await keyIdOf(probe, tc.key));
  const before = await ledger.totals('test/model');

  // A stream that ends while Redis is paused: its ledger write times out and must be retried.
  let firstDelta!: () => void;
  const streaming = new Promise<void>((r) => (firstDelta = r));
  tc.mock.script({ parts: [{ type: 'text', text: 'slow '.repeat(20) }], delayMs: 40, usage: { input: 321, output: 20 } });
  const pending = postResponses(base, tc.key, { model: 'test/model', input: 'slow', stream: true }, { onEvent: (e) => e.data.type === 'response.output_text.delta' && firstDelta() });
  await streaming;

  redisServer.kill('SIGSTOP');
  const started = performance.now();
  const refused = await ask('while paused');
  const took = performance.now() - started;
  t.equal(refused.status, 503);
  t.match(refused.json, { error: { code: 'key_store_unavailable', type: 'server_error' } });
  t.ok(took < REDIS_TIMEOUT_MS + 700, `answered in ${Math.round(took)} ms (bound ${REDIS_TIMEOUT_MS} ms)`);
  t.comment(`key check with Redis paused: 503 after ${Math.round(took)} ms`);

  // Within the PING's bound once the last answer (kept 1 s) expired.
  t.ok(await waitUntil(async () => (await readyz()).status === 503, REDIS_TIMEOUT_MS + 1000 + 500), `/readyz 503 ${Math.round(performance.now() - started)} ms after the pause`);
  const r = await readyz();
  t.match(r.body.failed, [{ check: 'redis', message: /did not answer a PING within 500 ms/ }]);
  t.equal((await fetch(`${base}/healthz`)).status, 200);

  const done = await pending;
  t.equal(done.events.at(-1)?.data.type, 'response.completed', 'the stream in flight completed without Redis');
  await sleep(1500); // several ledger writes time out meanwhile

  redisServer.kill('SIGCONT');
  const resumedAt = Date.now();
  const served: ClientResult[] = [done];
  t.ok(await waitUntil(async () => {
    const r = await ask('after');
    if (r.status === 200) served.push(r);
    return r.status === 200;
  }, 5000, 100), `requests succeed ${Date.now() - resumedAt} ms after SIGCONT`);
  t.ok(await waitUntil(async () => (await readyz()).status === 200, 5000), 'ready again');
  const seen = served.reduce(addSeenUsage, noUsage());
  t.ok(await waitUntil(async () => (await ledger.since('test/model', before)).requests >= seen.responses, 5000), 'the paused response reached the ledger');
  await sleep(1000); // late duplicates (the timed-out tries Redis ran after all) would land by now
  const d = await ledger.since('test/model', before);
  t.equal(d.requests, seen.responses, `${seen.responses} responses, each counted once`);
  t.equal(d.input_tokens, seen.input_tokens, 'input tokens as the clients saw them');
  t.equal(d.output_tokens, seen.output_tokens, 'output tokens as the clients saw them');
});

t.test('Redis killed: 503 within the bound; back (with its data): serving again', async (t) => {
  redisServer.kill('SIGKILL');
  await stopped(redisServer);
  const started = performance.now();
  const refused = await ask('while down');
  const took = performance.now() - started;
  t.equal(refused.status, 503);
  t.match(refused.json, { error: { code: 'key_store_unavailable' } });
  t.ok(took < REDIS_TIMEOUT_MS + 700, `answered in ${Math.round(took)} ms`);
  t.ok(await waitUntil(async () => (await readyz()).status === 503, 3000), '/readyz 503');

  redisServer = startRedis();
  await waitForPort(redisPort);
  const backAt = Date.now();
  tc.mock.script({ parts: [{ type: 'text', text: 'back' }] });
  t.ok(await waitUntil(async () => (await ask('after')).status === 200, 10_000, 200), `requests succeed ${Date.now() - backAt} ms after Redis is back`);
  t.ok(await waitUntil(async () => (await readyz()).status === 200, 5000), 'ready again');
});

t.test('no worker alive: /readyz 503 naming the workers', async (t) => {
  const live = tc.cluster.workers.filter((w) => w.exitCode === null && w.signalCode === null);
  for (const w of live) w.kill('SIGKILL');
  await Promise.all(live.map(stopped));
  t.ok(await waitUntil(async () => (await readyz()).status === 503, WORKER_DEAD_MS + 2000), '/readyz 503');
  const r = await readyz();
  t.equal(r.body.checks.workers, false);
  t.match(r.body.failed, [{ check: 'workers', message: /No worker/ }]);
  t.equal((await fetch(`${base}/healthz`)).status, 200);
});

t.test('no key in any process output', async (t) => {
  await sleep(200); // the last lines in the pipes
  const all = output.join('');
  t.ok(all.length > 0, `${all.length} characters of output read`);
  for (const [name, k] of [['provider key', PROVIDER_KEY], ['dev key', tc.key], ['admin key', tc.adminKey], ['wrong key', WRONG_KEY]] as const) {
    t.notOk(all.includes(k), `no ${name} in the output`);
  }
  t.notMatch(all, /sk-rh-[A-Za-z0-9_-]{8,}/, 'nothing shaped like a RouterHub key');
});
