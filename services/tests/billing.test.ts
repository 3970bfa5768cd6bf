// Every response that reached a provider is billed once, however it ended: completed (the
// provider's usage), cancelled by its client, failed after output started, stopped by RouterHub
// (response_timeout, a worker shutting down) — the last three estimated from the request and the
// output streamed, and marked so. Failed-over attempts are not billed, and a job delivered twice
// over NATS is billed once. Real cluster, every provider family.
import Redis from 'ioredis';
import { connect } from 'nats';
import t from 'tap';
import type { MockTurn } from '../../libs/providers/mock/script';
import type { ResponsesRequest } from '../../libs/protocol/types';
import { everyFamily, familyCatalog, postResponses, sleep, startTestCluster, terminals, waitUntil, type SseEvent, type TestCluster } from '../../libs/testing/cluster';
import { addSeenUsage, LedgerProbe, noUsage, streamedChars, withLedgerCluster } from '../../libs/testing/ledger';
import { RequestLog } from '../../libs/store/requests';
import { UsageLedger } from '../../libs/store/usage';
import { decode } from '../../libs/wire/frames';
import type { Job } from '../../libs/wire/job';
import { subjects } from '../../libs/wire/subjects';
import { estimateInputTokens, tokensOfChars } from '../../libs/worker/metering';

const FAMILIES = everyFamily('bill');

let tc: TestCluster;
let redis: Redis;
let probe: LedgerProbe;

withLedgerCluster(t, () => startTestCluster((url) => [
  ...familyCatalog(url, FAMILIES),
  { id: 'bill/failover', deployments: [{ provider: 'openai-responses' }, { provider: 'openai-responses', base_url: `${url}/backup/v1` }] },
], { env: { ROUTERHUB_MAX_RESPONSE_MS: '4000', WORKER_STOP_GRACE_MS: '200' } }), (c) => ({ tc, redis, probe } = c));

/** A prompt of a known size: ~1,000 tokens of text the estimate reads. */
const PROMPT = 'Summarise the following log line by line. '.repeat(95);
const request = (model: string, i: number): ResponsesRequest => ({ model, stream: true, instructions: 'You are terse.', input: [{ type: 'message', role: 'user', content: `${PROMPT} #${i}` }] });
const WORDS = Array.from({ length: 60 }, (_, i) => `word${i} `).join('');

interface Streamed { events: SseEvent[]; status: number | null; aborted: boolean }

/** Streams a request; aborts it once `abortWhen` holds for the events so far and no event came for `quietMs`. */
async function stream(body: ResponsesRequest, abortWhen?: (events: SseEvent[]) => boolean, quietMs = 300): Promise<Streamed> {
  const events: SseEvent[] = [];
  const controller = new AbortController();
  let last = Date.now();
  const watch = abortWhen && setInterval(() => {
    if (abortWhen(events) && Date.now() - last >= quietMs) controller.abort();
  }, 25);
  try {
    const r = await postResponses(tc.cluster.baseUrl, tc.key, body, { signal: controller.signal, onEvent: (e) => (events.push(e), (last = Date.now())) });
    return { events, status: r.status, aborted: false };
  } catch (err) {
    if (!controller.signal.aborted) throw err;
    return { events, status: null, aborted: true };
  } finally {
    if (watch) clearInterval(watch);
  }
}

