// `npm start`: the whole local cluster in the foreground, with what a Codex user needs printed.
import { join } from 'node:path';
import { generateKey } from '../libs/store/keys';
import { paths, startCluster } from './cluster';

async function main(): Promise<void> {
  const env = process.env;
  const devKey = env.ROUTERHUB_DEV_KEY || generateKey();
  const lb = env.ROUTERHUB_LB || undefined;
  if (lb !== undefined && lb !== 'haproxy') throw new Error(`ROUTERHUB_LB=${lb} is not a load balancer the launcher knows: use ROUTERHUB_LB=haproxy, or leave it unset`);
  const cluster = await startCluster({
    port: Number(env.PORT ?? 8080),
    workers: Number(env.ROUTERHUB_WORKERS ?? 2),
    ingresses: Number(env.ROUTERHUB_INGRESSES || 1),
    natsCluster: Number(env.ROUTERHUB_NATS_CLUSTER || 1),
    lb,
    natsUrl: env.NATS_URL,
    redisUrl: env.REDIS_URL,
    devKey,
    adminKey: env.ROUTERHUB_ADMIN_KEY || undefined,
    adminEmail: env.ROUTERHUB_ADMIN_EMAIL || undefined,
    adminPassword: env.ROUTERHUB_ADMIN_PASSWORD || undefined,
    dashboardPort: Number(env.ROUTERHUB_DASHBOARD_PORT || 0),
    modelsPath: env.ROUTERHUB_MODELS,
    redisDir: join(paths.ROOT, '.routerhub', 'redis'),
    stdio: 'inherit',
  });
  const model = env.ROUTERHUB_DEFAULT_MODEL ?? 'routerhub/demo';
  const admin = cluster.firstAdmin;
  const adminLine = admin
    ? `\n  admin      ${admin.email}  password ${admin.password ?? '(ROUTERHUB_ADMIN_PASSWORD)'}   (the first admin, shown once: sign in with POST /api/v1/session)`
    : `\n  admin      sign in as the admin made at the first start (reset a password: npm run admin -- set-password --email …)`;
  process.stdout.write(`
RouterHub is running.
  base URL   ${cluster.baseUrl}/v1
  dev key    ${env.ROUTERHUB_DEV_KEY ? '(the one in ROUTERHUB_DEV_KEY: a key given to RouterHub is never printed)' : `${devKey}   (generated; set ROUTERHUB_DEV_KEY to keep one)`}
  dashboard  ${cluster.dashboardUrl}   (control API: ${cluster.dashboardUrl}/api/v1/)${adminLine}
  ingresses  ${cluster.ingresses.map((i) => i.baseUrl).join(' ')}${cluster.lb ? '   (behind HAProxy at the base URL)' : ''}
  NATS       ${cluster.natsUrl}
  Redis      ${cluster.redisUrl}
  workers    ${cluster.workers.length}
  models     curl -s ${cluster.baseUrl}/v1/models -H "Authorization: Bearer $ROUTERHUB_API_KEY"

Use it from Codex CLI:
  export ROUTERHUB_API_KEY=${env.ROUTERHUB_DEV_KEY ? "\"$ROUTERHUB_DEV_KEY\"" : devKey}
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
