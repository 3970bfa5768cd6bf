// Routing that keeps provider caches warm and avoids sick deployments, on a real cluster (two
// ingresses, two workers, Redis) in front of a mock upstream whose deployments each keep their own
// prompt cache and accept only their own encrypted reasoning: conversations stay on one deployment
// and spread over all of them, removing a deployment moves only its conversations, Codex's reasoning
// never reaches the wrong org, a 429's Retry-After holds for the whole fleet, and a deployment failing
// with 503 is ejected, probed and brought back.
import Redis from 'ioredis';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DEFAULT_HEALTH, DeploymentHealth, HEALTH_KEY, parseRecord, statusOf, type HealthRecord } from '../../libs/routing/health';
import { api, postResponses, sleep, startTestCluster, type ClientResult, type TestCluster } from '../../libs/testing/cluster';
import { codexHome, runCodex, workspace } from '../../libs/testing/codex';

let tc: TestCluster;
let redis: Redis;
let ingresses: string[];

/** Equal deployments, each its own upstream model name at the mock (its own cache and reasoning signature). */
const pool = (ids: string[]) => ids.map((id) => ({ provider: 'openai-responses', id, model: id, priority: 0 }));

t.before(async () => {
  tc = await startTestCluster(() => [
    { id: 'test/spread', deployments: pool(['pool-1', 'pool-2', 'pool-3']) },
    // The same deployments (same ids and upstream caches) with pool-2 removed from the catalog.
    { id: 'test/spread-minus', deployments: pool(['pool-1', 'pool-3']) },
    { id: 'test/random', affinity: false, deployments: pool(['rand-1', 'rand-2', 'rand-3']) },
    { id: 'test/single', deployments: pool(['single-1']) },
    { id: 'test/orgs', reasoning: true, deployments: pool(['org-a', 'org-b']) },
    {
      id: 'test/failover',
      health: { consecutive_5xx: 2, base_ejection_ms: 1000 },
      deployments: [{ provider: 'openai-responses', id: 'fo-primary', model: 'fo-primary' }, { provider: 'openai-responses', id: 'fo-secondary', model: 'fo-secondary', priority: 1 }],
    },
    { id: 'test/limited', deployments: [{ provider: 'openai-responses', id: 'lim-primary', model: 'lim-primary' }, { provider: 'openai-responses', id: 'lim-secondary', model: 'lim-secondary', priority: 1 }] },
    { id: 'test/limited-alone', deployments: [{ provider: 'openai-responses', id: 'lim-alone', model: 'lim-alone' }] },
  ], { ingresses: 2, env: { ROUTERHUB_DEPLOYMENT_HEALTH: 'on' } }, {
    prefixCache: true,
    ownReasoning: true,
    // Every answer reasons (its encrypted_content signed by the deployment) and then speaks.
    defaultTurn: (view) => ({ parts: [{ type: 'reasoning', text: 'Thinking it over.' }, { type: 'text', text: `Done: ${view.lastUserText.slice(0, 40)}` }] }),
  });
  ingresses = tc.cluster.ingresses.map((i) => i.baseUrl);
  redis = new Redis(tc.cluster.redisUrl);
});
t.teardown(async () => {
  redis?.disconnect();
  await tc?.stop();
});

const INSTRUCTIONS = `You are Codex, a coding agent running in a terminal. ${'Follow the repository conventions; keep changes small and tested. '.repeat(60)}`;
const TOOLS = ['exec_command', 'write_stdin', 'update_plan', 'view_image'].map((name) => ({ type: 'function', name, description: `The ${name} tool. ${'It takes JSON arguments. '.repeat(10)}`, strict: false, parameters: { type: 'object', properties: { cmd: { type: 'string' } } } }));

interface Turn { result: ClientResult; ms: number }

