// Worker process: wiring only (libs/worker holds the logic).
import { createServer } from 'node:http';
import { connectRedis, redisProbe, redisTimeoutMs } from '../../libs/store/redis';
import { operatorEndpoints } from '../../libs/telemetry/endpoints';
import { runProcess } from '../../libs/telemetry/lifecycle';
import { logger } from '../../libs/telemetry/log';
import { setupTracing } from '../../libs/telemetry/tracing';
import { connectNats, natsLink } from '../../libs/wire/connect';
import { Worker } from '../../libs/worker/worker';

const log = logger('worker');
const env = process.env;

runProcess(log, async () => {
  setupTracing('routerhub-worker', { upstreamCalls: true });
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
    healthPollMs: Number(env.ROUTERHUB_HEALTH_POLL_MS ?? 2000),
    deploymentHealth: env.ROUTERHUB_DEPLOYMENT_HEALTH !== 'off',
    responseCache: {
      defaultTtlS: Number(env.ROUTERHUB_RESPONSE_CACHE_TTL_S ?? 3600),
      maxEntryBytes: Number(env.ROUTERHUB_RESPONSE_CACHE_MAX_ENTRY_BYTES ?? 1024 * 1024),
      maxTotalBytes: Number(env.ROUTERHUB_RESPONSE_CACHE_MAX_BYTES ?? 256 * 1024 * 1024),
    },
  });
  worker.start();
  if (env.WORKER_METRICS_PORT) {
    // /metrics, and /healthz and /readyz for an orchestrator's probes (on HOST: 0.0.0.0 in a container).
    const nats = natsLink(nc);
    const redisAnswers = redisProbe(redis, redisTimeoutMs(env), 1000);
    const endpoints = operatorEndpoints(async () => {
      const failed = [
        ...(nats.connected() ? [] : ['NATS is disconnected: no job can arrive']),
        ...(await redisAnswers() ? [] : ['Redis does not answer a PING: usage cannot be recorded']),
        ...(worker.draining ? ['the worker is stopping (SIGTERM): it takes no new jobs'] : []),
      ];
      return { ready: failed.length === 0, failed };
    });
    createServer((req, res) => void endpoints(req, res).then((done) => done || res.writeHead(404).end()))
      .listen(Number(env.WORKER_METRICS_PORT), env.HOST ?? '127.0.0.1');
  }
  log(`worker ${worker.id} ready (pool ${env.WORKER_POOL ?? 'default'})`);

  return async () => {
    await worker.stop(Number(env.WORKER_STOP_GRACE_MS ?? 5000));
    await nc.drain().catch(() => undefined);
    redis.disconnect();
  };
});
