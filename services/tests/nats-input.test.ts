// What the ingress and a worker read from NATS is not trusted to decode: a corrupt message, or one
// from a build that speaks another frame format, is dropped and counted, and the streams in flight on
// the same connection go on. (nats.js closes a connection's reader when a subscription callback
// throws: every stream of the process lost its frames.) A job whose frames NATS refuses ends once,
// rather than resending its ending in a loop.
import { connect } from 'nats';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { freePort } from '../../deploy/cluster';
import { postResponses, startTestCluster, waitUntil, type TestCluster } from '../../libs/testing/cluster';
import { decode, encode } from '../../libs/wire/frames';
import type { Job } from '../../libs/wire/job';
import { subjects } from '../../libs/wire/subjects';

let tc: TestCluster;
let workerMetrics: string;

t.before(async () => {
  const port = await freePort();
  workerMetrics = `http://127.0.0.1:${port}/metrics`;
  tc = await startTestCluster(() => [{ id: 'test/model', deployments: [{ provider: 'openai-responses' }] }], { workers: 1, env: { WORKER_METRICS_PORT: String(port) } });
});
t.teardown(() => tc.stop());

const dropped = async (url: string, kind: string) => Number(new RegExp(`^routerhub_nats_messages_dropped_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(await (await fetch(url)).text())?.[1] ?? 0);

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

t.test('undecodable messages on every subject are dropped and counted; the stream in flight completes', async (t) => {
  const nc = await connect({ servers: tc.cluster.natsUrl });
  t.teardown(() => nc.close());
  // The job of a slow stream names the ingress's subjects.
  const jobs = nc.subscribe(subjects.job('default'), { max: 1 });
  const seen = (async () => {
    for await (const m of jobs) return decode<Job>(m.data);
  })();
  tc.mock.script({ parts: [{ type: 'text', text: 'tick '.repeat(100) }], delayMs: 20 });
  let deltas = 0;
  const streaming = postResponses(tc.cluster.baseUrl, tc.key, { model: 'test/model', input: 'a slow stream', stream: true }, {
    onEvent: (e) => void (e.data.type === 'response.output_text.delta' && deltas++),
  });
  const job = (await seen)!;
  t.ok(await waitUntil(() => deltas > 0, 5000), 'the stream is under way');

  const junk = [new Uint8Array([0xc1, 0xff, 0x00]), encode(7), encode({}), encode([1, 'w', 'not frames']), encode({ id: 'resp_x', plan: null })];
  const to = [subjects.job('default'), job.batchesTo!, job.replyTo, subjects.heartbeat];
  for (const subject of to) for (const data of junk) nc.publish(subject, data);
  await nc.flush();

  const ended = await streaming;
  t.equal(ended.status, 200);
  t.equal(ended.events.at(-1)?.data.type, 'response.completed', 'the stream in flight ended completed');
  const text = ended.events.filter((e) => e.data.type === 'response.output_text.delta').map((e) => e.data.delta).join('');
  t.equal(text, 'tick '.repeat(100), 'with every delta: no frame was lost to a reconnect');
  t.ok(await waitUntil(async () => (await dropped(workerMetrics, 'job')) === junk.length, 3000), 'the worker dropped every junk job');
  t.ok(await dropped(tc.cluster.baseUrl + '/metrics', 'heartbeat') >= 3, 'the ingress dropped the heartbeats that name no worker');
  t.ok((await dropped(tc.cluster.baseUrl + '/metrics', 'batches')) + (await dropped(tc.cluster.baseUrl + '/metrics', 'out')) >= 6, 'and the frame batches it could not decode');
  const after = await postResponses(tc.cluster.baseUrl, tc.key, { model: 'test/model', input: 'after', stream: true });
  t.equal(after.events.at(-1)?.data.type, 'response.completed', 'both serve the next request');
});

t.test('a job whose frames NATS refuses ends once, without a loop resending its ending', async (t) => {
  const nc = await connect({ servers: tc.cluster.natsUrl });
  t.teardown(() => nc.close());
  const worker = tc.cluster.workers[0];
  // A well-formed job with a reply subject NATS refuses to publish to (an empty one).
  const body = encode({ model: 'test/model', input: 'x', stream: true });
  nc.publish(subjects.job('default'), encode({ id: 'resp_unreachable', replyTo: '', keyId: 'k', deadline: Date.now() + 10_000, plan: { model: 'test/model', deployments: [], pricing: null }, body }));
  await nc.flush();
  await new Promise((r) => setTimeout(r, 300));
  const before = cpuSeconds(worker.pid!);
  await new Promise((r) => setTimeout(r, 3000));
  const used = cpuSeconds(worker.pid!) - before;
  t.ok(used < 0.75, `the worker used ${used.toFixed(2)} s of CPU in the 3 s after it (a loop resending the ending takes a core)`);
  const after = await postResponses(tc.cluster.baseUrl, tc.key, { model: 'test/model', input: 'after', stream: true });
  t.equal(after.events.at(-1)?.data.type, 'response.completed');
});
