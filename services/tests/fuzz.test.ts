// A seeded fuzz of the ingress: 3,000 mutations of real Codex request bodies through every provider
// family, and raw HTTP requests no client library would send. Asserts: no status >= 500, no hang, no
// reset of a well-formed request, every 4xx body in OpenAI's error shape, every stream that reached
// the (mock) upstream ends with a terminal event, and the ingress holds nothing afterwards.
// Replay: ROUTERHUB_FUZZ_SEED=<seed> (printed) and ROUTERHUB_FUZZ_CASE=<index> for one case.
import t from 'tap';
import { codexRequest } from '../../libs/providers/replay';
import { everyFamily, familyCatalog, startTestCluster, terminals, type TestCluster } from '../../libs/testing/cluster';
import { boundedResponses, openAiErrorShape, SeededRandom, waitIdle, watchHealth, type BoundedResult } from '../../libs/testing/faults';
import { codexSecondTurn, mutateBody } from '../../libs/testing/fuzz';
import { rawExchange, rawMessage, type RawExchange, type RawPiece } from '../../libs/testing/raw-http';

const SEED = Number(process.env.ROUTERHUB_FUZZ_SEED ?? 20_261_206);
const ONLY = process.env.ROUTERHUB_FUZZ_CASE === undefined ? null : Number(process.env.ROUTERHUB_FUZZ_CASE);
const CASES = 3000;
const CONCURRENCY = 8;
const CASE_DEADLINE_MS = 20_000;
/** The run stops taking new cases after this; the count is asserted, so a slow machine fails loudly rather than hangs CI. */
const BUDGET_MS = 150_000;

const MODELS = everyFamily('fuzz');

let tc: TestCluster;
/** The ingress itself (the body fuzz goes straight to it; the raw cases both ways). */
let ingress: string;

t.before(async () => {
  // Behind the load balancer an operator deploys (deploy/haproxy.cfg), which the raw cases go through too.
  tc = await startTestCluster((url) => familyCatalog(url, MODELS), { lb: 'haproxy' });
  ingress = tc.cluster.ingresses[0].baseUrl;
});
t.teardown(() => tc.stop());

/** What is wrong with the answer to a fuzzed body, or null. */
function problemOf(r: BoundedResult): string | null {
  if (r.hung) return `hung (${r.ms} ms)`;
  if (r.error) return `network error: ${r.error}`;
  const status = r.status!;
  if (status >= 500) return `${status}: ${JSON.stringify(r.json).slice(0, 300)}`;
  if (status >= 400) return openAiErrorShape(r.json) ? null : `${status} body not in OpenAI's error shape: ${JSON.stringify(r.json).slice(0, 200)}`;
  if (r.events.length === 0) return r.json?.status === 'completed' || r.json?.status === 'incomplete' ? null : `200 without a completed Response: ${JSON.stringify(r.json).slice(0, 200)}`;
  const ends = terminals(r.events);
  if (ends.length !== 1) return `${ends.length} terminal events`;
  if (ends[0].data.type === 'response.failed') return `response.failed: ${JSON.stringify((ends[0].data.response as { error: unknown }).error).slice(0, 300)}`;
  return null;
}

