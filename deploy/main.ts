// `npm start`: the whole local cluster in the foreground, with what a Codex user needs printed.
import { join } from 'node:path';
import { loadSettings } from '../libs/config/settings';
import { generateKey } from '../libs/store/keys';
import { paths, startCluster } from './cluster';

async function main(): Promise<void> {
  const settings = loadSettings();
  const devKey = settings.ROUTERHUB_DEV_KEY ?? generateKey();
  const cluster = await startCluster({
    port: settings.PORT,
    workers: settings.ROUTERHUB_WORKERS,
    ingresses: settings.ROUTERHUB_INGRESSES,
    natsCluster: settings.ROUTERHUB_NATS_CLUSTER,
    lb: settings.ROUTERHUB_LB === 'haproxy' ? 'haproxy' : undefined,
    natsUrl: settings.NATS_URL,
    redisUrl: settings.REDIS_URL,
    devKey,
    adminKey: settings.ROUTERHUB_ADMIN_KEY,
    adminEmail: settings.ROUTERHUB_ADMIN_EMAIL,
    adminPassword: settings.ROUTERHUB_ADMIN_PASSWORD,
    dashboardPort: settings.ROUTERHUB_DASHBOARD_PORT,
    modelsPath: settings.ROUTERHUB_MODELS,
    redisDir: join(paths.ROOT, '.routerhub', 'redis'),
    stdio: 'inherit',
  });
  const model = settings.ROUTERHUB_DEFAULT_MODEL;
  const admin = cluster.firstAdmin;
  const adminLine = admin
    ? `\n  admin      ${admin.email}  password ${admin.password ?? '(ROUTERHUB_ADMIN_PASSWORD)'}   (the first admin, shown once: sign in with POST /api/v1/session)`
    : `\n  admin      sign in as the admin made at the first start (reset a password: npm run admin -- set-password --email …)`;
  process.stdout.write(`
RouterHub is running.
  base URL   ${cluster.baseUrl}/v1
  dev key    ${settings.ROUTERHUB_DEV_KEY ? '(the one in ROUTERHUB_DEV_KEY: a key given to RouterHub is never printed)' : `${devKey}   (generated; set ROUTERHUB_DEV_KEY to keep one)`}
  dashboard  ${cluster.dashboardUrl}   (control API: ${cluster.dashboardUrl}/api/v1/)${adminLine}
  ingresses  ${cluster.ingresses.map((i) => i.baseUrl).join(' ')}${cluster.lb ? '   (behind HAProxy at the base URL)' : ''}
  NATS       ${cluster.natsUrl}
  Redis      ${cluster.redisUrl}
  workers    ${cluster.workers.length}
  models     curl -s ${cluster.baseUrl}/v1/models -H "Authorization: Bearer $ROUTERHUB_API_KEY"

Use it from Codex CLI:
  export ROUTERHUB_API_KEY=${settings.ROUTERHUB_DEV_KEY ? "\"$ROUTERHUB_DEV_KEY\"" : devKey}
  and put this in ~/.codex/config.toml:

model = "${model}"
model_provider = "routerhub"

[model_providers.routerhub]
name = "RouterHub"
base_url = "${cluster.baseUrl}/v1"
env_key = "ROUTERHUB_API_KEY"
wire_api = "responses"
# Codex's metadata for every RouterHub model (full toolset, apply_patch included):
model_catalog_url = "${cluster.baseUrl}/v1/codex/models"

Ctrl-C stops every process; SIGHUP to this launcher reloads the model catalog (ROUTERHUB_MODELS) everywhere.
`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping RouterHub…\n');
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The catalog is read by the ingresses and the dashboard (workers get each route plan in its job).
  process.on('SIGHUP', () => {
    for (const child of [...cluster.ingresses.map((i) => i.process), cluster.dashboard]) child.kill('SIGHUP');
  });
  for (const [name, child] of [...cluster.ingresses.map((i) => ['ingress', i.process] as const), ['dashboard', cluster.dashboard] as const, ...(cluster.lb ? [['HAProxy', cluster.lb] as const] : [])]) {
    child.once('exit', (code) => {
      if (stopping) return;
      process.stderr.write(`the ${name} exited (code ${code}); stopping the cluster\n`);
      stop();
    });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`RouterHub could not start: ${err.message}\n`);
  process.exit(1);
});
