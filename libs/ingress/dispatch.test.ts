// The dispatcher against a real nats-server: a worker is dead when it is silent, not when this
// ingress is behind in reading what NATS holds for it.
import { connect, type NatsConnection } from 'nats';
import t from 'tap';
import type { HttpError } from '../protocol/errors';
import { ServerProcess } from '../testing/faults';
import { decode, encode, encodeBatch, encodeBatches, F, isTerminal, type Frame } from '../wire/frames';
import type { Job } from '../wire/job';
import { subjects, WORKER_QUEUE } from '../wire/subjects';
import { Dispatcher } from './dispatch';

const WORKER = 'wtest';
const DEAD_MS = 500;

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

t.test('an ingress seconds behind in its NATS reads keeps a live worker; a silent one is dead', async (t) => {
  const nats = await ServerProcess.nats();
  const conns: NatsConnection[] = [];
  let beat: NodeJS.Timeout | undefined;
  t.teardown(async () => {
    clearInterval(beat);
    await Promise.all(conns.map((c) => c.close()));
    await nats.stop();
  });
  const ingress = await connect({ servers: nats.url });
  const worker = await connect({ servers: nats.url });
  // The backlog comes from elsewhere: sent by the worker's own connection, the heartbeats would queue
  // behind it in this process's socket, unsent, which is not what this test is about.
  const flooder = await connect({ servers: nats.url });
  conns.push(ingress, worker, flooder);

  // The worker: heartbeats, and accepts every job.
  const heartbeat = () => worker.publish(subjects.heartbeat, encode(WORKER));
  heartbeat();
  beat = setInterval(heartbeat, 100);
  worker.subscribe(subjects.job('test'), {
    queue: WORKER_QUEUE,
    callback: (_err, msg) => worker.publish(decode<Job>(msg.data).replyTo, encodeBatch({ seq: 0, workerId: WORKER, frames: [[F.Accepted, WORKER]] })),
  });
  await worker.flush();

  const dispatcher = new Dispatcher(ingress, { pool: 'test', acceptTimeoutMs: 1000, maxDispatches: 3, workerDeadMs: DEAD_MS, silenceMs: 60_000, connected: () => !ingress.isClosed() });
  dispatcher.start();
  t.teardown(() => dispatcher.stop());
  const failures: Array<{ at: number; error: HttpError }> = [];
  let accepted = false;
  const id = 'resp_dispatchtest';
  dispatcher.dispatch({ id, ...dispatcher.replyTo(id), keyId: 'k', body: encode({}), plan: {} as Job['plan'], deadline: Date.now() + 60_000 }, {
    onFrames: (frames) => (accepted ||= frames.some((f) => f[0] === F.Accepted)),
    onFailure: (error) => void failures.push({ at: Date.now(), error }),
  });
  const t0 = Date.now();
  while (!accepted && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  t.ok(accepted, 'the worker accepted the job');

  // A backlog of ~2.4 s for the ingress: 1,200 messages of 16 KB that cost it 2 ms each. Its event
  // loop still turns between reads (its timers are on time), while the worker's heartbeats wait in
  // NATS behind the backlog, for 4 × DEAD_MS.
  let read = 0;
  let lastBeat = Date.now();
  let beatGap = 0;
  ingress.subscribe(subjects.heartbeat, { callback: () => {
    beatGap = Math.max(beatGap, Date.now() - lastBeat);
    lastBeat = Date.now();
  } });
  ingress.subscribe('flood', { callback: () => { busy(2); read++; } });
  await ingress.flush();
  const chunk = new Uint8Array(16 * 1024);
  for (let i = 0; i < 1200; i++) flooder.publish('flood', chunk);
  await flooder.flush();
  const floodAt = Date.now();
  while (read < 1200 && Date.now() - floodAt < 20_000) await new Promise((r) => setTimeout(r, 20));
  t.equal(read, 1200, 'the ingress read the whole backlog');
  t.ok(beatGap > 2 * DEAD_MS, `heartbeats sent every 100 ms reached the ingress up to ${beatGap} ms apart, past the dead-worker limit`);
  await new Promise((r) => setTimeout(r, 2 * DEAD_MS));
  t.same(failures.map((f) => f.error.code), [], 'the live worker was not taken for dead');

  // Now the worker falls silent for real.
  clearInterval(beat);
  const silentAt = Date.now();
  while (failures.length === 0 && Date.now() - silentAt < 5000) await new Promise((r) => setTimeout(r, 20));
  t.same(failures.map((f) => f.error.code), ['worker_lost'], 'a silent worker is dead');
  t.ok(failures[0].at - silentAt < DEAD_MS + 1000, `its response failed ${failures[0].at - silentAt} ms after its last heartbeat`);
});

t.test('an accept waiting unread behind the ingress\'s NATS backlog is taken, not republished or answered 503', async (t) => {
  const nats = await ServerProcess.nats();
  const ingress = await connect({ servers: nats.url });
  const worker = await connect({ servers: nats.url });
  const flooder = await connect({ servers: nats.url });
  const dispatcher = new Dispatcher(ingress, { pool: 'backlog', acceptTimeoutMs: 300, maxDispatches: 2, workerDeadMs: 60_000, silenceMs: 60_000, connected: () => !ingress.isClosed() });
  t.teardown(async () => {
    dispatcher.stop();
    await Promise.all([ingress.close(), worker.close(), flooder.close()]);
    await nats.stop();
  });
  // The ingress pays 2 ms per flood message: 900 of them are ~1.8 s of reading, six accept timeouts.
  let read = 0;
  ingress.subscribe('flood', { callback: () => { busy(2); read++; } });
  await ingress.flush();
  // The worker answers every copy, but a flood that NATS took first reaches the ingress before. (From
  // a connection of its own: sent by the worker's, the accept would wait behind it in this process's
  // socket, not in NATS, and the ingress's round trip could rightly come back first.)
  let copies = 0;
  const chunk = new Uint8Array(16 * 1024);
  worker.subscribe(subjects.job('backlog'), {
    queue: WORKER_QUEUE,
    callback: async (_err, msg) => {
      if (++copies === 1) {
        for (let i = 0; i < 900; i++) flooder.publish('flood', chunk);
        await flooder.flush();
      }
      worker.publish(decode<Job>(msg.data).replyTo, encodeBatch({ seq: 0, workerId: WORKER, frames: [[F.Accepted, WORKER]] }));
    },
  });
  await worker.flush();
  dispatcher.start();
  const id = 'resp_backlog';
  const outcome = await new Promise<string>((resolve) => {
    dispatcher.dispatch({ id, ...dispatcher.replyTo(id), keyId: 'k', body: encode({}), plan: {} as Job['plan'], deadline: Date.now() + 60_000 }, {
      onFrames: (frames) => frames.some((f) => f[0] === F.Accepted) && resolve('accepted'),
      onFailure: (error) => resolve(error.code ?? error.message),
    });
  });
  t.equal(read, 900, 'the accept was read after the whole flood');
  t.equal(outcome, 'accepted', 'the worker that accepted serves the response');
  t.equal(copies, 1, 'the job was published once: the timer waited for what NATS held for the ingress');
});

t.test('each copy of a republished job says when it left and how long the ingress still waits for it', async (t) => {
  const nats = await ServerProcess.nats();
  const ingress = await connect({ servers: nats.url });
  const worker = await connect({ servers: nats.url });
  const dispatcher = new Dispatcher(ingress, { pool: 'stamps', acceptTimeoutMs: 150, maxDispatches: 3, workerDeadMs: DEAD_MS, silenceMs: 60_000, connected: () => true });
  t.teardown(async () => {
    dispatcher.stop();
    await Promise.all([ingress.close(), worker.close()]);
    await nats.stop();
  });
  // A worker that takes no copy: the ingress republishes twice, then answers 503.
  const copies: Array<{ sentAt: number; acceptWithinMs: number; at: number; body: number }> = [];
  worker.subscribe(subjects.job('stamps'), { callback: (_err, msg) => {
    const job = decode<Job>(msg.data);
    copies.push({ sentAt: job.sentAt!, acceptWithinMs: job.acceptWithinMs!, at: Date.now(), body: job.body!.byteLength });
  } });
  await worker.flush();
  dispatcher.start();
  const failed = new Promise<HttpError>((resolve) => {
    const id = 'resp_stamps';
    dispatcher.dispatch({ id, ...dispatcher.replyTo(id), keyId: 'k', body: new Uint8Array(1000), plan: {} as Job['plan'], deadline: Date.now() + 60_000 }, { onFrames: () => undefined, onFailure: resolve });
  });
  const error = await failed;
  const failedAt = Date.now();
  t.equal(error.code, 'no_worker_available');
  t.same(copies.map((c) => c.acceptWithinMs), [450, 300, 150], 'what is left of the wait, copy by copy');
  t.same(copies.map((c) => c.body), [1000, 1000, 1000], 'every copy carries the body');
  for (const [i, c] of copies.entries()) {
    t.ok(c.sentAt <= c.at && c.at - c.sentAt < 100, `copy ${i + 1} was stamped as it left`);
    t.ok(Math.abs(c.sentAt + c.acceptWithinMs - failedAt) < 100, `copy ${i + 1}: the wait it names ends when the ingress answered 503`);
  }
  t.equal(dispatcher.waitingBytes, 0, 'nothing is held for the failed job');
});

t.test('responses\' batches arrive together in one message (batchesTo) or alone (a worker of an older build)', async (t) => {
  const nats = await ServerProcess.nats();
  const ingress = await connect({ servers: nats.url });
  const worker = await connect({ servers: nats.url });
  const dispatcher = new Dispatcher(ingress, { pool: 'together', acceptTimeoutMs: 2000, maxDispatches: 1, workerDeadMs: 60_000, silenceMs: 60_000, connected: () => !ingress.isClosed() });
  t.teardown(async () => {
    dispatcher.stop();
    await Promise.all([ingress.close(), worker.close()]);
    await nats.stop();
  });
  // The worker collects three jobs, then answers two of them in one message and the third alone.
  const jobs: Job[] = [];
  worker.subscribe(subjects.job('together'), {
    callback: (_err, msg) => {
      jobs.push(decode<Job>(msg.data));
      if (jobs.length < 3) return;
      const batch = (job: Job, seq: number, frames: Frame[], together: boolean) => encodeBatch({ seq, workerId: WORKER, frames, requestId: together ? job.id : undefined });
      const [a, b, c] = jobs;
      t.equal(a.batchesTo, subjects.batches(dispatcher.ingressId), 'the job names where batches may travel together');
      worker.publish(a.batchesTo!, encodeBatches([
        batch(a, 0, [[F.Accepted, WORKER], [F.TextDelta, 0, 'a1']], true),
        batch(b, 0, [[F.Accepted, WORKER]], true),
        batch(a, 1, [[F.TextDelta, 0, 'a2'], [F.Completed, null, null]], true),
        batch(b, 1, [[F.Completed, null, null]], true),
      ]));
      worker.publish(c.replyTo, batch(c, 0, [[F.Accepted, WORKER], [F.Completed, null, null]], false));
    },
  });
  await worker.flush();
  dispatcher.start();
  const heard = await Promise.all(['resp_a', 'resp_b', 'resp_c'].map((id) => new Promise<string>((resolve, reject) => {
    const got: string[] = [];
    dispatcher.dispatch({ id, ...dispatcher.replyTo(id), keyId: 'k', body: encode({}), plan: {} as Job['plan'], deadline: Date.now() + 60_000 }, {
      onFrames: (frames) => {
        for (const f of frames) got.push(f[0] === F.TextDelta ? f[2] : String(f[0]));
        if (frames.some(isTerminal)) resolve(got.join(' '));
      },
      onFailure: (error) => reject(new Error(error.message)),
    });
  })));
  t.same(heard, [
    `${F.Accepted} a1 a2 ${F.Completed}`,
    `${F.Accepted} ${F.Completed}`,
    `${F.Accepted} ${F.Completed}`,
  ], 'each response got its own frames, in order');
  t.equal(dispatcher.size, 0, 'every response is over');
});