/** One Codex-shaped turn: the whole history again, plus the new user message. */
async function turn(base: string, model: string, history: unknown[], text: string, conversation: string | null, headers: Record<string, string> = {}): Promise<Turn> {
  history.push({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
  const started = performance.now();
  const result = await postResponses(base, tc.key, {
    model, instructions: INSTRUCTIONS, tools: TOOLS, tool_choice: 'auto', parallel_tool_calls: false, input: history, stream: true, store: false,
    include: ['reasoning.encrypted_content'], ...(conversation ? { prompt_cache_key: conversation } : {}),
  }, { headers });
  const ms = performance.now() - started;
  const done = result.events.at(-1)?.data;
  if (done?.type === 'response.completed') history.push(...((done.response as { output: unknown[] }).output));
  return { result, ms };
}

function usageOf(r: ClientResult): { input: number; cached: number } {
  const u = (r.events.at(-1)!.data.response as { usage: { input_tokens: number; input_tokens_details: { cached_tokens: number } } }).usage;
  return { input: u.input_tokens, cached: u.input_tokens_details.cached_tokens };
}

const completed = (r: ClientResult) => r.status === 200 && r.events.at(-1)?.data.type === 'response.completed';

/** 20 conversations of 6 turns, alternating ingresses; returns each conversation's deployments and the cached share. */
async function workload(model: string, tag: string, withReasoning = true): Promise<{ homes: Map<string, Set<string>>; share: number; allOk: boolean; histories: Map<string, unknown[]> }> {
  const before = tc.mock.requests.length;
  let input = 0;
  let cached = 0;
  let allOk = true;
  const histories = new Map<string, unknown[]>();
  await Promise.all(Array.from({ length: 20 }, async (_, c) => {
    const conversation = `${tag}-${c}-${Date.now()}`;
    const history: unknown[] = [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: `<permissions>workspace-write</permissions> ${c}` }] }];
    histories.set(conversation, history);
    for (let k = 0; k < 6; k++) {
      const { result } = await turn(ingresses[k % 2], model, history, `Step ${k} of task ${c}: look at file ${k}.ts`, conversation);
      // Reasoning would pin the next turn to its deployment (affinity of its own): left out to measure none.
      if (!withReasoning) history.splice(0, history.length, ...history.filter((i) => (i as { type: string }).type !== 'reasoning'));
      if (!completed(result)) allOk = false;
      else {
        const u = usageOf(result);
        input += u.input;
        cached += u.cached;
      }
    }
  }));
  const homes = new Map<string, Set<string>>();
  for (const r of tc.mock.requests.slice(before)) {
    const key = String(r.body.prompt_cache_key);
    homes.set(key, (homes.get(key) ?? new Set()).add(r.model!));
  }
  return { homes, share: cached / input, allOk, histories };
}

async function record(id: string): Promise<HealthRecord | undefined> {
  const doc = await redis.hget(HEALTH_KEY, id);
  return doc ? parseRecord(doc) : undefined;
}

t.test('20 conversations × 6 turns through two ingresses: each stays on one deployment, all three serve, the cache keeps hitting', async (t) => {
  const single = await workload('test/single', 'single');
  const spread = await workload('test/spread', 'spread');
  const random = await workload('test/random', 'random', false);
  t.ok(single.allOk && spread.allOk && random.allOk, 'every turn completed');
  t.equal(spread.homes.size, 20);
  t.ok([...spread.homes.values()].every((s) => s.size === 1), 'every conversation stayed on one deployment');
  const used = new Set([...spread.homes.values()].flatMap((s) => [...s]));
  t.same([...used].sort(), ['pool-1', 'pool-2', 'pool-3'], 'conversations spread over all three');
  t.ok(spread.share >= 0.8 * single.share, `cached share ${(spread.share * 100).toFixed(1)}% is at least 80% of one deployment's ${(single.share * 100).toFixed(1)}%`);
  t.ok(random.share < spread.share, `without affinity the cache hits less (${(random.share * 100).toFixed(1)}%)`);
  t.comment(`cached share of input tokens: one deployment ${(single.share * 100).toFixed(1)}%, three with affinity ${(spread.share * 100).toFixed(1)}%, three at random ${(random.share * 100).toFixed(1)}%`);
  t.equal(tc.mock.rejectedReasoning.length, 0, 'no turn carried another deployment\'s reasoning');

  // The catalog without pool-2: one more turn of every conversation.
  const before = tc.mock.requests.length;
  await Promise.all([...spread.histories].map(([conversation, history], i) => turn(ingresses[i % 2], 'test/spread-minus', history, 'one more step', conversation)));
  let moved = 0;
  for (const r of tc.mock.requests.slice(before)) {
    const home = [...spread.homes.get(String(r.body.prompt_cache_key))!][0];
    if (home === 'pool-2') moved++;
    else t.equal(r.model, home, `${String(r.body.prompt_cache_key)} stayed on ${home}`);
  }
  t.equal(moved, [...spread.homes.values()].filter((s) => s.has('pool-2')).length, 'only pool-2\'s conversations moved');
  t.equal(tc.mock.rejectedReasoning.length, 0, 'their reasoning was dropped, not sent to the new deployment');
});

