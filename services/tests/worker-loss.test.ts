// A worker that dies mid-stream: its clients get response.failed within seconds (never a hang or a
// bare close), streams on other workers finish, and the next request is served.
import t from 'tap';
import { postResponses, startTestCluster, terminals, waitUntil, type ClientResult, type TestCluster } from '../../libs/testing/cluster';

let tc: TestCluster;

t.before(async () => {
  tc = await startTestCluster(() => [{ id: 'test/model', deployments: [{ provider: 'openai-responses' }] }], {
    workers: 1,
    env: { ROUTERHUB_WORKER_DEAD_MS: '2000', WORKER_STOP_GRACE_MS: '300' },
  });
});
t.teardown(() => tc.stop());

const slow = { parts: [{ type: 'text' as const, text: 'tick '.repeat(150) }], delayMs: 20 };

/** A slow stream on the workers there are now; resolves `streaming` once its first delta arrived. */
async function slowStream(input: string): Promise<{ done: Promise<ClientResult> }> {
  let firstDelta!: () => void;
  const streaming = new Promise<void>((r) => (firstDelta = r));
  tc.mock.script(slow);
  const done = postResponses(tc.cluster.baseUrl, tc.key, { model: 'test/model', input, stream: true }, {
    onEvent: (e) => e.data.type === 'response.output_text.delta' && firstDelta(),
  });
  await streaming;
  return { done };
}

t.test('killing a worker fails its streams promptly and spares the others', async (t) => {
  // Stream A runs on the only worker there is.
  const { done: a } = await slowStream('a');
  await tc.cluster.addWorker();
  const others: Array<Promise<ClientResult>> = [];
  for (let i = 0; i < 6; i++) {
    tc.mock.script(slow);
    others.push(postResponses(tc.cluster.baseUrl, tc.key, { model: 'test/model', input: `b${i}`, stream: true }));
  }
  await new Promise((r) => setTimeout(r, 300));
  const killedAt = Date.now();
  tc.cluster.workers[0].kill('SIGKILL');

  const ra = await a;
  t.ok(Date.now() - killedAt < 6000, `stream A ended ${Date.now() - killedAt} ms after the kill`);
  const endA = terminals(ra.events);
  t.equal(endA.length, 1, 'exactly one terminal event');
  t.match(endA[0].data, { type: 'response.failed', response: { error: { code: 'worker_lost', message: /stopped responding/ } } });
  t.ok(ra.events.some((e) => e.data.type === 'error'), 'the nested error event precedes it');

  const results = await Promise.all(others);
  let completed = 0;
  for (const r of results) {
    const ends = terminals(r.events);
    t.equal(ends.length, 1, 'every other stream ends with one terminal event');
    if (ends[0].data.type === 'response.completed') completed++;
    else t.match(ends[0].data, { type: 'response.failed', response: { error: { code: 'worker_lost' } } });
  }
  t.comment(`${completed} of ${results.length} streams on the surviving worker completed`);

  tc.mock.script({ parts: [{ type: 'text', text: 'still serving' }] });
  const next = await postResponses(tc.cluster.baseUrl, tc.key, { model: 'test/model', input: 'after', stream: true });
  t.equal(next.events.at(-1)?.data.type, 'response.completed', 'the next request is served');
});

t.test('a worker stopped with SIGTERM ends the streams it cannot finish with a clear failure', async (t) => {
  const live = tc.cluster.workers.filter((w) => w.exitCode === null && w.signalCode === null);
  t.equal(live.length, 1, 'one worker left from the test before');
  const { done: pending } = await slowStream('c');
  await tc.cluster.addWorker();
  const stoppedAt = Date.now();
  live[0].kill('SIGTERM');
  const r = await pending;
  t.ok(Date.now() - stoppedAt < 2000, `ended ${Date.now() - stoppedAt} ms after SIGTERM (grace 300 ms), before the worker counts as lost`);
  t.match(terminals(r.events)[0]?.data, { type: 'response.failed', response: { error: { code: 'worker_shutting_down', message: /Retry/ } } });
});

