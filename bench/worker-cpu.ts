// `node dist/bench/worker-cpu.js [--jobs N] [--tiny | --bytes B] [--rate R]`: one RouterHub worker's CPU per job, alone.
// The worker runs in this process with a real nats-server, redis-server and bench upstream (their own
// processes); jobs are published as the ingress publishes them, 50 a second (R), with the captured
// ~40 KB Codex body (a tiny one, or one grown to B bytes as the body-size curve grows it) and a
// 64-token answer. The figures: this process's CPU per job net of its rate at rest, and
// redis-server's the same way (10 ms ticks: use a few thousand jobs). The cluster bench sums every
// process on a shared core; this isolates the worker, so a change to its path can be compared run
// against run (alternate them: identical runs differ by ±10% or more, so only a change larger than
// that shows in a few runs).
import { connectRedis } from '../libs/store/redis';
import { ServerProcess } from '../libs/testing/faults';
import { logger } from '../libs/telemetry/log';
import { connectNats } from '../libs/wire/connect';
import { decodeBatches, encode, F } from '../libs/wire/frames';
import { subjects } from '../libs/wire/subjects';
import { Worker } from '../libs/worker/worker';
import { profilePath, type StreamProfile } from './profile';
import { sampleProcs, startUpstream, type UpstreamProc } from './procs';
import { codexBodyOfSize } from './curve';
import { codexBody } from './targets';

const PROFILE: StreamProfile = { tokens: 64, tokensPerEvent: 1, eventsPerWrite: 1, rate: 0 };
const INGRESS = 'bench';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, otherwise: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : otherwise);
  const jobs = arg('--jobs', 400);
  const rate = arg('--rate', 50);
  const bytes = arg('--bytes', 0);
  // Larger bodies do not fit one NATS message: the ingress keeps them and the worker pulls them in chunks.
  if (bytes > 900_000) throw new Error('--bytes: at most 900000 (a job published here is one NATS message)');
  const servers: ServerProcess[] = [];
  let upstream: UpstreamProc | null = null;
  try {
    servers.push(await ServerProcess.nats(), await ServerProcess.redis());
    const [natsServer, redisServer] = servers;
    upstream = await startUpstream();
    const nc = await connectNats(natsServer.url, 'worker');
    const ingress = await connectNats(natsServer.url, 'ingress');
    const redis = connectRedis(redisServer.url, { commandTimeoutMs: 1000 });
    const worker = new Worker(nc, redis, {
      pool: 'default', maxStreams: 1000, maxLagMs: 1000, heartbeatMs: 1000, keepaliveMs: 10_000, headersTimeoutMs: 30_000, idleTimeoutMs: 60_000,
      env: {}, log: logger('worker'), rateWindowMs: 60_000, requestLog: { maxEntries: 10_000, maxAgeMs: 86_400_000 }, logBodies: false,
    });
    worker.start();
    const body = Buffer.from(argv.includes('--tiny') ? JSON.stringify({ model: 'bench/model', stream: true, input: 'hi' }) : bytes ? codexBodyOfSize('bench/model', bytes) : codexBody('bench/model'));
    const plan = { model: 'bench/model', deployments: [{ provider: 'openai-responses', model: 'bench-model', base_url: `${upstream.url}${profilePath(PROFILE)}` }], pricing: { input: 1.25, output: 10 } };
    const ended = new Map<string, () => void>();
    // As an ingress takes them: many responses' batches in one message (Job.batchesTo).
    ingress.subscribe(subjects.batches(INGRESS), {
      callback: (err, msg) => {
        if (err) return;
        for (const batch of decodeBatches(msg.data)) {
          if (!batch.requestId || !batch.frames.some((f) => f[0] === F.Completed || f[0] === F.Failed)) continue;
          ended.get(batch.requestId)?.();
          ended.delete(batch.requestId);
        }
      },
    });
    await nc.flush();
    await ingress.flush();
    let n = 0;
    const job = () => new Promise<void>((resolve) => {
      const id = `resp_${n++}`;
      ended.set(id, resolve);
      ingress.publish(subjects.job('default'), encode({ id, replyTo: subjects.out(INGRESS, id), batchesTo: subjects.batches(INGRESS), keyId: 'bench', accountId: 'bench', body, plan, deadline: Date.now() + 60_000 }));
    });
    const run = async (count: number) => {
      const all: Array<Promise<void>> = [];
      for (let i = 0; i < count; i++) {
        all.push(job());
        await new Promise((r) => setTimeout(r, 1000 / rate));
      }
      await Promise.all(all);
    };
    await run(Math.min(200, jobs)); // JIT, connections
    await new Promise((r) => setTimeout(r, 1000));
    const rest = process.cpuUsage();
    const redisRest = sampleProcs({ redis: redisServer.pid! });
    const restStart = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const restUs = process.cpuUsage(rest);
    const restMs = performance.now() - restStart;
    const restPerMs = (restUs.user + restUs.system) / restMs;
    const redisRestPerMs = (redisRest.stop().redis.cpuSec * 1e6) / restMs;
    const start = process.cpuUsage();
    const redisCpu = sampleProcs({ redis: redisServer.pid! });
    const startedAt = performance.now();
    await run(jobs);
    const used = process.cpuUsage(start);
    const perJob = (used.user + used.system - restPerMs * (performance.now() - startedAt)) / jobs;
    const redisPerJob = (redisCpu.stop().redis.cpuSec * 1e6 - redisRestPerMs * (performance.now() - startedAt)) / jobs;
    console.log(`worker CPU per job: ${perJob.toFixed(0)} µs, Redis's ${redisPerJob.toFixed(0)} µs (${jobs} jobs at ${rate}/s, ${body.byteLength} B bodies, ${PROFILE.tokens}-token answers; at rest ${restPerMs.toFixed(1)} µs/ms)`);
    await worker.stop(100);
    await nc.close();
    await ingress.close();
    redis.disconnect();
  } finally {
    await upstream?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().then(() => process.exit(0), (err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
