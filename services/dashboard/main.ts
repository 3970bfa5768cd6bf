// Dashboard process: wiring only. An HTTP server (node:http) on ROUTERHUB_DASHBOARD_PORT (default:
// the ingress port + 1) whose handlers run in order: the control API (libs/control) takes /api/…;
// /api/v1/models (the catalog with deployment health, libs/dashboard) is answered before it, and the
// web app's static files after it.
import { join } from 'node:path';
import { loadSettings } from '../../libs/config/settings';
import { ControlPlane } from '../../libs/control/api';
import { bootstrap } from '../../libs/control/bootstrap';
import { createDashboardServer, type Handler } from '../../libs/control/http';
import { modelsHandler } from '../../libs/dashboard/models';
import { staticFiles } from '../../libs/dashboard/static';
import { FAMILIES } from '../../libs/providers/index';
import { ModelCatalog } from '../../libs/routing/catalog';
import { reloadCatalogOnChange } from '../../libs/routing/catalog-reload';
import { connectRedis, redisProbe } from '../../libs/store/redis';
import { countDashboardRequest, operatorEndpoints } from '../../libs/telemetry/endpoints';
import { runProcess } from '../../libs/telemetry/lifecycle';
import { logger } from '../../libs/telemetry/log';
import { setupTracing } from '../../libs/telemetry/tracing';

const log = logger('dashboard');

runProcess(log, async () => {
  const settings = loadSettings();
  setupTracing('routerhub-dashboard');
  const redis = connectRedis(settings.REDIS_URL ?? 'redis://127.0.0.1:6379');
  // In a deployment the dashboard is what prepares a fresh Redis (the launcher does it locally).
  const firstAdmin = await bootstrap(redis, { adminKey: settings.ROUTERHUB_ADMIN_KEY, adminEmail: settings.ROUTERHUB_ADMIN_EMAIL, adminPassword: settings.ROUTERHUB_ADMIN_PASSWORD });
  if (firstAdmin?.password) log(`first admin ${firstAdmin.email} created with a generated password that is not shown: set one with \`node dist/services/admin/main.js set-password --email ${firstAdmin.email}\` (npm run admin)`);
  const control = new ControlPlane(redis, {
    sessionTtlSeconds: settings.ROUTERHUB_SESSION_TTL_S,
    allowedOrigins: settings.ROUTERHUB_DASHBOARD_ORIGINS,
    rateWindowMs: settings.ROUTERHUB_RATE_WINDOW_MS,
    requestLog: { maxEntries: settings.ROUTERHUB_REQUEST_LOG_MAX, maxAgeMs: settings.ROUTERHUB_REQUEST_LOG_DAYS * 86_400_000 },
  });
  const host = settings.HOST;
  const catalogPath = settings.ROUTERHUB_MODELS ?? join(__dirname, '..', '..', '..', 'deploy', 'models.json');
  let catalog = ModelCatalog.load(catalogPath, FAMILIES);
  const stopReloading = reloadCatalogOnChange({ path: catalogPath, families: FAMILIES, apply: (c) => (catalog = c), log, pollMs: settings.ROUTERHUB_MODELS_POLL_MS });
  const ingressUrl = settings.ROUTERHUB_PUBLIC_URL ?? `http://${host}:${settings.PORT}`;
  const redisAnswers = redisProbe(redis, settings.ROUTERHUB_REDIS_TIMEOUT_MS, 1000);
  const operator = operatorEndpoints(async () => (await redisAnswers()) ? { ready: true, failed: [] } : { ready: false, failed: ['Redis does not answer a PING: the control API cannot read or write'] });
  const counted: Handler = async (req, res) => (countDashboardRequest(req, res), false);
  const handlers: Handler[] = [counted, operator, modelsHandler(control, () => catalog, ingressUrl), control.handler(), staticFiles()];
  const server = createDashboardServer(handlers, log);
  const port = settings.ROUTERHUB_DASHBOARD_PORT || settings.PORT + 1;
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