t.test('a response that outlives the maximum duration is stopped with a terminal event', async (t) => {
  const short = await startTestCluster(() => [{ id: 'test/model', deployments: [{ provider: 'openai-responses' }] }], {
    workers: 1,
    env: { ROUTERHUB_MAX_RESPONSE_MS: '1000', ROUTERHUB_KEEPALIVE_MS: '300' },
  });
  t.teardown(() => short.stop());
  short.mock.script({ parts: [{ type: 'text', text: 'too late' }], initialDelayMs: 4000 });
  const r = await postResponses(short.cluster.baseUrl, short.key, { model: 'test/model', input: 'slow', stream: true });
  t.match(terminals(r.events)[0]?.data, { type: 'response.failed', response: { error: { code: 'response_timeout' } } });
  t.ok(await waitUntil(() => !!short.mock.requests[0]?.aborted, 2000), 'the upstream call was stopped');
});

t.test('a worker at capacity takes no more jobs: the excess gets a clear 503, and service resumes', async (t) => {
  const small = await startTestCluster(() => [{ id: 'test/model', deployments: [{ provider: 'openai-responses' }] }], {
    workers: 1,
    env: { WORKER_MAX_STREAMS: '2', ROUTERHUB_ACCEPT_TIMEOUT_MS: '300' },
  });
  t.teardown(() => small.stop());
  const ask = () => postResponses(small.cluster.baseUrl, small.key, { model: 'test/model', input: 'x', stream: true });
  small.mock.script(slow, slow);
  const first = [ask(), ask()];
  await new Promise((r) => setTimeout(r, 500));
  const excess = await ask();
  t.equal(excess.status, 503);
  t.match(excess.json, { error: { code: 'no_worker_available', message: /overloaded/ } });
  for (const r of await Promise.all(first)) t.equal(r.events.at(-1)?.data.type, 'response.completed', 'the streams it had were not disturbed');
  small.mock.script({ parts: [{ type: 'text', text: 'room again' }] });
  t.equal((await ask()).events.at(-1)?.data.type, 'response.completed', 'it takes jobs again once below capacity');
});

t.test('past ROUTERHUB_MAX_WAITING_BYTES the ingress turns requests away at once, and admits them again once the backlog clears', async (t) => {
  const small = await startTestCluster(() => [{ id: 'test/model', deployments: [{ provider: 'openai-responses' }] }], {
    workers: 1,
    env: { WORKER_MAX_STREAMS: '1', ROUTERHUB_ACCEPT_TIMEOUT_MS: '10000', ROUTERHUB_MAX_WAITING_BYTES: '1' },
  });
  t.teardown(() => small.stop());
  const ask = (input: string) => postResponses(small.cluster.baseUrl, small.key, { model: 'test/model', input, stream: true });
  const waitingBytes = async () => Number(/^routerhub_waiting_request_bytes (\d+)/m.exec(await (await fetch(`${small.cluster.baseUrl}/metrics`)).text())?.[1]);
  // The slot stays taken for 4 s: time enough, on a loaded CI machine, to see the next request wait and a
  // third be refused (CI once saw a 1 s stream end before the second request reached the ingress).
  small.mock.script({ parts: [{ type: 'text', text: 'tick '.repeat(200) }], delayMs: 20 }, { parts: [{ type: 'text', text: 'served after waiting' }] });
  const serving = ask('holds the only slot');
  t.ok(await waitUntil(() => small.mock.requests.length === 1, 5000), 'the worker is busy');
  const waiting = ask('waits for the worker');
  let held = 0;
  t.ok(await waitUntil(async () => (held = await waitingBytes()) > 0, 5000), 'a request waits at the ingress');
  const refused = await ask('one too many');
  t.equal(refused.status, 503);
  t.equal(refused.headers.get('retry-after'), '1');
  t.match(refused.json, { error: { type: 'server_error', code: 'server_at_capacity', message: new RegExp(`${Math.round(held / 1024)} KiB of requests are already waiting`) } });
  t.match(await (await fetch(`${small.cluster.baseUrl}/metrics`)).text(), /^routerhub_rejected_at_capacity_total 1$/m);
  t.equal((await serving).events.at(-1)?.data.type, 'response.completed', 'the stream being served is not disturbed');
  t.match((await waiting).events.at(-1)?.data, { type: 'response.completed', response: { output: [{ content: [{ text: 'served after waiting' }] }] } }, 'the waiting request is served once the worker has room');
  t.equal(await waitingBytes(), 0);
  small.mock.script({ parts: [{ type: 'text', text: 'admitted again' }] });
  t.equal((await ask('after the backlog')).events.at(-1)?.data.type, 'response.completed', 'new requests are admitted again');
});