t.test('20 aborted streams (5 per family): the ledger holds their input and the output they streamed, once each, marked estimated', async (t) => {
  const per = 5;
  let expectedInput = 0;
  let expectedOutput = 0;
  const befores = await Promise.all(FAMILIES.map((f) => probe.totals(f.model)));
  const runs: Array<Promise<Streamed>> = [];
  for (const f of FAMILIES) {
    for (let i = 0; i < per; i++) {
      // The upstream sends 12 wire events at once, then stalls until the caller goes away: what the
      // client saw before it aborted is all the worker read.
      tc.mock.script({ parts: [{ type: 'text', text: WORDS }], stall: { afterEvents: 12 } });
      const body = request(f.model, i);
      expectedInput += estimateInputTokens(body);
      runs.push(stream(body, (ev) => ev.some((e) => e.data.type === 'response.output_text.delta')));
    }
  }
  const results = await Promise.all(runs);
  t.ok(results.every((r) => r.aborted), 'every client aborted mid-stream');
  t.ok(results.every((r) => terminals(r.events).length === 0), 'before any terminal event');
  for (const r of results) expectedOutput += tokensOfChars(streamedChars(r.events));
  t.ok(await waitUntil(() => tc.mock.requests.length === 20 && tc.mock.requests.every((q) => q.aborted), 5000), 'the upstream saw every call cancelled (no runaway generation)');
  t.ok(tc.mock.requests.every((q) => !q.finished), 'none ran to its end');

  let input = 0;
  let output = 0;
  for (const [j, f] of FAMILIES.entries()) {
    const d = await probe.settled(f.model, befores[j], per);
    t.equal(d.requests, per, `${f.family}: ${per} ledger lines`);
    t.equal(d.estimated, per, `${f.family}: all marked estimated`);
    input += d.input_tokens;
    output += d.output_tokens;
  }
  t.comment(`ledger: ${input} input tokens (estimate of a ~${PROMPT.length}-character prompt ×20), ${output} output tokens streamed before the aborts`);
  t.equal(input, expectedInput, 'input: estimated from the requests');
  t.ok(input > 20 * 900 && input < 20 * 1100, 'about 1,000 tokens per ~4,000-character prompt');
  t.equal(output, expectedOutput, 'output: counted from what was streamed');
  t.ok(output > 0);
});

t.test('streams that fail after output started (provider error event, reset, clean cut, garbage) are billed what they streamed, and the client sees it', async (t) => {
  const failures: Array<[string, MockTurn]> = [
    ['error event', { parts: [{ type: 'text', text: WORDS }, { type: 'text', text: 'never sent' }], streamError: { afterParts: 1, message: 'The model crashed.' } }],
    ['reset', { parts: [{ type: 'text', text: WORDS }], cutAfterEvents: 10 }],
    ['clean cut', { parts: [{ type: 'text', text: WORDS }], cutAfterEvents: 10, cutHow: 'end' }],
    ['garbage', { parts: [{ type: 'text', text: WORDS }], garbage: { afterEvents: 10, bytes: 'data: {"not json\n\nevent: ???\ndata: \x00\x01\x02\n\n' } }],
  ];
  for (const f of FAMILIES) {
    const before = await probe.totals(f.model);
    const seen = noUsage();
    let expected = 0;
    for (const [what, turn] of failures) {
      tc.mock.script(turn);
      const body = request(f.model, 0);
      const r = await stream(body);
      const ends = terminals(r.events);
      t.equal(ends.length, 1, `${f.family} ${what}: one terminal event`);
      if (ends[0]?.data.type !== 'response.failed') {
        // A family whose stream may end cleanly where the cut falls (nothing left to bill as estimated).
        t.fail(`${f.family} ${what}: ended with ${ends[0]?.data.type}`);
        continue;
      }
      const usage = (ends[0].data.response as { usage: { input_tokens: number; output_tokens: number } | null }).usage;
      t.ok(streamedChars(r.events) > 0, `${f.family} ${what}: output had started`);
      t.same(usage && { input: usage.input_tokens, output: usage.output_tokens }, { input: estimateInputTokens(body), output: tokensOfChars(streamedChars(r.events)) }, `${f.family} ${what}: response.failed carries the usage billed`);
      addSeenUsage(seen, r.events);
      expected++;
    }
    const d = await probe.settled(f.model, before, expected);
    t.same({ requests: d.requests, input: d.input_tokens, output: d.output_tokens, estimated: d.estimated }, { requests: seen.responses, input: seen.input_tokens, output: seen.output_tokens, estimated: seen.responses }, `${f.family}: the ledger equals what the clients saw`);
  }
});

