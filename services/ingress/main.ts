// Ingress process: wiring only (libs/ingress holds the logic).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Limits } from '../../libs/control/admission';
import { Dispatcher } from '../../libs/ingress/dispatch';
import { drainIngress } from '../../libs/ingress/drain';
import { startIngress } from '../../libs/ingress/http';
import { checkedInputLimits, DEFAULT_INPUT_LIMITS } from '../../libs/protocol/bounds';
import { FAMILIES } from '../../libs/providers/index';
import { ModelCatalog } from '../../libs/routing/catalog';
import { reloadCatalogOnChange } from '../../libs/routing/catalog-reload';
import { CODEX_BASE_INSTRUCTIONS } from '../../libs/routing/codex-instructions';
import { KeyStore } from '../../libs/store/keys';
import { readiness } from '../../libs/ingress/readiness';
import { connectRedis, redisProbe, redisTimeoutMs } from '../../libs/store/redis';
import { runProcess } from '../../libs/telemetry/lifecycle';
import { logger } from '../../libs/telemetry/log';
import { setupTracing } from '../../libs/telemetry/tracing';
import { connectNats, natsLink } from '../../libs/wire/connect';

const log = logger('ingress');
const env = process.env;
// How long /readyz reuses Redis's last PING answer: a load balancer probing every few hundred ms
// costs Redis one PING per second per ingress.
const READINESS_CACHE_MS = 1000;

runProcess(log, async () => {
  setupTracing('routerhub-ingress');
  const catalogPath = env.ROUTERHUB_MODELS ?? join(__dirname, '..', '..', '..', 'deploy', 'models.json');
  const catalog = ModelCatalog.load(catalogPath, FAMILIES);
  const nc = await connectNats(env.NATS_URL ?? 'nats://127.0.0.1:4222', 'routerhub-ingress');
  const redisTimeout = redisTimeoutMs(env);
  const redis = connectRedis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { commandTimeoutMs: redisTimeout });
  const nats = natsLink(nc);
  const redisAnswers = redisProbe(redis, redisTimeout, READINESS_CACHE_MS);
  const workerDeadMs = Number(env.ROUTERHUB_WORKER_DEAD_MS ?? 3000);
  const dispatcher = new Dispatcher(nc, {
    pool: env.WORKER_POOL ?? 'default',
    acceptTimeoutMs: Number(env.ROUTERHUB_ACCEPT_TIMEOUT_MS ?? 1000),
    maxDispatches: Number(env.ROUTERHUB_MAX_DISPATCHES ?? 3),
    workerDeadMs,
    // Workers send a keep-alive after this much silence (worker main.ts reads the same variable).
    silenceMs: 2 * Number(env.ROUTERHUB_KEEPALIVE_MS ?? 10_000) + workerDeadMs,
  });
  let draining = false;
  dispatcher.start();
  const keyCacheMs = Number(env.ROUTERHUB_KEY_CACHE_MS ?? 5000);
  const limits = new Limits(redis, {
    rateWindowMs: Number(env.ROUTERHUB_RATE_WINDOW_MS ?? 60_000),
    leaseTtlMs: Number(env.ROUTERHUB_LEASE_TTL_MS ?? 15_000),
    failOpen: env.ROUTERHUB_RATE_LIMITS_FAIL_OPEN === '1',
    keyCacheMs,
  });
  const ingress = await startIngress({
    host: env.HOST ?? '127.0.0.1',
    port: Number(env.PORT ?? 8080),
    maxBodyBytes: Number(env.ROUTERHUB_MAX_BODY_BYTES ?? 8 * 1024 * 1024),
    inputLimits: checkedInputLimits({
      maxDepth: Number(env.ROUTERHUB_MAX_JSON_DEPTH ?? DEFAULT_INPUT_LIMITS.maxDepth),
      maxToolSchemaDepth: Number(env.ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH ?? DEFAULT_INPUT_LIMITS.maxToolSchemaDepth),
      maxInputItems: Number(env.ROUTERHUB_MAX_INPUT_ITEMS ?? DEFAULT_INPUT_LIMITS.maxInputItems),
      maxTools: Number(env.ROUTERHUB_MAX_TOOLS ?? DEFAULT_INPUT_LIMITS.maxTools),
      maxStringLength: Number(env.ROUTERHUB_MAX_STRING_LENGTH ?? DEFAULT_INPUT_LIMITS.maxStringLength),
    }),
    maxWaitingBytes: Number(env.ROUTERHUB_MAX_WAITING_BYTES ?? 128 * 1024 * 1024),
    maxBacklogBytes: Number(env.ROUTERHUB_MAX_CLIENT_BACKLOG_BYTES ?? 4 * 1024 * 1024),
    maxResponseMs: Number(env.ROUTERHUB_MAX_RESPONSE_MS ?? 30 * 60_000),
    catalog,
    keys: new KeyStore(redis, keyCacheMs),
    limits,
    dispatcher,
    readiness: () => readiness({
      natsConnected: nats.connected,
      redisAnswers,
      redisTimeoutMs: redisTimeout,
      liveWorkers: () => dispatcher.liveWorkers(),
      workerDeadMs,
      draining: () => draining,
    }),
    codexInstructions: env.ROUTERHUB_CODEX_INSTRUCTIONS ? readFileSync(env.ROUTERHUB_CODEX_INSTRUCTIONS, 'utf8') : CODEX_BASE_INSTRUCTIONS,
  });
  const stopReloading = reloadCatalogOnChange({
    path: catalogPath, families: FAMILIES, apply: (c) => ingress.setCatalog(c), log, pollMs: Number(env.ROUTERHUB_MODELS_POLL_MS ?? 0),
  });
  log(`listening on ${env.HOST ?? '127.0.0.1'}:${ingress.port}, ${catalog.models.length} models from ${catalogPath}, ingress ${dispatcher.ingressId}`);

  return async () => {
    stopReloading();
    await drainIngress({
      markDraining: () => (draining = true),
      closeListener: () => ingress.close(),
      inflight: () => dispatcher.size,
      failRemaining: (error, status) => dispatcher.failAll(error, status),
    }, { noticeMs: Number(env.ROUTERHUB_DRAIN_NOTICE_MS ?? 5000), graceMs: Number(env.INGRESS_STOP_GRACE_MS ?? 25_000) }, log);
    // The failures just written leave the socket before the process exits.
    await new Promise((r) => setTimeout(r, 100));
    dispatcher.stop();
    limits.stop();
    await nc.drain().catch(() => undefined);
    redis.disconnect();
  };
});
