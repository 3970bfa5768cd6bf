// The fault suite, infrastructure half: NATS killed and restarted under concurrent streams, Redis
// paused (SIGSTOP) and killed/restarted (its append-only file keeps keys and usage), a worker
// killed under streams. Each fault asserts: every request ends (one terminal event, or a clean HTTP
// error before streaming) before its client's deadline, /healthz answers throughout, the next
// request is served, the ledger equals the usage the clients saw, and the ingress holds nothing after.
import Redis from 'ioredis';
import t, { type Test } from 'tap';
import type { MockTurn } from '../../libs/providers/mock/script';
import { sleep, startTestCluster, terminals, waitUntil, type TestCluster } from '../../libs/testing/cluster';
import { badEndings, boundedResponses, ServerProcess, tally, waitIdle, watchHealth, type BoundedResult } from '../../libs/testing/faults';
import { addSeenUsage, keyIdOf, LedgerProbe, noUsage } from '../../libs/testing/ledger';

const MODEL = 'fault/model';
const STREAMS = 24;
const DEADLINE_MS = 25_000;
const SILENCE_MS = 2000 + 3000;

let nats: ServerProcess;
let redisServer: ServerProcess;
let tc: TestCluster;
let redis: Redis;
let probe: LedgerProbe;

t.before(async () => {
  nats = await ServerProcess.nats();
  redisServer = await ServerProcess.redis();
  tc = await startTestCluster(() => [{ id: MODEL, deployments: [{ provider: 'openai-responses' }] }], {
    natsUrl: nats.url,
    redisUrl: redisServer.url,
    // Keep-alives every 2 s: a response silent past 2 + 3 s lost its frames.
    env: { ROUTERHUB_WORKER_DEAD_MS: '3000', ROUTERHUB_KEEPALIVE_MS: '2000', WORKER_STOP_GRACE_MS: '300' },
  });
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  probe = new LedgerProbe(redis, await keyIdOf(redis, tc.key));
});
t.teardown(async () => {
  redis?.disconnect();
  await tc?.stop();
  await nats?.stop();
  await redisServer?.stop();
});
t.beforeEach(() => tc.mock.reset());

/** About 1.5 s of output with known usage: long enough for a fault to land mid-stream. */
const slowTurn = (i: number): MockTurn => ({ parts: [{ type: 'text', text: 'tick '.repeat(60) }], delayMs: 25, usage: { input: 300 + i, output: 60 } });

interface Run { results: Promise<Array<BoundedResult & { endedAt: number }>> }

/** Starts `n` scripted streams; resolves once every one of them reached the upstream. */
async function startStreams(n: number, turn: (i: number) => MockTurn = slowTurn): Promise<Run> {
  const first = tc.mock.requests.length;
  tc.mock.script(...Array.from({ length: n }, (_, i) => turn(i)));
  const results = Promise.all(Array.from({ length: n }, (_, i) =>
    boundedResponses(tc.cluster.baseUrl, tc.key, { model: MODEL, input: `stream ${i}`, stream: true }, DEADLINE_MS).then((r) => ({ ...r, endedAt: Date.now() }))));
  await waitUntil(() => tc.mock.requests.length - first >= n, 10_000);
  return { results };
}

/** Fresh requests until one completes (each added to `tries`): how long the service takes to come back (ms), or null. */
async function servedAgain(withinMs: number, tries: BoundedResult[]): Promise<number | null> {
  const startedAt = Date.now();
  while (Date.now() - startedAt < withinMs) {
    tc.mock.script({ parts: [{ type: 'text', text: 'back' }], usage: { input: 10, output: 1 } });
    const r = await boundedResponses(tc.cluster.baseUrl, tc.key, { model: MODEL, input: 'are you back?', stream: true }, 5000);
    tries.push(r);
    if (terminals(r.events)[0]?.data.type === 'response.completed') return Date.now() - startedAt;
    tc.mock.reset();
    await sleep(100);
  }
  return null;
}

/**
 * The checks every fault ends with: the ledger equals the usage the clients saw, and the ingress
 * holds nothing. `unseen`: responses billed whose client could not be told the usage (their frames,
 * the usage among them, were lost with NATS): the ledger has one line more for each.
 */
