// `npm run doctor` against a real cluster in front of mock upstreams that check credentials and model
// names like real providers: every healthy deployment of each family reports ok, and a wrong key, a
// wrong base URL, an unset key variable and a model the upstream does not know each get their fix.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { freePort, paths, startCluster, type Cluster } from '../../deploy/cluster';
import { MockUpstream } from '../../libs/providers/mock/server';
import type { MockTurn } from '../../libs/providers/mock/script';
import type { MockRequestView } from '../../libs/providers/mock/wire';
import { DEPLOYMENT_HEADER } from '../../libs/routing/catalog';
import { generateKey } from '../../libs/store/keys';
import { api, mockCatalog, postResponses } from '../../libs/testing/cluster';

const GOOD_KEY = 'sk-upstream-good-0123456789';

/** A reasoning model that calls the shell tool, then answers from its output, with the provider's usage. */
function doctorTurn(view: MockRequestView, _wire: unknown, model: string): MockTurn {
  // A chat server that ignores stream_options.include_usage (RouterHub then bills an estimate).
  const omitUsage = model === 'chat-nousage-0';
  if (view.toolResults.length > 0) {
    return { parts: [{ type: 'reasoning', text: 'The command printed its name.', signature: 'sig-2' }, { type: 'text', text: `It printed ${view.toolResults[0].trim()}.` }], usage: { input: 1300, cached: 1024, output: 14, reasoning: 5 }, omitUsage };
  }
  return { parts: [{ type: 'reasoning', text: 'I should run the command.', signature: 'sig-1' }, { type: 'function_call', name: 'exec_command', arguments: JSON.stringify({ cmd: 'echo routerhub-doctor' }) }], usage: { input: 1200, output: 22, reasoning: 6 }, omitUsage };
}

let mock: MockUpstream;
let cluster: Cluster;
let modelsPath: string;
let deadUrl: string;
const devKey = generateKey();
const adminKey = generateKey();

t.before(async () => {
  const good = ['responses-0', 'anthropic-0', 'gemini-0', 'chat-0', 'chat-nousage-0', 'broken-0', 'broken-1', 'broken-2'];
  mock = await MockUpstream.start({ defaultTurn: doctorTurn, requireKey: GOOD_KEY, knownModels: good });
  deadUrl = `http://127.0.0.1:${await freePort()}`;
  const keyed = { api_key_env: 'DOCTOR_GOOD_KEY' };
  modelsPath = mockCatalog(mock.url, [
    { id: 'doc/responses', reasoning: true, deployments: [{ provider: 'openai-responses', ...keyed }] },
    { id: 'doc/anthropic', reasoning: true, deployments: [{ provider: 'anthropic', ...keyed }] },
    { id: 'doc/gemini', reasoning: true, deployments: [{ provider: 'gemini', ...keyed }] },
    { id: 'doc/chat', deployments: [{ provider: 'openai-chat', ...keyed }] },
    { id: 'doc/chat-nousage', deployments: [{ provider: 'openai-chat', id: 'no-usage', ...keyed }] },
    { id: 'doc/broken', deployments: [
      { provider: 'openai-responses', id: 'wrong-key', api_key_env: 'DOCTOR_WRONG_KEY' },
      { provider: 'openai-responses', id: 'wrong-url', base_url: `${deadUrl}/v1`, ...keyed },
      { provider: 'openai-responses', id: 'unset-key', api_key_env: 'DOCTOR_UNSET_KEY' },
      { provider: 'openai-responses', id: 'unknown-model', model: 'no-such-model', ...keyed },
    ] },
  ]);
  cluster = await startCluster({ devKey, adminKey, demoUpstream: false, workers: 2, modelsPath, env: { DOCTOR_GOOD_KEY: GOOD_KEY, DOCTOR_WRONG_KEY: 'sk-upstream-wrong-9876543210' } });
});
t.teardown(async () => {
  await cluster?.stop();
  await mock?.close();
});

function doctor(env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(paths.DIST, 'services', 'doctor', 'main.js')], {
      env: { PATH: process.env.PATH ?? '', ROUTERHUB_URL: cluster.baseUrl, ROUTERHUB_API_KEY: adminKey, ROUTERHUB_MODELS: modelsPath, ROUTERHUB_DOCTOR_TIMEOUT_MS: '20000', ...env },
      timeout: 90_000,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr }));
  });
}

const rowOf = (out: string, id: string) => out.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';