t.test('completed responses: the ledger equals the sum of the usage the clients saw, with nothing estimated', async (t) => {
  const befores = await Promise.all(FAMILIES.map((f) => probe.totals(f.model)));
  const seen = FAMILIES.map(() => noUsage());
  const runs: Array<Promise<void>> = [];
  for (const [j, f] of FAMILIES.entries()) {
    for (let i = 0; i < 5; i++) {
      tc.mock.script({ parts: [{ type: 'text', text: `answer ${i}` }], usage: { input: 500 + i * 37, cached: 100, output: 20 + i, reasoning: 0 } });
      runs.push(stream(request(f.model, i)).then((r) => {
        t.equal(terminals(r.events)[0]?.data.type, 'response.completed');
        addSeenUsage(seen[j], r.events);
      }));
    }
  }
  await Promise.all(runs);
  for (const [j, f] of FAMILIES.entries()) {
    const d = await probe.settled(f.model, befores[j], 5);
    t.same({ requests: d.requests, input: d.input_tokens, cached: d.cached_tokens, output: d.output_tokens, estimated: d.estimated },
      { requests: 5, input: seen[j].input_tokens, cached: seen[j].cached_tokens, output: seen[j].output_tokens, estimated: 0 }, `${f.family}: ledger = clients' sum`);
  }
});

t.test('a deployment that failed over before output is not billed; a response no deployment served is not billed', async (t) => {
  const before = await probe.totals('bill/failover');
  tc.mock.script({ parts: [], httpError: { status: 429, retryAfter: 1 } }, { parts: [{ type: 'text', text: 'from the backup' }], usage: { input: 300, output: 4 } });
  const served = await stream({ model: 'bill/failover', stream: true, input: 'x' });
  t.equal(terminals(served.events)[0]?.data.type, 'response.completed');
  tc.mock.script({ parts: [], httpError: { status: 500 } }, { parts: [], httpError: { status: 503 } });
  const failed = await stream({ model: 'bill/failover', stream: true, input: 'y' });
  t.equal(failed.status, 503, 'every deployment failed before output');
  t.equal(failed.events.length, 0);
  const d = await probe.settled('bill/failover', before, 1);
  t.same({ requests: d.requests, input: d.input_tokens, output: d.output_tokens }, { requests: 1, input: 300, output: 4 }, 'only the response the backup served');
});

t.test('a job delivered twice over NATS (two workers serve it) is billed once, as the client saw it', async (t) => {
  const model = 'bill/chat';
  const before = await probe.totals(model);
  // A redelivery: every job is published once more to the workers' queue group as soon as it appears.
  const nc = await connect({ servers: tc.cluster.natsUrl });
  t.teardown(() => nc.close());
  const seenJobs = new Set<string>();
  let duplicated = 0;
  nc.subscribe(subjects.job('default'), {
    callback: (err, msg) => {
      if (err) return;
      const id = decode<Job>(msg.data).id;
      if (seenJobs.has(id)) return;
      seenJobs.add(id);
      duplicated++;
      nc.publish(msg.subject, msg.data);
      nc.publish(msg.subject, msg.data);
    },
  });
  await nc.flush();
  const seen = noUsage();
  for (let i = 0; i < 10; i++) {
    tc.mock.script(...Array.from({ length: 3 }, () => ({ parts: [{ type: 'text' as const, text: `twice ${i}` }], usage: { input: 100 + i, output: 3 }, delayMs: 5 })));
    const r = await stream(request(model, i));
    t.equal(terminals(r.events).length, 1);
    addSeenUsage(seen, r.events);
  }
  t.equal(duplicated, 10);
  t.comment(`${tc.mock.requests.length} upstream calls for 10 responses`);
  t.ok(tc.mock.requests.length > 10, 'some jobs were served by a second worker too');
  const d = await probe.settled(model, before, 10);
  t.same({ requests: d.requests, input: d.input_tokens, output: d.output_tokens }, { requests: 10, input: seen.input_tokens, output: seen.output_tokens }, 'one ledger line per response, the one the client saw');
});