t.test('reasoning goes back to the deployment that made it, whatever the conversation key says', async (t) => {
  const history: unknown[] = [];
  const first = await turn(ingresses[0], 'test/orgs', history, 'think about it', 'orgs-pin-1');
  t.ok(completed(first.result));
  const maker = tc.mock.requests.at(-1)!.model!;
  const reasoning = history.find((i) => (i as { type: string }).type === 'reasoning') as { encrypted_content: string };
  t.match(reasoning.encrypted_content, /^rhd1\.[A-Za-z0-9_-]+\.enc-org-/, 'the client sees the upstream\'s blob tagged with its deployment');
  // A key whose rendezvous home is the other deployment.
  let other = '';
  for (let i = 0; i < 50 && !other; i++) {
    const r = await postResponses(ingresses[1], tc.key, { model: 'test/orgs', input: 'hi', prompt_cache_key: `probe-${i}`, stream: true });
    if (tc.mock.requests.at(-1)!.model !== maker) other = `probe-${i}`;
    t.ok(completed(r));
  }
  t.ok(other, 'found a conversation key that lives on the other deployment');
  const second = await turn(ingresses[1], 'test/orgs', history, 'go on', other);
  t.ok(completed(second.result), 'no invalid_encrypted_content');
  t.equal(tc.mock.requests.at(-1)!.model, maker, 'the turn carrying its reasoning went to the deployment that made it');
  t.equal(tc.mock.rejectedReasoning.length, 0);
});

t.test('Codex CLI: a reasoning conversation across two org-bound deployments never gets invalid_encrypted_content', async (t) => {
  const cwd = workspace();
  const home = codexHome(ingresses[0], 'test/orgs');
  const config = join(home, 'config.toml');
  const configFor = (base: string) => writeFileSync(config, readFileSync(config, 'utf8').replace(/base_url = ".*"/, `base_url = "${base}/v1"`).replace(/model_catalog_url = ".*"/, `model_catalog_url = "${base}/v1/codex/models"`));
  const before = tc.mock.requests.length;
  const run = async (t: Test, args: string[]) => {
    const r = await runCodex(home, tc.key, cwd, args);
    t.equal(r.code, 0, r.code === 0 ? 'codex exited 0' : `codex exited ${r.code}: ${r.stderr.slice(-1500)}`);
    return r;
  };
  await run(t, ['Plan the refactor']);
  for (const [i, prompt] of ['Now the tests', 'And the docs'].entries()) {
    configFor(ingresses[(i + 1) % 2]); // every turn through the other ingress
    await run(t, ['resume', '--last', prompt]);
  }
  const turns = tc.mock.requests.slice(before);
  const homeDeployment = turns[0].model!;
  t.same([...new Set(turns.map((r) => r.model))], [homeDeployment], 'every turn went to one deployment');
  t.ok(turns.slice(1).every((r) => JSON.stringify(r.body.input).includes(`enc-${homeDeployment}-`)), 'later turns carried its reasoning back');
  t.equal(tc.mock.rejectedReasoning.length, 0, 'no invalid_encrypted_content');

  // Its deployment goes down: the next turn fails over, without the reasoning the other org would refuse.
  tc.mock.outage(homeDeployment, { status: 503 });
  t.teardown(() => tc.mock.outage(homeDeployment, null));
  const mark = tc.mock.requests.length;
  const last = await run(t, ['resume', '--last', 'Wrap up']);
  t.match(last.stdout, /Done: Wrap up/);
  const served = tc.mock.requests.slice(mark).filter((r) => r.model !== homeDeployment);
  t.equal(served.length, 1, 'the other deployment served the turn');
  t.notOk(JSON.stringify(served[0].body.input).includes('"type":"reasoning"'), 'without the first deployment\'s reasoning items');
  t.equal(tc.mock.rejectedReasoning.length, 0, 'still no invalid_encrypted_content');
});