async function assertSettled(t: Test, results: BoundedResult[], before: Awaited<ReturnType<LedgerProbe['totals']>>, unseen = 0): Promise<void> {
  const seen = results.reduce((sum, r) => addSeenUsage(sum, r.events), noUsage());
  const d = await probe.settled(MODEL, before, seen.responses + unseen, 15_000);
  const what = `${seen.responses} responses, ${seen.input_tokens} input, ${seen.output_tokens} output tokens`;
  if (unseen === 0) {
    t.same({ requests: d.requests, input: d.input_tokens, output: d.output_tokens }, { requests: seen.responses, input: seen.input_tokens, output: seen.output_tokens }, `the ledger equals the usage the clients saw (${what})`);
  } else {
    t.equal(d.requests, seen.responses + unseen, `the ledger holds the ${seen.responses} responses whose usage the clients saw, and the ${unseen} whose frames were lost (billed, the client not told how much)`);
    t.ok(d.input_tokens >= seen.input_tokens && d.output_tokens >= seen.output_tokens, `and covers the usage the clients saw (${what}; ledger ${d.input_tokens} input, ${d.output_tokens} output)`);
  }
  const idle = await waitIdle(tc.cluster.baseUrl, 5000);
  t.ok(idle.idle, `waiting bytes and active streams back to 0 (${idle.waiting}, ${idle.active})`);
}

/** Responses that ended frames_lost without the usage billed (their worker's ending was lost too). */
/** Streams that ended in frames_lost without the usage billed (their worker's ending never came). */
function streamsUntold(results: BoundedResult[]): number {
  return results.filter((r) => {
    const end = terminals(r.events)[0]?.data;
    const response = end?.response as { error?: { code?: string }; usage?: unknown } | undefined;
    return response?.error?.code === 'frames_lost' && !response.usage;
  }).length;
}

/**
 * Responses billed whose client was not told how much: streams above, and requests whose frames were
 * all lost before the first reached the client (an HTTP 502 frames_lost: an error body has no usage).
 */
function lostUntold(results: BoundedResult[]): number {
  const errors = results.filter((r) => r.status === 502 && (r.json?.error as { code?: string } | undefined)?.code === 'frames_lost').length;
  return streamsUntold(results) + errors;
}

t.test(`NATS killed and restarted on its port under ${STREAMS} streams`, async (t) => {
  const before = await probe.totals(MODEL);
  const health = watchHealth(tc.cluster.baseUrl);
  const run = await startStreams(STREAMS);
  await sleep(300);
  const killedAt = Date.now();
  await nats.kill();
  await sleep(1000);
  await nats.start();
  const tries: BoundedResult[] = [];
  const back = await servedAgain(10_000, tries);
  const results = await run.results;
  const record = await health.stop();

  t.same(badEndings(results, 'stream'), [], 'every stream ended once, before its deadline');
  const lastEnd = Math.max(...results.map((r) => r.endedAt)) - killedAt;
  t.comment(`endings ${JSON.stringify(tally(results))} (${lostUntold(results)} without their usage); last stream ended ${lastEnd} ms after the kill; served again ${back} ms after the restart`);
  t.not(back, null, 'a fresh request completes after NATS is back');
  t.same(record.failures, [], `/healthz answered all ${record.checks} checks (slowest ${record.worstMs} ms)`);
  await assertSettled(t, [...results, ...tries], before, lostUntold(results));
});

t.test('NATS down while streams end: responses whose last frames were lost still end, within the silence bound, with their usage', async (t) => {
  const before = await probe.totals(MODEL);
  const health = watchHealth(tc.cluster.baseUrl);
  // About 0.5 s of output each, every one ending while NATS is down: their last frames go nowhere.
  const run = await startStreams(12, (i) => ({ parts: [{ type: 'text', text: 'tock '.repeat(20) }], delayMs: 25, usage: { input: 200 + i, output: 20 } }));
  const killedAt = Date.now();
  await nats.kill();
  await sleep(1500);
  await nats.start();
  const results = await run.results;
  const tries: BoundedResult[] = [];
  const back = await servedAgain(10_000, tries);
  const record = await health.stop();

  t.same(badEndings(results, 'stream'), [], 'every stream ended once, before its deadline');
  const lastEnd = Math.max(...results.map((r) => r.endedAt)) - killedAt;
  t.comment(`endings ${JSON.stringify(tally(results))}; last stream ended ${lastEnd} ms after the kill (silence bound ${SILENCE_MS} ms)`);
  t.ok(lastEnd < 1500 + SILENCE_MS + 3000, 'within the silence bound after NATS came back');
  t.equal(streamsUntold(results), 0, 'each stream that had started ends with the usage billed (the worker sends a lost ending again)');
  t.not(back, null, `served again after NATS is back (${back} ms)`);
  t.same(record.failures, [], `/healthz answered all ${record.checks} checks (slowest ${record.worstMs} ms)`);
  await assertSettled(t, [...results, ...tries], before, lostUntold(results));
});

