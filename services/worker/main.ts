// Worker process: wiring only (libs/worker holds the logic).
import { createServer } from 'node:http';
import { connectRedis, redisTimeoutMs } from '../../libs/store/redis';
import { runProcess } from '../../libs/telemetry/lifecycle';
import { logger } from '../../libs/telemetry/log';
import { registry } from '../../libs/telemetry/metrics';
import { setupTracing } from '../../libs/telemetry/tracing';
import { connectNats } from '../../libs/wire/connect';
import { Worker } from '../../libs/worker/worker';

const log = logger('worker');
const env = process.env;

runProcess(log, async () => {
  setupTracing('routerhub-worker');
  const nc = await connectNats(env.NATS_URL ?? 'nats://127.0.0.1:4222', 'routerhub-worker');
  const redis = connectRedis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { commandTimeoutMs: redisTimeoutMs(env) });
  const worker = new Worker(nc, redis, {
    pool: env.WORKER_POOL ?? 'default',
    maxStreams: Number(env.WORKER_MAX_STREAMS ?? 10_000),
    maxLagMs: Number(env.WORKER_MAX_LAG_MS ?? 500),
    heartbeatMs: Number(env.WORKER_HEARTBEAT_MS ?? 1000),
    keepaliveMs: Number(env.ROUTERHUB_KEEPALIVE_MS ?? 10_000),
    headersTimeoutMs: Number(env.UPSTREAM_HEADERS_TIMEOUT_MS ?? 60_000),
    idleTimeoutMs: Number(env.UPSTREAM_IDLE_TIMEOUT_MS ?? 600_000),
    env,
    log,
    rateWindowMs: Number(env.ROUTERHUB_RATE_WINDOW_MS ?? 60_000),
    requestLog: { maxEntries: Number(env.ROUTERHUB_REQUEST_LOG_MAX ?? 100_000), maxAgeMs: Number(env.ROUTERHUB_REQUEST_LOG_DAYS ?? 30) * 86_400_000 },
    logBodies: env.ROUTERHUB_LOG_BODIES === '1',
    ledgerRetryMs: Number(env.ROUTERHUB_LEDGER_RETRY_MS ?? 120_000),
  });
  worker.start();
  if (env.WORKER_METRICS_PORT) {
    createServer((_req, res) => void registry.metrics().then((m) => res.writeHead(200, { 'content-type': registry.contentType }).end(m)))
      .listen(Number(env.WORKER_METRICS_PORT), '127.0.0.1');
  }
  log(`worker ${worker.id} ready (pool ${env.WORKER_POOL ?? 'default'})`);

  return async () => {
    await worker.stop(Number(env.WORKER_STOP_GRACE_MS ?? 5000));
    await nc.drain().catch(() => undefined);
    redis.disconnect();
  };
});