t.test('a deployment answering 429 with Retry-After: 30 is skipped by every worker and ingress until then', async (t) => {
  tc.mock.outage('lim-primary', { status: 429, retryAfter: 30 });
  const first = await postResponses(ingresses[0], tc.key, { model: 'test/limited', input: 'hi', stream: true });
  t.ok(completed(first), 'failed over to the secondary');
  const r = await record('lim-primary');
  t.ok(r && r.cooldown_until - Date.now() > 28_000 && r.cooldown_until - Date.now() <= 30_000, 'Redis holds the cool-down for 30 s');
  tc.mock.outage('lim-primary', null); // it would answer now; the fleet still waits out the 30 s
  const mark = tc.mock.requests.length;
  for (let i = 0; i < 12; i++) t.ok(completed(await postResponses(ingresses[i % 2], tc.key, { model: 'test/limited', input: `hi ${i}`, stream: true })));
  t.same(tc.mock.requests.slice(mark).map((q) => q.model), Array(12).fill('lim-secondary'), 'no worker tried the primary again');

  // With no other deployment, the ingress answers 429 at once, with the time left.
  tc.mock.outage('lim-alone', { status: 429, retryAfter: 30 });
  const limited = await postResponses(ingresses[0], tc.key, { model: 'test/limited-alone', input: 'hi', stream: true });
  t.equal(limited.status, 429);
  tc.mock.outage('lim-alone', null);
  const at = tc.mock.requests.length;
  const again = await postResponses(ingresses[1], tc.key, { model: 'test/limited-alone', input: 'hi', stream: true });
  t.equal(again.status, 429, 'the other ingress knows too');
  t.ok(Number(again.headers.get('retry-after')) >= 28 && Number(again.headers.get('retry-after')) <= 30, `Retry-After ${again.headers.get('retry-after')}`);
  t.match((again.json as { error: { code: string; message: string } }).error, { code: 'rate_limit_exceeded', message: /Every deployment of model 'test\/limited-alone' is rate limited.*try again in \d+s/ });
  t.equal(tc.mock.requests.length, at, 'without calling the provider');
  await redis.hdel(HEALTH_KEY, 'lim-primary', 'lim-alone');
});

t.test('a deployment failing with 503 is ejected (latency stays within one attempt), probed, ejected for longer, and comes back', async (t) => {
  const ask = (i: number) => postResponses(ingresses[i % 2], tc.key, { model: 'test/failover', input: `q ${i}`, stream: true });
  const healthy: number[] = [];
  for (let i = 0; i < 6; i++) {
    const started = performance.now();
    t.ok(completed(await ask(i)));
    healthy.push(performance.now() - started);
  }
  t.same(tc.mock.requests.slice(-6).map((r) => r.model), Array(6).fill('fo-primary'));

  tc.mock.outage('fo-primary', { status: 503 });
  const mark = tc.mock.requests.length;
  const outage: number[] = [];
  for (let i = 0; i < 8; i++) {
    const started = performance.now();
    t.ok(completed(await ask(i)), 'served during the outage');
    outage.push(performance.now() - started);
  }
  const tried = tc.mock.requests.slice(mark).map((r) => r.model);
  t.equal(tried.filter((m) => m === 'fo-primary').length, 2, 'the primary was tried consecutive_5xx (2) times, then ejected');
  const r = await record('fo-primary');
  t.equal(statusOf(r, Date.now()).state, 'ejected');
  t.equal(r!.ejected_until - r!.ejected_at, 1000, 'for base_ejection_ms');
  const models = await api(tc.cluster.dashboardUrl, 'GET', '/api/v1/models', { key: tc.adminKey });
  const deployments = (models.body.data as Array<{ id: string; deployments: Array<{ id: string; routing: unknown }> }>).find((m) => m.id === 'test/failover')!.deployments;
  t.match(deployments, [
    { id: 'fo-primary', routing: { state: 'ejected', until: new Date(r!.ejected_until).toISOString(), consecutive_failures: 0, ejections: 1, last_error: /server_is_overloaded/ } },
    { id: 'fo-secondary', routing: { state: 'healthy', until: null, consecutive_failures: 0, ejections: 0, last_error: null } },
  ], 'the dashboard\'s Models API shows each deployment\'s state');
  for (const base of ingresses) {
    const text = await (await fetch(`${base}/metrics`)).text();
    t.match(text, /routerhub_deployment_state\{deployment="fo-primary",state="ejected"\} 1/, 'every ingress learned of the ejection (metrics)');
    t.match(text, /routerhub_deployment_state\{deployment="fo-secondary",state="healthy"\} 1/);
  }
  // A failed attempt costs less than a whole healthy request (the mock answers 503 at once): bound it by one.
  const worstHealthy = Math.max(...healthy);
  const failedAt = tried.map((m, i) => (m === 'fo-primary' ? i : -1)).filter((i) => i >= 0);
  t.ok(outage.every((ms) => ms <= 2 * worstHealthy + 50), `outage latencies ${outage.map((m) => m.toFixed(0)).join(', ')} ms within one attempt of healthy ${healthy.map((m) => m.toFixed(0)).join(', ')} ms`);
  t.ok(outage.slice(failedAt.length).every((ms) => ms <= worstHealthy + 50), 'once ejected, no attempt is wasted on it');

  // Still down when the ejection ends: the half-open probe fails and ejects it for twice as long.
  await sleep(1100);
  const probeMark = tc.mock.requests.length;
  t.ok(completed(await ask(0)));
  t.same(tc.mock.requests.slice(probeMark).map((q) => q.model), ['fo-primary', 'fo-secondary'], 'one probe, then the secondary');
  const again = await record('fo-primary');
  t.equal(again!.ejected_until - again!.ejected_at, 2000, 'the second ejection in a row lasts 2 × base');
  t.equal(again!.ejections, 2);

  // Recovered: after the ejection, the probe succeeds and the primary serves again.
  tc.mock.outage('fo-primary', null);
  await sleep(2100);
  const backMark = tc.mock.requests.length;
  for (let i = 0; i < 4; i++) t.ok(completed(await ask(i)));
  t.same(tc.mock.requests.slice(backMark).map((q) => q.model), Array(4).fill('fo-primary'), 'the primary is back');
  t.equal(statusOf(await record('fo-primary'), Date.now()).state, 'healthy');
});