t.test('Redis paused (SIGSTOP) for 3 s under streams, with new requests arriving meanwhile', async (t) => {
  const before = await probe.totals(MODEL);
  const health = watchHealth(tc.cluster.baseUrl);
  const run = await startStreams(12);
  redisServer.pause();
  const pausedAt = Date.now();
  // New clients while Redis answers nothing: they end (served, or a clean 503) before their deadline.
  tc.mock.script(...Array.from({ length: 8 }, (_, i) => slowTurn(100 + i)));
  const during = Promise.all(Array.from({ length: 8 }, (_, i) => boundedResponses(tc.cluster.baseUrl, tc.key, { model: MODEL, input: `during ${i}`, stream: true }, DEADLINE_MS)));
  await sleep(3000);
  redisServer.resume();
  const results = await run.results;
  const late = await during;
  const tries: BoundedResult[] = [];
  const back = await servedAgain(10_000, tries);
  const record = await health.stop();

  t.same(badEndings(results, 'in flight'), [], 'every stream in flight ended once');
  t.same(badEndings(late, 'arrived during the pause'), [], 'every request that arrived during the pause ended, before its deadline');
  t.comment(`in flight: ${JSON.stringify(tally(results))}; arrived during the pause: ${JSON.stringify(tally(late))}, slowest ${Math.max(...late.map((r) => r.ms))} ms (pause ${Date.now() - pausedAt} ms ago)`);
  t.not(back, null, `served normally after SIGCONT (${back} ms)`);
  t.same(record.failures, [], `/healthz answered all ${record.checks} checks (slowest ${record.worstMs} ms)`);
  await assertSettled(t, [...results, ...late, ...tries], before);
});

t.test('Redis killed and restarted: its append-only file keeps the keys and the ledger; streams across the restart are billed', async (t) => {
  const before = await probe.totals(MODEL);
  // What was written a second before the crash is on disk (appendfsync everysec).
  const run0 = await startStreams(6, (i) => ({ parts: [{ type: 'text', text: 'short' }], usage: { input: 50 + i, output: 1 } }));
  const first = await run0.results;
  const written = await probe.settled(MODEL, before, 6);
  await sleep(1500);

  const health = watchHealth(tc.cluster.baseUrl);
  const run = await startStreams(12);
  const killedAt = Date.now();
  await redisServer.kill();
  await sleep(1000);
  await redisServer.start();
  const results = await run.results;
  const tries: BoundedResult[] = [];
  const back = await servedAgain(10_000, tries);
  const record = await health.stop();

  t.same(badEndings([...first, ...results], 'stream'), [], 'every stream ended once');
  t.comment(`across the restart: ${JSON.stringify(tally(results))}, last ended ${Math.max(...results.map((r) => r.endedAt)) - killedAt} ms after the kill; served again ${back} ms after`);
  t.not(back, null, 'the dev key still authenticates after the restart');
  t.ok(await keyIdOf(redis, tc.key), 'the key survived the crash');
  const kept = await probe.since(MODEL, before);
  t.ok(kept.requests >= written.requests && kept.input_tokens >= written.input_tokens, `the ledger lines written before the crash survived it (${written.requests} lines)`);
  t.same(record.failures, [], `/healthz answered all ${record.checks} checks (slowest ${record.worstMs} ms)`);
  await assertSettled(t, [...first, ...results, ...tries], before);
});

t.test(`a worker killed (SIGKILL) under ${STREAMS} streams`, async (t) => {
  const before = await probe.totals(MODEL);
  const health = watchHealth(tc.cluster.baseUrl);
  const run = await startStreams(STREAMS);
  await sleep(300);
  const victim = tc.cluster.workers.find((w) => w.exitCode === null && w.signalCode === null)!;
  const killedAt = Date.now();
  victim.kill('SIGKILL');
  const results = await run.results;
  const lastEnd = Math.max(...results.map((r) => r.endedAt)) - killedAt;
  const tries: BoundedResult[] = [];
  const back = await servedAgain(10_000, tries);
  await tc.cluster.addWorker();
  const record = await health.stop();

  t.same(badEndings(results, 'stream'), [], 'every stream ended once, before its deadline');
  const counts = tally(results);
  t.comment(`endings ${JSON.stringify(counts)}; last ended ${lastEnd} ms after the kill; served again ${back} ms after`);
  t.ok((counts['failed:worker_lost'] ?? 0) > 0, "the killed worker's streams failed with worker_lost");
  t.ok((counts.completed ?? 0) > 0, "the other worker's streams completed");
  t.not(back, null, 'served by the remaining worker');
  t.same(record.failures, [], `/healthz answered all ${record.checks} checks (slowest ${record.worstMs} ms)`);
  // The killed worker's streams bill nothing (nothing is left to write it) and their clients saw no usage.
  await assertSettled(t, [...results, ...tries], before);
});
