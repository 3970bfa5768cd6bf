// The fault suite, upstream and client half: an upstream that stalls, resets the connection
// mid-stream or sends garbage; clients that never read, and clients that vanish mid-stream. Each
// fault runs beside well-behaved streams and asserts: every request ends (one terminal event, or a
// clean HTTP error before streaming) before its client's deadline, /healthz answers throughout, the
// ledger matches what the clients saw (or, for clients that saw nothing, one estimated line per
// response that reached the upstream), the upstream call stops, and the ingress holds nothing after.
import Redis from 'ioredis';
import t, { type Test } from 'tap';
import type { MockTurn } from '../../libs/providers/mock/script';
import { startTestCluster, terminals, waitUntil, type TestCluster } from '../../libs/testing/cluster';
import { badEndings, boundedResponses, tally, waitIdle, watchHealth, type BoundedResult } from '../../libs/testing/faults';
import { addSeenUsage, keyIdOf, LedgerProbe, noUsage, streamedChars } from '../../libs/testing/ledger';
import { rawExchange, rawMessage } from '../../libs/testing/raw-http';
import { estimateInputTokens, tokensOfChars } from '../../libs/worker/metering';

const MODEL = 'fault/model';
const IDLE_MS = 3000;
const DEADLINE_MS = 15_000;
const BACKLOG_BYTES = 64 * 1024;

let tc: TestCluster;
let redis: Redis;
let probe: LedgerProbe;

t.before(async () => {
  tc = await startTestCluster(() => [{ id: MODEL, deployments: [{ provider: 'openai-responses' }] }], {
    env: { UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS), ROUTERHUB_MAX_CLIENT_BACKLOG_BYTES: String(BACKLOG_BYTES) },
  });
  redis = new Redis(tc.cluster.redisUrl);
  probe = new LedgerProbe(redis, await keyIdOf(redis, tc.key));
});
t.teardown(async () => {
  redis?.disconnect();
  await tc?.stop();
});
t.beforeEach(() => tc.mock.reset());

const WORDS = Array.from({ length: 80 }, (_, i) => `word${i} `).join('');
const normal = (i: number): MockTurn => ({ parts: [{ type: 'text', text: WORDS }], delayMs: 5, usage: { input: 400 + i, output: 80 } });
const body = (input: string) => ({ model: MODEL, input, stream: true });

/** One concurrent request per turn (the upstream answers request i with turns[i]); every one bounded by the client's deadline. */
async function run(turns: MockTurn[]): Promise<Array<BoundedResult & { endedAt: number }>> {
  const tag = `run${Date.now()}`;
  turns.forEach((turn, i) => tc.mock.scriptFor(`${tag}#${i}.`, turn));
  return Promise.all(turns.map((_, i) => boundedResponses(tc.cluster.baseUrl, tc.key, body(`${tag}#${i}.`), DEADLINE_MS).then((r) => ({ ...r, endedAt: Date.now() }))));
}

async function assertAfter(t: Test, health: ReturnType<typeof watchHealth>): Promise<void> {
  tc.mock.script({ parts: [{ type: 'text', text: 'still serving' }], usage: { input: 10, output: 2 } });
  const next = await boundedResponses(tc.cluster.baseUrl, tc.key, body('after'), 5000);
  t.equal(terminals(next.events)[0]?.data.type, 'response.completed', 'the next request is served normally');
  const record = await health.stop();
  t.same(record.failures, [], `/healthz answered all ${record.checks} checks (slowest ${record.worstMs} ms)`);
  const idle = await waitIdle(tc.cluster.baseUrl, 5000);
  t.ok(idle.idle, `waiting bytes and active streams back to 0 (${idle.waiting}, ${idle.active})`);
}

const FAULTS: Array<[string, (i: number) => MockTurn]> = [
  ['stalls mid-stream', (i) => ({ ...normal(i), stall: { afterEvents: 8 } })],
  ['stalls before its first event', (i) => ({ ...normal(i), stall: { afterEvents: 0 } })],
  ['resets the connection mid-stream', (i) => ({ ...normal(i), delayMs: 0, cutAfterEvents: 10 })],
  ['ends its body mid-stream', (i) => ({ ...normal(i), delayMs: 0, cutAfterEvents: 10, cutHow: 'end' })],
  ['sends garbage mid-stream', (i) => ({ ...normal(i), delayMs: 0, garbage: { afterEvents: 10, bytes: 'data: {"type":"response.output_text.delta","delta":\n\n\x00\xff\xfe garbage \r\n\r\nevent: ??\ndata: [DONE\n\n' } })],
  ['sends garbage instead of a stream', (i) => ({ ...normal(i), delayMs: 0, garbage: { afterEvents: 0, bytes: '<html>502 Bad Gateway</html>' } })],
];