t.test('every healthy deployment of each family is ok; each broken one gets its fix', async (t) => {
  const { code, out } = await doctor({ REDIS_URL: cluster.redisUrl });
  t.equal(code, 1, 'exit 1: some deployment needs a fix');
  for (const family of ['openai-responses/responses-0', 'anthropic/anthropic-0', 'gemini/gemini-0', 'openai-chat/chat-0']) {
    const row = rowOf(out, `${family}@${new URL(mock.url).host}`);
    t.match(row, /^\S+\s+doc\/\S+\s+ok\s+ok\s+\d+ ms\s+ok\s+(ok|–)\s+ok\s+1024$/, `${family}: reachable, auth, first token, tool call, reasoning, usage, cached tokens`);
  }
  t.match(rowOf(out, `openai-responses/responses-0@${new URL(mock.url).host}`), /ok\s+ok\s+ok\s+1024$/, 'reasoning carried into the second turn');
  t.match(out, '5 of 9 deployments need a fix');
  t.match(rowOf(out, 'no-usage'), /^no-usage\s+doc\/chat-nousage\s+ok\s+ok\s+\d+ ms\s+ok\s+–\s+FAIL/, 'usage RouterHub estimated is not usage reported');
  t.match(out, /- no-usage: .*reported no usage, so RouterHub bills an estimate: .*stream_options.include_usage/);
  t.match(rowOf(out, 'wrong-key'), /^wrong-key\s+doc\/broken\s+ok\s+FAIL/, 'wrong key: reachable, auth failed');
  t.match(out, /- wrong-key: .*rejected the key in DOCTOR_WRONG_KEY: put a valid openai-responses key in DOCTOR_WRONG_KEY in the workers' environment/);
  t.match(rowOf(out, 'wrong-url'), /^wrong-url\s+doc\/broken\s+FAIL/, 'wrong URL: unreachable');
  t.match(out, new RegExp(`- wrong-url: Nothing answers at base_url ${deadUrl}/v1 .*fix the deployment's base_url`));
  t.match(out, /- unset-key: Set DOCTOR_UNSET_KEY in the workers' environment/);
  t.match(out, /- unknown-model: .* does not know the model 'no-such-model' \(HTTP 404\): fix the deployment's model name/);
  t.notOk(out.includes(GOOD_KEY) || out.includes(adminKey), 'no key in the output');

  // The run feeds the dashboard's Models page.
  const models = await api(cluster.dashboardUrl, 'GET', '/api/v1/models', { key: devKey });
  t.equal(models.status, 200);
  t.type(models.body.doctor_ran_at, 'string');
  const deployments = (models.body.data as Array<{ deployments: Array<{ id: string; doctor: { ok: boolean; fix: string | null } | null }> }>).flatMap((m) => m.deployments);
  t.equal(deployments.filter((d) => d.doctor?.ok).length, 4);
  t.match(deployments.find((d) => d.id === 'unset-key')?.doctor?.fix, /Set DOCTOR_UNSET_KEY/);
});

t.test('a wrong ROUTERHUB_URL or a plain API key: the fix names the variable', async (t) => {
  const dead = await doctor({ ROUTERHUB_URL: deadUrl, ROUTERHUB_DOCTOR_MODELS: 'doc/chat' });
  t.equal(dead.code, 1);
  t.match(dead.out, new RegExp(`Nothing answers at ROUTERHUB_URL \\(${deadUrl}\\).*set ROUTERHUB_URL`));
  const plain = await doctor({ ROUTERHUB_API_KEY: devKey, ROUTERHUB_DOCTOR_MODELS: 'doc/chat' });
  t.equal(plain.code, 1);
  t.match(plain.out, /doctor needs a management key/);
  const none = await doctor({ ROUTERHUB_API_KEY: '' });
  t.equal(none.code, 2);
  t.match(none.out, /Set ROUTERHUB_API_KEY to a management key/);
});

t.test('x-routerhub-deployment: management keys only, and only deployments of the model', async (t) => {
  const body = { model: 'doc/chat', stream: true, input: 'hello' };
  const host = new URL(mock.url).host;
  const plain = await postResponses(cluster.baseUrl, devKey, body, { headers: { [DEPLOYMENT_HEADER]: `openai-chat/chat-0@${host}` } });
  t.equal(plain.status, 403);
  t.match(plain.json, { error: { code: 'deployment_pin_not_allowed', param: DEPLOYMENT_HEADER } });
  const unknown = await postResponses(cluster.baseUrl, adminKey, body, { headers: { [DEPLOYMENT_HEADER]: 'wrong-key' } });
  t.equal(unknown.status, 400);
  t.match(unknown.json, { error: { code: 'unknown_deployment', param: DEPLOYMENT_HEADER, message: /has no deployment 'wrong-key'.*openai-chat\/chat-0@/ } });
  const unpinned = await postResponses(cluster.baseUrl, adminKey, body);
  t.equal(unpinned.status, 401, 'a management key without the header is still refused');
  const pinned = await postResponses(cluster.baseUrl, adminKey, body, { headers: { [DEPLOYMENT_HEADER]: `openai-chat/chat-0@${host}` } });
  t.equal(pinned.status, 200);
  t.equal(pinned.events.at(-1)?.data.type, 'response.completed');
});
