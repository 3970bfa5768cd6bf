// Request headers the ingress's HTTP parser (uWebSockets.js 20.30) cannot answer, and the load
// balancer that can: a real haproxy running deploy/haproxy.cfg as the launcher runs it, in front of two real
// ingresses. Direct to an ingress, the compiled limits are pinned here as the README documents
// them, so that an upgrade of uWS that changes them fails this test instead of going unnoticed.
import t from 'tap';
import { requestHeadersTooLarge } from '../../libs/protocol/errors';
import { postResponses, startTestCluster, terminals, type TestCluster } from '../../libs/testing/cluster';
import { rawGet, rawRequest } from '../../libs/testing/raw-http';

const MODEL = 'test/model';
/** The policy deploy/haproxy.cfg enforces. */
const MAX_FIELDS = 40;
const MAX_HEADER_BYTES = 3584;

let tc: TestCluster;
let lbPort: number;
let lb: string;

/** `n` header lines, `x-h0: v` …, to add to a request that already has host and connection. */
const fields = (n: number) => Array.from({ length: n }, (_, i) => `x-h${i}: v`);

t.before(async () => {
  // HAProxy as the launcher runs it: deploy/haproxy.cfg with a `server` line per ingress appended.
  tc = await startTestCluster(() => [{ id: MODEL, deployments: [{ provider: 'openai-responses' }] }], { ingresses: 2, lb: 'haproxy' });
  lbPort = tc.cluster.port;
  lb = tc.cluster.baseUrl;
});
t.teardown(() => tc?.stop());
t.beforeEach(() => tc.mock.reset());

t.test('through haproxy: a header name with an underscore is dropped and the request served', async (t) => {
  const health = await rawRequest(lbPort, rawGet('/healthz', ['session_id: 0199-abc']), { timeoutMs: 5000 });
  t.equal(health.status, 200, `/healthz answered 200 (${health.raw.slice(0, 120)})`);
  t.ok(health.ms < 2000, `at once (${health.ms} ms)`);

  tc.mock.script({ parts: [{ type: 'text', text: 'served with session_id' }] });
  const r = await postResponses(lb, tc.key, { model: MODEL, stream: true, input: 'hi' }, { headers: { session_id: '0199-abc', 'x.dotted': '1', 'session-id': '0199-abc' } });
  t.equal(r.status, 200);
  t.equal(terminals(r.events).at(-1)?.data.type, 'response.completed', 'the stream completed');
  t.same(r.events.filter((e) => e.data.type === 'response.output_text.delta').map((e) => e.data.delta).join(''), 'served with session_id');
});

t.test('through haproxy: too many or too large headers get a 431 in the OpenAI shape', async (t) => {
  const expected = requestHeadersTooLarge(MAX_FIELDS, MAX_HEADER_BYTES);
  t.equal(expected.status, 431);
  const cases: Array<[string, string[]]> = [
    // HAProxy does not count `connection` (hop-by-hop): host and these make 41.
    [`${MAX_FIELDS + 1} header fields`, fields(MAX_FIELDS)],
    ['49 header fields (one past what uWS takes)', fields(47)],
    ['500 header fields', fields(498)],
    ['a 5 KB header', [`x-big: ${'a'.repeat(5000)}`]],
  ];
  for (const [name, lines] of cases) {
    const r = await rawRequest(lbPort, rawGet('/healthz', lines), { timeoutMs: 5000 });
    t.equal(r.status, 431, `${name}: 431 (${r.raw.slice(0, 80)})`);
    t.match(r.raw, /\r\ncontent-type: application\/json\r\n/i, `${name}: JSON`);
    t.same(JSON.parse(r.body || 'null'), { error: expected.body }, `${name}: the body of requestHeadersTooLarge()`);
  }
  // At the policy's bounds the request is served.
  t.equal((await rawRequest(lbPort, rawGet('/healthz', fields(MAX_FIELDS - 1)), { timeoutMs: 5000 })).status, 200, `${MAX_FIELDS} header fields: 200`);
  const padding = MAX_HEADER_BYTES - 200;
  t.equal((await rawRequest(lbPort, rawGet('/healthz', [`x-big: ${'a'.repeat(padding)}`]), { timeoutMs: 5000 })).status, 200, `${padding} bytes in one header: 200`);
});

t.test('through haproxy: SSE events are not buffered', async (t) => {
  // Ten one-character deltas, each upstream event 100 ms after the last: the first delta must reach
  // the client long before the last is written.
  tc.mock.script({ parts: [{ type: 'text', text: '0123456789' }], chunkChars: 1, delayMs: 100 });
  const started = Date.now();
  let firstDeltaMs = -1;
  const r = await postResponses(lb, tc.key, { model: MODEL, stream: true, input: 'slowly' }, {
    onEvent: (e) => void (e.data.type === 'response.output_text.delta' && firstDeltaMs < 0 && (firstDeltaMs = Date.now() - started)),
  });
  const totalMs = Date.now() - started;
  t.equal(terminals(r.events).at(-1)?.data.type, 'response.completed');
  t.ok(firstDeltaMs >= 0 && firstDeltaMs < totalMs - 700, `the first delta after ${firstDeltaMs} ms of ${totalMs} ms`);
});

t.test('direct to an ingress: the compiled limits of uWebSockets.js, as the README documents them', async (t) => {
  const port = tc.cluster.ingresses[0].port;
  // Run together: two of them last until the ingress's ~10 s idle close.
  const [underscore, fortyNine, fortyEight, splitHead, oneReadHead] = await Promise.all([
    rawRequest(port, rawGet('/healthz', ['session_id: 0199-abc']), { timeoutMs: 20_000 }),
    rawRequest(port, rawGet('/healthz', fields(47)), { timeoutMs: 20_000 }),
    rawRequest(port, rawGet('/healthz', fields(46)), { timeoutMs: 5000 }),
    rawRequest(port, [rawGet('/healthz', [`x-big: ${'a'.repeat(4100)}`]).slice(0, -4), '\r\n\r\n'], { timeoutMs: 5000, gapMs: 100 }),
    rawRequest(port, rawGet('/healthz', [`x-big: ${'a'.repeat(8000)}`]), { timeoutMs: 5000 }),
  ]);
  t.match(underscore, { status: null, raw: '' }, 'an underscore in a header name: no answer');
  t.ok(underscore.ended !== 'timeout' && underscore.ms > 5000, `closed by the ingress's idle timer, after ${underscore.ms} ms`);
  t.match(fortyNine, { status: null, raw: '' }, '49 header fields: no answer');
  t.ok(fortyNine.ended !== 'timeout' && fortyNine.ms > 5000, `closed by the idle timer, after ${fortyNine.ms} ms`);
  t.equal(fortyEight.status, 200, '48 header fields: served');
  t.match(splitHead, { status: null, raw: '' }, 'a head over 4 KiB in two reads: no answer');
  t.ok(splitHead.ended !== 'timeout' && splitHead.ms < 2000, `closed at once (${splitHead.ms} ms)`);
  t.equal(oneReadHead.status, 200, 'an 8 KB head in one read: served');
});
