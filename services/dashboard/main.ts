// Dashboard process: wiring only. An HTTP server (node:http) on ROUTERHUB_DASHBOARD_PORT (default:
// the ingress port + 1) whose handlers run in order: the control API (libs/control) takes /api/…;
// /api/v1/models (the catalog with deployment health, libs/dashboard) is answered before it, and the
// web app's static files after it.
import { join } from 'node:path';
import { ControlPlane } from '../../libs/control/api';
import { bootstrap } from '../../libs/control/bootstrap';
import { createDashboardServer, type Handler } from '../../libs/control/http';
import { modelsHandler } from '../../libs/dashboard/models';
import { staticFiles } from '../../libs/dashboard/static';
import { FAMILIES } from '../../libs/providers/index';
import { ModelCatalog } from '../../libs/routing/catalog';
import { reloadCatalogOnChange } from '../../libs/routing/catalog-reload';
import { connectRedis } from '../../libs/store/redis';
import { runProcess } from '../../libs/telemetry/lifecycle';
import { logger } from '../../libs/telemetry/log';

const log = logger('dashboard');
const env = process.env;

runProcess(log, async () => {
  const redis = connectRedis(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  await bootstrap(redis, {});
  const control = new ControlPlane(redis, {
    sessionTtlSeconds: Number(env.ROUTERHUB_SESSION_TTL_S ?? 12 * 3600),
    allowedOrigins: (env.ROUTERHUB_DASHBOARD_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    rateWindowMs: Number(env.ROUTERHUB_RATE_WINDOW_MS ?? 60_000),
    requestLog: { maxEntries: Number(env.ROUTERHUB_REQUEST_LOG_MAX ?? 100_000), maxAgeMs: Number(env.ROUTERHUB_REQUEST_LOG_DAYS ?? 30) * 86_400_000 },
  });
  const host = env.HOST ?? '127.0.0.1';
  const catalogPath = env.ROUTERHUB_MODELS ?? join(__dirname, '..', '..', '..', 'deploy', 'models.json');
  let catalog = ModelCatalog.load(catalogPath, FAMILIES);
  const stopReloading = reloadCatalogOnChange({ path: catalogPath, families: FAMILIES, apply: (c) => (catalog = c), log, pollMs: Number(env.ROUTERHUB_MODELS_POLL_MS ?? 0) });
  const ingressUrl = env.ROUTERHUB_PUBLIC_URL ?? `http://${host}:${env.PORT ?? 8080}`;
  const handlers: Handler[] = [modelsHandler(control, () => catalog, ingressUrl), control.handler(), staticFiles()];
  const server = createDashboardServer(handlers, log);
  const port = Number(env.ROUTERHUB_DASHBOARD_PORT || Number(env.PORT ?? 8080) + 1);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${host}:${port} (${err.message})`)));
    server.listen(port, host, resolve);
  });
  log(`dashboard on http://${host}:${port}/, control API on /api/v1/`);
  return async () => {
    stopReloading();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    redis.disconnect();
  };
});