t.test('RouterHub stopping a response (response_timeout, a worker shutting down) bills it, estimated, and tells the client', async (t) => {
  const model = 'bill/responses';
  const before = await probe.totals(model);
  const seen = noUsage();
  // Past ROUTERHUB_MAX_RESPONSE_MS (4 s here) of a stalled upstream.
  tc.mock.script({ parts: [{ type: 'text', text: WORDS }], stall: { afterEvents: 10 } });
  const timedOut = await stream(request(model, 1));
  t.match(terminals(timedOut.events)[0]?.data, { type: 'response.failed', response: { error: { code: 'response_timeout' }, usage: { input_tokens: estimateInputTokens(request(model, 1)), output_tokens: tokensOfChars(streamedChars(timedOut.events)) } } });
  addSeenUsage(seen, timedOut.events);
  t.ok(await waitUntil(() => tc.mock.requests.at(-1)!.aborted, 2000), 'the upstream call was stopped');

  // The workers stopped with SIGTERM mid-stream (grace 200 ms) after a fresh one joined: their streams end, and are billed.
  const pending: Array<Promise<Streamed>> = [];
  for (let i = 0; i < 4; i++) {
    tc.mock.script({ parts: [{ type: 'text', text: WORDS }], stall: { afterEvents: 10 } });
    pending.push(stream(request(model, 2 + i)));
  }
  t.ok(await waitUntil(() => tc.mock.requests.length >= 5, 3000), 'the streams are running');
  const victims = tc.cluster.workers.filter((w) => w.exitCode === null && w.signalCode === null);
  await tc.cluster.addWorker();
  await sleep(200);
  await Promise.all(victims.map((w) => new Promise((r) => (w.once('exit', r), w.kill('SIGTERM')))));
  for (const r of await Promise.all(pending)) {
    t.match(terminals(r.events)[0]?.data, { type: 'response.failed', response: { error: { code: 'worker_shutting_down' }, usage: { output_tokens: tokensOfChars(streamedChars(r.events)) } } });
    addSeenUsage(seen, r.events);
  }
  const d = await probe.settled(model, before, 5);
  t.same({ requests: d.requests, input: d.input_tokens, output: d.output_tokens, estimated: d.estimated }, { requests: seen.responses, input: seen.input_tokens, output: seen.output_tokens, estimated: 5 }, 'the ledger equals what the clients saw');
});

t.test('the per-response marker: a retried ledger write counts once, and appends its request-log record once', async (t) => {
  const ledger = new UsageLedger(redis);
  const log = new RequestLog(redis, { maxEntries: 1000, maxAgeMs: 86_400_000 });
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 };
  const entry = { responseId: `resp_marker_${Date.now()}`, keyId: 'key_marker', accountId: 'default', model: 'm', deployment: 'd', usage, costMicroUsd: 5, estimated: true };
  const record = {
    time: new Date().toISOString(), response_id: entry.responseId, account_id: 'default', key_id: 'key_marker', user_agent: null, endpoint: '/v1/responses',
    model: 'm', deployment: 'd', attempts: [], status: 'completed' as const, error_code: null, input_tokens: 10, cached_tokens: 0, cache_write_tokens: 0,
    output_tokens: 2, reasoning_tokens: 0, usage_estimated: true, cost: 5e-6, time_to_first_token_ms: 1, duration_ms: 2,
  };
  const append = log.entry(record);
  t.equal(await ledger.record(entry, append), true);
  t.equal(await ledger.record(entry, append), false);
  t.equal(await ledger.record(entry), false);
  const logged = (await log.list({ key_id: 'key_marker', limit: 10 })).data;
  t.same(logged.map((r) => r.response_id), [entry.responseId], 'one request-log record');
  const day = new Date().toISOString().slice(0, 10);
  t.match(await ledger.totals('key_marker', 'm', day), { requests: 1, input_tokens: 10, output_tokens: 2, cost_micro_usd: 5, estimated: 1 });
});