for (const [what, turn] of FAULTS) {
  t.test(`an upstream that ${what}, beside well-behaved streams`, async (t) => {
    const before = await probe.totals(MODEL);
    const health = watchHealth(tc.cluster.baseUrl);
    const startedAt = Date.now();
    const turns = Array.from({ length: 12 }, (_, i) => (i % 2 ? normal(i) : turn(i)));
    const results = await run(turns);
    const faulty = results.filter((_, i) => i % 2 === 0);
    const healthy = results.filter((_, i) => i % 2 === 1);
    t.same(badEndings(results, what), [], 'every request ended once, before its deadline');
    t.same(tally(healthy), { completed: 6 }, 'the well-behaved streams completed');
    const slowest = Math.max(...faulty.map((r) => r.endedAt)) - startedAt;
    t.comment(`faulty: ${JSON.stringify(tally(faulty))}, the last ended after ${slowest} ms (upstream idle timeout ${IDLE_MS} ms)`);
    t.ok(faulty.every((r) => terminals(r.events)[0]?.data.type !== 'response.completed'), 'no faulty stream passes for a completed one');
    t.ok(slowest < IDLE_MS + 5000, 'bounded by the upstream idle timeout');
    t.ok(await waitUntil(() => tc.mock.requests.every((q) => q.finished || q.aborted), 3000), 'no upstream call is left running');
    const seen = [...results].reduce((sum, r) => addSeenUsage(sum, r.events), noUsage());
    await assertAfter(t, health);
    const d = await probe.settled(MODEL, before, seen.responses + 1);
    t.same({ requests: d.requests, input: d.input_tokens, output: d.output_tokens }, { requests: seen.responses + 1, input: seen.input_tokens + 10, output: seen.output_tokens + 2 },
      'the ledger equals the usage the clients saw');
  });
}

