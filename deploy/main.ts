// `npm start`: the whole local cluster in the foreground, with what a Codex user needs printed.
import { join } from 'node:path';
import { generateKey } from '../libs/store/keys';
import { paths, startCluster } from './cluster';

async function main(): Promise<void> {
  const env = process.env;
  const devKey = env.ROUTERHUB_DEV_KEY || generateKey();
  const cluster = await startCluster({
    port: Number(env.PORT ?? 8080),
    workers: Number(env.ROUTERHUB_WORKERS ?? 2),
    natsUrl: env.NATS_URL,
    redisUrl: env.REDIS_URL,
    devKey,
    modelsPath: env.ROUTERHUB_MODELS,
    redisDir: join(paths.ROOT, '.routerhub', 'redis'),
    stdio: 'inherit',
  });
  const model = env.ROUTERHUB_DEFAULT_MODEL ?? 'routerhub/demo';
  process.stdout.write(`
RouterHub is running.
  base URL   ${cluster.baseUrl}/v1
  dev key    ${devKey}${env.ROUTERHUB_DEV_KEY ? '' : '   (generated; set ROUTERHUB_DEV_KEY to keep one)'}
  NATS       ${cluster.natsUrl}
  Redis      ${cluster.redisUrl}
  workers    ${cluster.workers.length}
  models     curl -s ${cluster.baseUrl}/v1/models -H "Authorization: Bearer $ROUTERHUB_API_KEY"

Use it from Codex CLI:
  export ROUTERHUB_API_KEY=${devKey}
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

Ctrl-C stops every process.
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
  cluster.ingress.once('exit', (code) => {
    if (stopping) return;
    process.stderr.write(`the ingress exited (code ${code}); stopping the cluster\n`);
    stop();
  });
}

main().catch((err: Error) => {
  process.stderr.write(`RouterHub could not start: ${err.message}\n`);
  process.exit(1);
});