t.test(`${CASES} mutated Codex bodies (seed ${SEED})`, async (t) => {
  const bases = [codexRequest(), codexSecondTurn(codexRequest()), { model: 'x', input: 'say hi', stream: true }, { model: 'x', input: 'say hi' }];
  const health = watchHealth(ingress, 250);
  const startedAt = Date.now();
  const statuses: Record<string, number> = {};
  const problems: string[] = [];
  let next = ONLY ?? 0;
  const last = ONLY === null ? CASES : ONLY + 1;
  let done = 0;
  let slowest = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < last && Date.now() - startedAt < BUDGET_MS) {
      const i = next++;
      // One generator per case, so that a case replays alone from the seed and its index.
      const rng = new SeededRandom(SEED + i * 7919);
      const target = rng.pick(MODELS);
      const fuzzed = mutateBody(rng.pick(bases) as Parameters<typeof mutateBody>[0], target.model, rng);
      const r = await boundedResponses(ingress, tc.key, fuzzed.body, CASE_DEADLINE_MS);
      const key = r.status === null ? (r.hung ? 'hung' : 'network') : r.status === 200 ? (terminals(r.events)[0]?.data.type ?? 'json') : String(r.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      slowest = Math.max(slowest, r.ms);
      const problem = problemOf(r);
      if (problem) problems.push(`case ${i} (seed ${SEED}, ${target.family}, ${fuzzed.body.byteLength} bytes; ${fuzzed.mutations.join(' + ')}): ${problem}`);
      done++;
    }
  }));
  const record = await health.stop();
  t.comment(`${done} cases in ${Date.now() - startedAt} ms (slowest ${slowest} ms): ${JSON.stringify(statuses)}; ${problems.length} problems`);
  t.equal(done, last - (ONLY ?? 0), `every case ran within ${BUDGET_MS / 1000} s`);
  t.same(problems.slice(0, 25), [], `no 5xx, hang, reset, failed stream or misshapen error (seed ${SEED}; ${problems.length} problems, first 25 shown)`);
  t.same(record.failures, [], `/healthz answered all ${record.checks} checks (slowest ${record.worstMs} ms)`);
  const idle = await waitIdle(ingress, 10_000);
  t.ok(idle.idle, `waiting bytes and active streams back to 0 (${idle.waiting}, ${idle.active})`);
});

interface RawCase {
  name: string;
  pieces: RawPiece[];
  /** Well-formed HTTP: it must get an answer (no reset, no silent close). */
  wellFormed: boolean;
  /** Answers expected (pipelining, 100-continue). */
  expect?: number;
  /**
   * Well-formed, but what the ingress's HTTP parser (uWebSockets.js 20.30) answers with silence when
   * it gets the request directly: the load balancer in front (deploy/haproxy.cfg) must answer it.
   */
  uwsSilent?: boolean;
  /** More than HAProxy 2.6's parser holds (a 16 KiB buffer): it answers its own HTML 400, which no rule can change before HAProxy 3.2. */
  lbParserLimit?: boolean;
}