t.test('the shared record: at most max_ejection_percent ejected, a 429 without Retry-After backs off, one probe at a time', async (t) => {
  const health = new DeploymentHealth(redis, { pollMs: 60_000, probeMs: 5_000 });
  const other = new DeploymentHealth(redis, { pollMs: 60_000, probeMs: 5_000 });
  t.teardown(async () => {
    health.stop();
    other.stop();
    await redis.hdel(HEALTH_KEY, 'pct-1', 'pct-2', 'pct-3');
    await redis.del('rh:health:probe:pct-1');
  });
  await Promise.all([health.ready, other.ready]);
  const settings = { ...DEFAULT_HEALTH, consecutive_5xx: 2, max_ejection_percent: 50 };
  const pool = ['pct-1', 'pct-2', 'pct-3'];
  const fail = { kind: 'failed', error: 'upstream_error: HTTP 500' } as const;
  for (let i = 0; i < 2; i++) await health.report('pct-1', fail, settings, pool);
  t.equal(health.status('pct-1', Date.now()).state, 'ejected', 'the first is ejected (one always may be)');
  for (let i = 0; i < 3; i++) await health.report('pct-2', fail, settings, pool);
  t.equal(health.status('pct-2', Date.now()).state, 'healthy', 'a second would make 2 of 3 (67% > 50%): not ejected');
  t.equal((await record('pct-2'))!.failures, 3, 'its failures still count');
  t.ok(await waitUntilState(other, 'pct-1', 'ejected'), 'another process learned of the ejection by pub/sub');

  await health.report('pct-3', { kind: 'rate_limited', retryAfterSeconds: null }, settings, pool);
  const cooling = (await record('pct-3'))!.cooldown_until - Date.now();
  t.ok(cooling > 4000 && cooling <= 5000, `a 429 without Retry-After cools down for rate_limit_backoff_ms (${cooling} ms left)`);

  await redis.hset(HEALTH_KEY, 'pct-1', JSON.stringify({ ...(await record('pct-1')), ejected_until: Date.now() - 1 }));
  await health.refresh();
  await other.refresh();
  t.equal(health.status('pct-1', Date.now()).state, 'half_open');
  t.same([await health.claimProbe('pct-1', 'w1'), await other.claimProbe('pct-1', 'w2')], [true, false], 'one probe at a time');
  await health.report('pct-1', { kind: 'ok' }, settings, pool);
  t.equal(health.status('pct-1', Date.now()).state, 'healthy', 'a successful probe brings it back');
  t.equal(await redis.exists('rh:health:probe:pct-1'), 0, 'and frees the probe');
});

async function waitUntilState(h: DeploymentHealth, id: string, state: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if (h.status(id, Date.now()).state === state) return true;
    await sleep(25);
  }
  return false;
}