t.test('clients that never read: a large stream is cut off at the backlog bound, a smaller one waits in the buffers intact; the others are served meanwhile', async (t) => {
  const before = await probe.totals(MODEL);
  const health = watchHealth(tc.cluster.baseUrl);
  const CUT = 2;
  const KEPT = 3;
  // 6 MB of output (eight 768 KB answers, each under NATS's max_payload) sent as fast as the upstream
  // can: past what the socket buffers of a client that reads nothing take, and past the backlog bound.
  const huge: MockTurn = { parts: Array.from({ length: 8 }, () => ({ type: 'text' as const, text: 'z'.repeat(768 * 1024) })), chunkChars: 16 * 1024 };
  const small: MockTurn = { parts: [{ type: 'text', text: 'y'.repeat(100 * 1024) }], chunkChars: 4096, usage: { input: 77, output: 25 } };
  let readAgain!: () => void;
  const holdReading = new Promise<void>((r) => (readAgain = r));
  const neverRead = (marker: string) => {
    const request = JSON.stringify(body(marker));
    return rawExchange(tc.cluster.port, [rawMessage([
      'POST /v1/responses HTTP/1.1', 'Host: 127.0.0.1', `Authorization: Bearer ${tc.key}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(request)}`,
    ], request)], { expect: 1, deadlineMs: DEADLINE_MS, holdReading });
  };
  for (let i = 0; i < CUT; i++) tc.mock.scriptFor(`huge#${i}.`, huge);
  for (let i = 0; i < KEPT; i++) tc.mock.scriptFor(`small#${i}.`, small);
  const cut = Array.from({ length: CUT }, (_, i) => neverRead(`huge#${i}.`));
  const kept = Array.from({ length: KEPT }, (_, i) => neverRead(`small#${i}.`));
  t.ok(await waitUntil(() => tc.mock.requests.length === CUT + KEPT, 5000), 'every request reached the upstream');
  const startedAt = Date.now();
  const others = await run(Array.from({ length: 6 }, (_, i) => normal(i)));
  t.same(tally(others), { completed: 6 }, 'the clients that read were served');
  const hugeCalls = () => tc.mock.requests.filter((q) => JSON.stringify(q.body).includes('huge#'));
  t.ok(await waitUntil(() => hugeCalls().every((q) => q.aborted || q.finished), 10_000), `the clients of the large streams were cut off and their upstream calls stopped (${Date.now() - startedAt} ms)`);
  t.match(await (await fetch(`${tc.cluster.baseUrl}/metrics`)).text(), new RegExp(`^routerhub_slow_client_drops_total ${CUT}$`, 'm'), 'counted as slow-client drops');
  readAgain();
  const cutEnds = await Promise.all(cut);
  t.ok(cutEnds.every((e) => e.closed !== 'open' && !e.hung), 'the ingress closed every cut-off connection');
  const keptEnds = await Promise.all(kept);
  const keptEvents = keptEnds.map((e) => (e.responses[0]?.body.match(/^event: response\.(completed|failed|incomplete)$/gm) ?? []).length);
  t.same(keptEvents, keptEnds.map(() => 1), 'the smaller streams, read late, are whole: one terminal event each');
  await assertAfter(t, health);
  const seen = others.reduce((sum, r) => addSeenUsage(sum, r.events), noUsage());
  // What the late readers saw: the usage in each one's terminal event.
  const keptInput = keptEnds.reduce((n, e) => n + Number(/"usage":\{"input_tokens":(\d+)/.exec(e.responses[0]?.body.split('event: response.completed')[1] ?? '')?.[1] ?? 0), 0);
  t.equal(keptInput, KEPT * 77, 'the late readers saw the usage billed');
  const d = await probe.settled(MODEL, before, seen.responses + 1 + CUT + KEPT);
  t.equal(d.requests, seen.responses + 1 + CUT + KEPT, 'one ledger line per response, cut-off ones included');
  // A cut-off response is estimated, unless its upstream had finished (usage sent) before the cut reached the worker.
  t.ok(d.estimated <= CUT, `the cut-off ones billed (${d.estimated} estimated)`);
  t.ok(d.input_tokens >= seen.input_tokens + 10 + keptInput, `input billed (${d.input_tokens}) covers what the clients saw (${seen.input_tokens + 10 + keptInput})`);
});

t.test('clients that vanish at random moments (before the answer, mid-stream): every upstream call stops, and each response is billed at most once', async (t) => {
  const before = await probe.totals(MODEL);
  const health = watchHealth(tc.cluster.baseUrl);
  const N = 20;
  // Each answer takes 80 × 25 ms = 2 s, past the last client's leaving (1.5 s): a client that leaves
  // always leaves before its upstream has finished, however slow the machine.
  tc.mock.script(...Array.from({ length: N }, (_, i) => ({ ...normal(i), delayMs: 25 })));
  const results = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const controller = new AbortController();
    // A deterministic spread from 0 to 1.5 s: some leave before a worker has the job, most mid-stream; the last 4 stay to the end.
    const leave = setTimeout(() => i < N - 4 && controller.abort(), i * 100);
    const r = await boundedResponses(tc.cluster.baseUrl, tc.key, body(`vanishing ${i}`), DEADLINE_MS, { signal: controller.signal });
    clearTimeout(leave);
    return { r, left: terminals(r.events).length === 0 };
  }));
  t.ok(results.every(({ r }) => !r.hung), 'no client waited past its deadline');
  const left = results.filter((x) => x.left);
  const stayed = results.filter((x) => !x.left).map((x) => x.r);
  t.same(badEndings(stayed, 'stayed'), [], 'the clients that stayed got one terminal event');
  const started = left.filter((x) => x.r.events.length > 0).length;
  t.comment(`${left.length} of ${N} clients left (${started} mid-stream), ${stayed.length} stayed; ${tc.mock.requests.length} reached the upstream`);
  t.ok(left.length >= 6 && stayed.length > 0, 'many left, some stayed');
  t.ok(await waitUntil(() => tc.mock.requests.every((q) => q.finished || q.aborted), 3000), 'every upstream call stopped once its client was gone');
  const upstreamCalls = tc.mock.requests.length;
  await assertAfter(t, health);
  const seen = stayed.reduce((sum, r) => addSeenUsage(sum, r.events), noUsage());
  const d = await probe.settled(MODEL, before, seen.responses + 1 + started);
  const streamed = left.reduce((n, x) => n + tokensOfChars(streamedChars(x.r.events)), 0);
  t.comment(`ledger: ${d.requests} lines (${d.estimated} estimated) for ${upstreamCalls} upstream calls`);
  // Billed: every response the upstream answered (those cancelled before its 200 are not): at least
  // the ones whose client saw output, at most one per upstream call.
  t.ok(d.requests >= seen.responses + 1 + started && d.requests <= upstreamCalls + 1, 'one ledger line per answered response, never two');
  t.equal(d.estimated, d.requests - seen.responses - 1, 'the cancelled ones estimated, the completed ones with their usage');
  t.ok(d.output_tokens >= seen.output_tokens + 2 + streamed, `output billed (${d.output_tokens}) covers what the clients received (${seen.output_tokens + 2 + streamed})`);
});
