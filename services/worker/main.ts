// Worker process: wiring only (libs/worker holds the logic).
import { createServer } from 'node:http';
import { loadSettings } from '../../libs/config/settings';
import { connectRedis, redisProbe } from '../../libs/store/redis';
import { operatorEndpoints } from '../../libs/telemetry/endpoints';
import { runProcess } from '../../libs/telemetry/lifecycle';
import { logger } from '../../libs/telemetry/log';
import { setupTracing } from '../../libs/telemetry/tracing';
import { connectNats, natsLink } from '../../libs/wire/connect';
import { Worker } from '../../libs/worker/worker';

const log = logger('worker');

runProcess(log, async () => {
  const settings = loadSettings();
  setupTracing('routerhub-worker', { upstreamCalls: true });
  const nc = await connectNats(settings.NATS_URL ?? 'nats://127.0.0.1:4222', 'routerhub-worker');
  const redis = connectRedis(settings.REDIS_URL ?? 'redis://127.0.0.1:6379', { commandTimeoutMs: settings.ROUTERHUB_REDIS_TIMEOUT_MS });
  const worker = new Worker(nc, redis, {
    pool: settings.WORKER_POOL,
    maxStreams: settings.WORKER_MAX_STREAMS,
    maxLagMs: settings.WORKER_MAX_LAG_MS,
    heartbeatMs: settings.WORKER_HEARTBEAT_MS,
    keepaliveMs: settings.ROUTERHUB_KEEPALIVE_MS,
    headersTimeoutMs: settings.UPSTREAM_HEADERS_TIMEOUT_MS,
    idleTimeoutMs: settings.UPSTREAM_IDLE_TIMEOUT_MS,
    // Provider keys: the variables the catalog names (api_key_env).
    env: process.env,
    log,
    rateWindowMs: settings.ROUTERHUB_RATE_WINDOW_MS,
    requestLog: { maxEntries: settings.ROUTERHUB_REQUEST_LOG_MAX, maxAgeMs: settings.ROUTERHUB_REQUEST_LOG_DAYS * 86_400_000 },
    logBodies: settings.ROUTERHUB_LOG_BODIES,
    ledgerRetryMs: settings.ROUTERHUB_LEDGER_RETRY_MS,
    healthPollMs: settings.ROUTERHUB_HEALTH_POLL_MS,
    deploymentHealth: settings.ROUTERHUB_DEPLOYMENT_HEALTH !== 'off',
    responseCache: {
      defaultTtlS: settings.ROUTERHUB_RESPONSE_CACHE_TTL_S,
      maxEntryBytes: settings.ROUTERHUB_RESPONSE_CACHE_MAX_ENTRY_BYTES,
      maxTotalBytes: settings.ROUTERHUB_RESPONSE_CACHE_MAX_BYTES,
    },
  });
  worker.start();
  if (settings.WORKER_METRICS_PORT !== undefined) {
    // /metrics, and /healthz and /readyz for an orchestrator's probes (on HOST: 0.0.0.0 in a container).
    const nats = natsLink(nc);
    const redisAnswers = redisProbe(redis, settings.ROUTERHUB_REDIS_TIMEOUT_MS, 1000);
    const endpoints = operatorEndpoints(async () => {
      const failed = [
        ...(nats.connected() ? [] : ['NATS is disconnected: no job can arrive']),
        ...(await redisAnswers() ? [] : ['Redis does not answer a PING: usage cannot be recorded']),
        ...(worker.draining ? ['the worker is stopping (SIGTERM): it takes no new jobs'] : []),
      ];
      return { ready: failed.length === 0, failed };
    });
    createServer((req, res) => void endpoints(req, res).then((done) => done || res.writeHead(404).end()))
      .listen(settings.WORKER_METRICS_PORT, settings.HOST);
  }
  log(`worker ${worker.id} ready (pool ${settings.WORKER_POOL})`);

  return async () => {
    await worker.stop(settings.WORKER_STOP_GRACE_MS);
    await nc.drain().catch(() => undefined);
    redis.disconnect();
  };
});
