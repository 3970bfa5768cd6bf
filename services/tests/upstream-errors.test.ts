// Provider errors through the real cluster: a rate limit recorded inside each family's stream reaches
// the client as the same 429 with Retry-After; a base_url in the provider SDK's form works; a wrong
// base_url gets a 502 that says so and names the URL tried, without the key it carried.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { fixturePath } from '../../libs/providers/replay';
import { postResponses, startTestCluster, terminals, type TestCluster } from '../../libs/testing/cluster';

const SECRET = 'AIzaRouterHubTestSecret123';

// The recorded in-stream rate limit of each family, and the wait it names.
const RATE_LIMITED = [
  { family: 'anthropic', base: '/rl/v1', file: 'rh-rate-limit-midstream.chunks.txt', wait: 1 },
  { family: 'gemini', base: '/rl/v1beta', file: 'rh-rate-limit-midstream.chunks.txt', wait: 6 },
  { family: 'openai-responses', base: '/rl/v1', file: 'rh-rate-limit-midstream.chunks.txt', wait: 4 },
  { family: 'openai-chat', base: '/rl/v1', file: 'rh-openrouter-rate-limit.chunks.txt', wait: 9 },
] as const;

/** A provider stand-in on loopback: replays a recorded stream per family, and 404s any other path the way Google does. */
function startRecordedUpstream(): Promise<{ server: Server; url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      const recorded = path.startsWith('/rl/') ? RATE_LIMITED.find((r) => path.endsWith({ anthropic: '/messages', gemini: ':streamGenerateContent', 'openai-responses': '/responses', 'openai-chat': '/chat/completions' }[r.family])) : undefined;
      if (!recorded) {
        res.writeHead(404, { 'content-type': 'text/html; charset=UTF-8' });
        return void res.end(`<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That’s an error.</ins><p>The requested URL <code>${path}</code> was not found on this server. <ins>That’s all we know.</ins>`);
      }
      const lines = readFileSync(fixturePath(recorded.family, recorded.file), 'utf8').split('\n').filter((l) => l.trim() !== '');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = (data: string) => (recorded.family === 'anthropic' ? `event: ${(JSON.parse(data) as { type: string }).type}\n` : '');
      res.end(lines.map((data) => `${event(data)}data: ${data}\n\n`).join(''));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths })));
}

let tc: TestCluster;
let upstream: Awaited<ReturnType<typeof startRecordedUpstream>>;

t.before(async () => {
  upstream = await startRecordedUpstream();
  tc = await startTestCluster((mockUrl) => [
    ...RATE_LIMITED.map((r) => ({ id: `rl/${r.family}`, deployments: [{ provider: r.family, base_url: `${upstream.url}${r.base}` }] })),
    // The SDK forms: no version in the base_url.
    { id: 'sdk/anthropic', deployments: [{ provider: 'anthropic', base_url: mockUrl }] },
    { id: 'sdk/gemini', deployments: [{ provider: 'gemini', base_url: `${mockUrl}/` }] },
    // A base_url with a key in its query and a path the provider does not serve.
    { id: 'wrong/gemini', deployments: [{ provider: 'gemini', base_url: `${upstream.url}/wrong/v1beta?key=${SECRET}`, model: 'gemini-2.5-pro' }] },
  ]);
});
t.teardown(async () => {
  await tc?.stop();
  await new Promise((resolve) => upstream?.server.close(resolve));
});

t.test('an in-stream rate limit is a 429 with Retry-After, whichever family sent it', async (t) => {
  for (const r of RATE_LIMITED) {
    const res = await postResponses(tc.cluster.baseUrl, tc.key, { model: `rl/${r.family}`, stream: false, input: 'hi' });
    t.equal(res.status, 429, `${r.family}: status`);
    t.equal(res.headers.get('retry-after'), String(r.wait), `${r.family}: Retry-After`);
    t.match(res.json, { error: { code: 'rate_limit_exceeded', type: 'rate_limit_error', message: new RegExp(`try again in ${r.wait}s`) } }, `${r.family}: body`);

    // Streaming, the same failure arrives as the stream's terminal event, as Codex reads it.
    const streamed = await postResponses(tc.cluster.baseUrl, tc.key, { model: `rl/${r.family}`, stream: true, input: 'hi' });
    // The upstream answered 200 before its error, so the client's stream has started too.
    t.equal(streamed.status, 200, `${r.family}: streamed`);
    const end = terminals(streamed.events);
    t.equal(end.length, 1);
    t.match(end[0]?.data, { type: 'response.failed', response: { error: { code: 'rate_limit_exceeded', message: new RegExp(`try again in ${r.wait}s`) } } }, `${r.family}: streamed`);
  }
});

t.test('base_url in the SDK form (no version) reaches the provider\'s versioned path', async (t) => {
  tc.mock.reset();
  for (const model of ['sdk/anthropic', 'sdk/gemini']) {
    tc.mock.script({ parts: [{ type: 'text', text: 'ok' }] });
    const res = await postResponses(tc.cluster.baseUrl, tc.key, { model, stream: false, input: 'hi' });
    t.equal(res.status, 200, model);
    t.match(res.json, { status: 'completed', output: [{ type: 'message', content: [{ text: 'ok' }] }] });
  }
  t.same(tc.mock.requests.map((r) => r.path), ['/v1/messages', '/v1beta/models/gemini-0:streamGenerateContent']);
});

t.test('a wrong base_url: a 502 that says the path is wrong and names the URL, never the key', async (t) => {
  const res = await postResponses(tc.cluster.baseUrl, tc.key, { model: 'wrong/gemini', stream: false, input: 'hi' });
  t.equal(res.status, 502);
  t.match(res.json, { error: { code: 'upstream_path_not_found', type: 'upstream_error' } });
  const message = (res.json as { error: { message: string } }).error.message;
  t.match(message, /base_url is wrong/);
  t.match(message, `${upstream.url}/wrong/v1beta/models/gemini-2.5-pro:streamGenerateContent?key=REDACTED&alt=sse`);
  t.notMatch(res.raw, SECRET, 'the key the base_url carried is not in the answer');
  t.ok(upstream.paths.some((p) => p.includes(SECRET)), 'the upstream did get the key');
});