/** Raw HTTP cases: bad request lines, lying lengths, chunked bodies, odd headers, slowloris, pipelining, garbage. */
function rawCases(key: string): RawCase[] {
  const valid = JSON.stringify({ model: 'fuzz/responses', input: 'hello', stream: false });
  const post = (headers: string[], body: string) => rawMessage(['POST /v1/responses HTTP/1.1', 'Host: 127.0.0.1', `Authorization: Bearer ${key}`, 'Content-Type: application/json', ...headers], body);
  const get = (path: string, headers: string[] = []) => rawMessage([`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headers]);
  const rng = new SeededRandom(SEED);
  return [
    { name: 'a valid POST, for reference', pieces: [post([`Content-Length: ${valid.length}`], valid)], wellFormed: true },
    { name: 'a valid POST with a chunked body', pieces: [post(['Transfer-Encoding: chunked'], `${valid.length.toString(16)}\r\n${valid}\r\n0\r\n\r\n`)], wellFormed: true },
    { name: 'a chunked body sent in pieces', pieces: [post(['Transfer-Encoding: chunked'], ''), { pauseMs: 100 }, `5\r\n${valid.slice(0, 5)}\r\n`, { pauseMs: 100 }, `${(valid.length - 5).toString(16)}\r\n${valid.slice(5)}\r\n0\r\n\r\n`], wellFormed: true },
    { name: 'a chunked body with a bad chunk size', pieces: [post(['Transfer-Encoding: chunked'], `zz\r\n${valid}\r\n0\r\n\r\n`)], wellFormed: false },
    { name: 'Expect: 100-continue', pieces: [post([`Content-Length: ${valid.length}`, 'Expect: 100-continue'], valid)], wellFormed: true, expect: 2 },
    { name: 'Content-Length: abc', pieces: [post(['Content-Length: abc'], valid)], wellFormed: false },
    { name: 'Content-Length: -5', pieces: [post(['Content-Length: -5'], valid)], wellFormed: false },
    { name: 'two different Content-Lengths', pieces: [post([`Content-Length: ${valid.length}`, 'Content-Length: 3'], valid)], wellFormed: false },
    { name: 'Content-Length shorter than the body', pieces: [post(['Content-Length: 10'], valid)], wellFormed: false },
    { name: 'Content-Length longer than the body, then silence', pieces: [post([`Content-Length: ${valid.length + 100}`], valid)], wellFormed: false },
    { name: 'Content-Length: 0', pieces: [post(['Content-Length: 0'], '')], wellFormed: true },
    { name: 'a POST without a length', pieces: [post([], '')], wellFormed: true },
    { name: 'Content-Length just past the body limit', pieces: [post(['Content-Length: 9000000'], valid)], wellFormed: true },
    { name: 'Content-Length of 100 GB', pieces: [post(['Content-Length: 99999999999'], valid)], wellFormed: true, uwsSilent: true },
    { name: 'an underscore in a header name, on /healthz', pieces: [get('/healthz', ['session_id: 01a20fb9'])], wellFormed: true, uwsSilent: true },
    { name: 'an underscore in a header name, on /v1/responses', pieces: [post([`Content-Length: ${valid.length}`, 'session_id: 01a20fb9'], valid)], wellFormed: true, uwsSilent: true },
    { name: '40 headers', pieces: [get('/healthz', Array.from({ length: 40 }, (_, i) => `X-Extra-${i}: ${i}`))], wellFormed: true },
    { name: '60 headers', pieces: [get('/healthz', Array.from({ length: 60 }, (_, i) => `X-Extra-${i}: ${i}`))], wellFormed: true, uwsSilent: true },
    { name: '200 headers on /v1/responses', pieces: [post([`Content-Length: ${valid.length}`, ...Array.from({ length: 200 }, (_, i) => `X-Extra-${i}: ${i}`)], valid)], wellFormed: true, uwsSilent: true },
    { name: 'a 64 KB header value', pieces: [get('/healthz', [`X-Big: ${'b'.repeat(64 * 1024)}`])], wellFormed: true, lbParserLimit: true },
    { name: 'a 16 KB URL', pieces: [get(`/healthz?${'q'.repeat(16 * 1024)}`)], wellFormed: true, lbParserLimit: true },
    { name: 'a header without a colon', pieces: [get('/healthz', ['NoColonHere'])], wellFormed: false },
    { name: 'an obsolete folded header', pieces: [get('/healthz', ['X-Folded: a', ' continued'])], wellFormed: false },
    { name: 'a NUL in a header value', pieces: [get('/healthz', ['X-Nul: a\u0000b'])], wellFormed: false },
    { name: 'no Host header', pieces: ['GET /healthz HTTP/1.1\r\n\r\n'], wellFormed: true, uwsSilent: true },
    { name: 'HTTP/1.0', pieces: ['GET /healthz HTTP/1.0\r\n\r\n'], wellFormed: true, uwsSilent: true },
    { name: 'absolute-form URL', pieces: [get('http://127.0.0.1/healthz')], wellFormed: true, uwsSilent: true },
    { name: 'OPTIONS *', pieces: ['OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'], wellFormed: true, uwsSilent: true },
    { name: 'DELETE /v1/responses', pieces: [rawMessage(['DELETE /v1/responses HTTP/1.1', 'Host: x'])], wellFormed: true },
    { name: 'a lowercase method', pieces: ['get /healthz HTTP/1.1\r\nHost: x\r\n\r\n'], wellFormed: false },
    { name: 'HTTP/9.9', pieces: ['GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'], wellFormed: false },
    { name: 'a request line without a version', pieces: ['GET /healthz\r\n\r\n'], wellFormed: false },
    { name: 'a bare line', pieces: ['GARBAGE\r\n\r\n'], wellFormed: false },
    { name: 'the HTTP/2 preface', pieces: ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'], wellFormed: false },
    { name: 'a TLS ClientHello', pieces: [Buffer.from('16030100a10100009d0303' + '00'.repeat(150), 'hex')], wellFormed: false },
    { name: '1 KB of random bytes', pieces: [Buffer.from(Array.from({ length: 1024 }, () => rng.int(256)))], wellFormed: false },
    { name: 'three GETs pipelined in one write', pieces: [get('/healthz') + get('/readyz') + get('/v1/models', [`Authorization: Bearer ${key}`])], wellFormed: true, expect: 3 },
    { name: 'two POSTs pipelined', pieces: [post([`Content-Length: ${valid.length}`], valid) + post([`Content-Length: ${valid.length}`], valid)], wellFormed: true, uwsSilent: true, expect: 2 },
    { name: 'a GET pipelined after a bad POST', pieces: [post(['Content-Length: 5'], '{"a":') + get('/healthz')], wellFormed: true, uwsSilent: true, expect: 2 },
    { name: 'slowloris: a request a few bytes at a time over 2 s, then complete', pieces: slowly(get('/healthz'), 2000), wellFormed: true },
    { name: 'slowloris: a body a few bytes at a time over 2 s', pieces: [post([`Content-Length: ${valid.length}`], ''), ...slowly(valid, 2000)], wellFormed: true },
    { name: 'slowloris: headers that never end', pieces: [...slowly('GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n', 1000)], wellFormed: false },
  ];
}

t.test('raw HTTP, through the load balancer (deploy/haproxy.cfg) and directly to an ingress', async (t) => {
  const cases = rawCases(tc.key);
  const health = watchHealth(ingress, 250);
  const started = Date.now();
  // All at once: the ones answered with silence last until an idle close (~10 s).
  const fronts = [{ name: 'through the load balancer', port: tc.cluster.port, direct: false }, { name: 'directly to an ingress', port: tc.cluster.ingresses[0].port, direct: true }];
  const results = await Promise.all(fronts.map((f) => Promise.all(cases.map((c) => rawExchange(f.port, c.pieces, { expect: c.expect ?? 1, deadlineMs: 20_000 })))));
  t.comment(`${cases.length} raw cases on ${fronts.length} fronts in ${Date.now() - started} ms`);
  for (const [k, front] of fronts.entries()) {
    const problems: string[] = [];
    const seen: string[] = [];
    cases.forEach((c, i) => {
      const r = results[k][i];
      seen.push(`${c.name}: ${r.responses.map((x) => x.status).join(',') || '-'} ${r.closed}${r.hung ? ' (deadline)' : ''} ${r.ms} ms`);
      // Direct, what uWS answers with silence may close (the load balancer is there to answer it);
      // through HAProxy 2.6, what its own parser cannot hold gets its own HTML 400 (README, "Headers").
      const problem = rawProblem((front.direct && c.uwsSilent) || (!front.direct && c.lbParserLimit) ? { ...c, wellFormed: false } : c, r);
      if (problem) problems.push(`${c.name}: ${problem}`);
    });
    t.comment(`${front.name}:\n${seen.join('\n')}`);
    t.same(problems, [], `${front.name}: no 5xx, no hang, no reset or silent close of well-formed HTTP${front.direct ? ' (but for what uWS answers with silence)' : ''}, every 4xx in OpenAI's error shape`);
  }
  const record = await health.stop();
  t.same(record.failures, [], `/healthz answered all ${record.checks} checks (slowest ${record.worstMs} ms)`);
  const idle = await waitIdle(ingress, 5000);
  t.ok(idle.idle, `waiting bytes and active streams back to 0 (${idle.waiting}, ${idle.active})`);
});

