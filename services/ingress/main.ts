// Ingress process: wiring only (libs/ingress holds the logic).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../../libs/config/settings';
import { Limits } from '../../libs/control/admission';
import { Dispatcher } from '../../libs/ingress/dispatch';
import { drainIngress } from '../../libs/ingress/drain';
import { startIngress } from '../../libs/ingress/http';
import { FAMILIES } from '../../libs/providers/index';
import { deploymentId, ModelCatalog } from '../../libs/routing/catalog';
import { reloadCatalogOnChange } from '../../libs/routing/catalog-reload';
import { DeploymentHealth } from '../../libs/routing/health';
import { CODEX_BASE_INSTRUCTIONS } from '../../libs/routing/codex-instructions';
import { KeyStore } from '../../libs/store/keys';
import { readiness } from '../../libs/ingress/readiness';
import { connectRedis, redisProbe } from '../../libs/store/redis';
import { runProcess } from '../../libs/telemetry/lifecycle';
import { logger } from '../../libs/telemetry/log';
import { setupTracing } from '../../libs/telemetry/tracing';
import { connectNats, natsLink } from '../../libs/wire/connect';

const log = logger('ingress');
// How long /readyz reuses Redis's last PING answer: a load balancer probing every few hundred ms
// costs Redis one PING per second per ingress.
const READINESS_CACHE_MS = 1000;

runProcess(log, async () => {
  const settings = loadSettings();
  setupTracing('routerhub-ingress');
  const catalogPath = settings.ROUTERHUB_MODELS ?? join(__dirname, '..', '..', '..', 'deploy', 'models.json');
  const catalog = ModelCatalog.load(catalogPath, FAMILIES);
  for (const warning of catalog.warnings) log(`model catalog ${catalogPath}: ${warning}`);
  const nc = await connectNats(settings.NATS_URL ?? 'nats://127.0.0.1:4222', 'routerhub-ingress');
  const redisTimeout = settings.ROUTERHUB_REDIS_TIMEOUT_MS;
  const redis = connectRedis(settings.REDIS_URL ?? 'redis://127.0.0.1:6379', { commandTimeoutMs: redisTimeout });
  const nats = natsLink(nc);
  const redisAnswers = redisProbe(redis, redisTimeout, READINESS_CACHE_MS);
  const workerDeadMs = settings.ROUTERHUB_WORKER_DEAD_MS;
  const dispatcher = new Dispatcher(nc, {
    pool: settings.WORKER_POOL,
    acceptTimeoutMs: settings.ROUTERHUB_ACCEPT_TIMEOUT_MS,
    maxDispatches: settings.ROUTERHUB_MAX_DISPATCHES,
    workerDeadMs,
    silenceMs: settings.ROUTERHUB_KEEPALIVE_MS + workerDeadMs,
    connected: nats.connected,
    log,
  });
  let draining = false;
  dispatcher.start();
  const keyCacheMs = settings.ROUTERHUB_KEY_CACHE_MS;
  const limits = new Limits(redis, {
    rateWindowMs: settings.ROUTERHUB_RATE_WINDOW_MS,
    leaseTtlMs: settings.ROUTERHUB_LEASE_TTL_MS,
    failOpen: settings.ROUTERHUB_RATE_LIMITS_FAIL_OPEN,
    keyCacheMs,
  });
  // Routing reads health from memory; changes arrive by pub/sub (and a poll, in case one was missed).
  const health = settings.ROUTERHUB_DEPLOYMENT_HEALTH === 'off' ? undefined : new DeploymentHealth(redis, {
    pollMs: settings.ROUTERHUB_HEALTH_POLL_MS,
    probeMs: settings.UPSTREAM_HEADERS_TIMEOUT_MS,
    known: [...new Set(catalog.models.flatMap((m) => m.deployments.map(deploymentId)))],
  });
  const ingress = await startIngress({
    host: settings.HOST,
    port: settings.PORT,
    maxBodyBytes: settings.ROUTERHUB_MAX_BODY_BYTES,
    bodyTimeoutMs: settings.ROUTERHUB_BODY_TIMEOUT_MS,
    inputLimits: {
      maxDepth: settings.ROUTERHUB_MAX_JSON_DEPTH,
      maxToolSchemaDepth: settings.ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH,
      maxInputItems: settings.ROUTERHUB_MAX_INPUT_ITEMS,
      maxTools: settings.ROUTERHUB_MAX_TOOLS,
      maxStringLength: settings.ROUTERHUB_MAX_STRING_LENGTH,
    },
    maxWaitingBytes: settings.ROUTERHUB_MAX_WAITING_BYTES,
    maxBacklogBytes: settings.ROUTERHUB_MAX_CLIENT_BACKLOG_BYTES,
    maxResponseMs: settings.ROUTERHUB_MAX_RESPONSE_MS,
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
    health,
    codexInstructions: settings.ROUTERHUB_CODEX_INSTRUCTIONS ? readFileSync(settings.ROUTERHUB_CODEX_INSTRUCTIONS, 'utf8') : CODEX_BASE_INSTRUCTIONS,
  });
  const stopReloading = reloadCatalogOnChange({
    path: catalogPath, families: FAMILIES, apply: (c) => ingress.setCatalog(c), log, pollMs: settings.ROUTERHUB_MODELS_POLL_MS,
  });
  log(`listening on ${settings.HOST}:${ingress.port}, ${catalog.models.length} models from ${catalogPath}, ingress ${dispatcher.ingressId}`);

  return async () => {
    stopReloading();
    await drainIngress({
      markDraining: () => (draining = true),
      closeListener: () => ingress.close(),
      inflight: () => dispatcher.size,
      failRemaining: (error) => dispatcher.failAll(error),
    }, { noticeMs: settings.ROUTERHUB_DRAIN_NOTICE_MS, graceMs: settings.INGRESS_STOP_GRACE_MS }, log);
    // The failures just written leave the socket before the process exits.
    await new Promise((r) => setTimeout(r, 100));
    dispatcher.stop();
    limits.stop();
    health?.stop();
    await nc.drain().catch(() => undefined);
    redis.disconnect();
  };
});