/** `text` in pieces of 1–8 bytes spread over `ms`. */
function slowly(text: string, ms: number): RawPiece[] {
  const pieces: RawPiece[] = [];
  const n = Math.max(1, Math.ceil(text.length / 6));
  for (let i = 0; i < text.length; i += 6) pieces.push(text.slice(i, i + 6), { pauseMs: Math.floor(ms / n) });
  return pieces;
}

function rawProblem(c: RawCase, r: RawExchange): string | null {
  for (const res of r.responses) {
    if (res.status >= 500) return `${res.status} ${res.body.slice(0, 200)}`;
    // What the HTTP parser says to bytes that are not HTTP is its own; an answer RouterHub gives is OpenAI's shape.
    if (res.status >= 400 && c.wellFormed && !openAiErrorShape(parseJson(res.body))) return `${res.status} body not in OpenAI's error shape: ${res.body.slice(0, 200)}`;
  }
  if (r.hung && r.closed === 'open') return `no answer and no close within ${r.ms} ms`;
  if (!c.wellFormed) return null;
  if (r.closed === 'reset') return `connection reset after ${r.responses.length} answers`;
  if (r.responses.length < (c.expect ?? 1)) return `closed with ${r.responses.length} of ${c.expect ?? 1} answers`;
  return null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
