// What an operator deploys, checked without a Docker engine or a Kubernetes cluster: the compose file
// through `docker-compose config` (Debian's package; deploy/setup.mjs --test installs it), the
// Kubernetes manifests parsed document by document against the services' own settings (probe paths
// and ports, drain times, env var names from the README's settings table), and the Dockerfile.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { paths, SERVICE_NODE_FLAGS } from '../../deploy/cluster';
import { FAMILIES } from '../../libs/providers/index';
import { ModelCatalog } from '../../libs/routing/catalog';
import { registry } from '../../libs/telemetry/metrics';

const ROOT = paths.ROOT;
const DEPLOY = join(ROOT, 'deploy');
const K8S = join(DEPLOY, 'kubernetes');

/** Every variable the README's settings table names (first column, in backticks). */
function documentedSettings(): Set<string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Settings'), readme.indexOf('\n## ', readme.indexOf('## Settings') + 1));
  const names = new Set<string>();
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    for (const m of line.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]*)/g)) names.add(m[1]);
  }
  return names;
}

/** Provider key variables: the api_key_env names of the default catalog. */
function providerKeyNames(): Set<string> {
  const catalog = ModelCatalog.load(join(DEPLOY, 'models.json'), FAMILIES, {});
  return new Set(catalog.models.flatMap((m) => m.deployments.flatMap((d) => (d.api_key_env ? [d.api_key_env] : []))));
}

const settings = documentedSettings();
const providerKeys = providerKeyNames();
const known = (name: string) => settings.has(name) || providerKeys.has(name);

/** The port each service listens on, by the setting that sets it, and its drain setting. */
const SERVICES: Record<string, { portSetting: string; drainSetting: string | null; script: string; command: string[] }> = {
  ingress: { portSetting: 'PORT', drainSetting: 'INGRESS_STOP_GRACE_MS', script: 'dist/services/ingress/main.js', command: ['node', ...SERVICE_NODE_FLAGS, 'dist/services/ingress/main.js'] },
  worker: { portSetting: 'WORKER_METRICS_PORT', drainSetting: 'WORKER_STOP_GRACE_MS', script: 'dist/services/worker/main.js', command: ['node', ...SERVICE_NODE_FLAGS, 'dist/services/worker/main.js'] },
  dashboard: { portSetting: 'ROUTERHUB_DASHBOARD_PORT', drainSetting: null, script: 'dist/services/dashboard/main.js', command: ['node', 'dist/services/dashboard/main.js'] },
};
/** After its grace period a stopping worker takes up to 2 s to unwind stopped jobs and 10 s for ledger writes (libs/worker/worker.ts). */
const WORKER_AFTER_GRACE_S = 12;

t.test('the settings table and the catalog are readable', async (t) => {
  for (const name of ['PORT', 'NATS_URL', 'REDIS_URL', 'WORKER_METRICS_PORT', 'INGRESS_STOP_GRACE_MS']) t.ok(settings.has(name), `${name} is in the README's settings table`);
  t.ok(providerKeys.has('OPENAI_API_KEY'));
});

t.test('docker-compose config accepts deploy/compose.yaml, and it has the whole topology', async (t) => {
  const config = (env: Record<string, string> = {}) => spawnSync('docker-compose', ['-f', join(DEPLOY, 'compose.yaml'), 'config'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
  const r = config();
  if (r.error) return void t.fail(`docker-compose is not installed (${r.error.message}): run \`node deploy/setup.mjs --test\`, which installs Debian's docker-compose package`);
  t.equal(r.status, 0, r.stderr);
  const doc = parse(r.stdout) as { services: Record<string, any> };
  const s = doc.services;
  t.same(Object.keys(s).sort(), ['dashboard', 'demo-upstream', 'haproxy', 'ingress', 'nats-1', 'nats-2', 'nats-3', 'redis', 'worker']);
  for (const n of ['nats-1', 'nats-2', 'nats-3']) {
    t.equal(s[n].environment.NATS_SERVER_NAME, n, `${n} names itself in deploy/nats/nats.conf's terms`);
    t.equal(s[n].volumes[0], `${join(DEPLOY, 'nats')}:/etc/nats:ro`, `${n} runs deploy/nats/`);
  }
  t.match(s.redis.command.join(' '), /--appendonly yes --appendfsync everysec/, 'Redis keeps an append-only file');
  t.equal(s.haproxy.volumes[0], `${join(DEPLOY, 'haproxy.cfg')}:/usr/local/etc/haproxy/haproxy.cfg:ro`, 'HAProxy runs deploy/haproxy.cfg');
  t.equal(s.ingress.deploy.replicas, 2);
  t.equal(s.worker.deploy.replicas, 2);
  for (const [name, svc] of Object.entries(SERVICES)) {
    const env = s[name].environment as Record<string, string>;
    t.same(s[name].command, svc.command, `${name} runs its service from the one image, with the services' node flags`);
    t.equal(s[name].image, 'routerhub:latest');
    for (const key of Object.keys(env)) t.ok(known(key), `${name}: ${key} is a documented setting or a provider key`);
    t.ok(s[name].expose.includes(env[svc.portSetting]), `${name} exposes the port ${svc.portSetting} sets`);
    t.equal(env.NATS_URL, 'nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222', `${name} knows every NATS node`);
    if (svc.drainSetting) {
      const grace = Number(/^(\d+)s$/.exec(s[name].stop_grace_period)?.[1]);
      t.ok(grace * 1000 > Number(env[svc.drainSetting]), `${name}: stop_grace_period ${grace}s outlasts ${svc.drainSetting}`);
    }
  }
  // The validation is real: a replica count that is not a number is refused.
  const bad = config({ ROUTERHUB_WORKERS: 'many' });
  t.not(bad.status, 0);
  t.match(bad.stderr, /replicas/);
});

interface K8sDoc { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> }

function manifests(): K8sDoc[] {
  const docs: K8sDoc[] = [];
  for (const file of readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const d of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))) {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0].message}`);
      const doc = d.toJS() as K8sDoc | null;
      if (doc) docs.push(doc);
    }
  }
  return docs;
}

t.test('Kubernetes manifests: kinds, probes on the ports the services listen on, drains, settings', async (t) => {
  const docs = manifests();
  const of = (kind: string) => docs.filter((d) => d.kind === kind);
  const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  for (const r of kustomization.resources) t.ok(existsSync(join(K8S, r)), `kustomization lists ${r}, which exists`);
  t.same(of('Deployment').map((d) => d.metadata.name).sort(), ['routerhub-dashboard', 'routerhub-ingress', 'routerhub-worker']);
  t.same(of('PodDisruptionBudget').map((d) => d.metadata.name).sort(), ['routerhub-dashboard', 'routerhub-ingress', 'routerhub-worker']);
  t.same(of('Service').map((d) => d.metadata.name).sort(), ['routerhub-dashboard', 'routerhub-ingress']);
  const settingsMap = of('ConfigMap').find((d) => d.metadata.name === 'routerhub-settings')!;
  for (const key of Object.keys(settingsMap.data ?? {})) t.ok(known(key), `routerhub-settings: ${key} is a documented setting`);
  const secrets = parseAllDocuments(readFileSync(join(K8S, 'secrets.example.yaml'), 'utf8')).map((d) => d.toJS() as K8sDoc & { stringData: Record<string, string> });
  const providerSecret = secrets.find((d) => d.metadata.name === 'routerhub-provider-keys')!;

  for (const [name, svc] of Object.entries(SERVICES)) {
    const dep = of('Deployment').find((d) => d.metadata.name === `routerhub-${name}`)!;
    const pod = dep.spec.template.spec;
    const [c] = pod.containers as any[];
    t.same(c.command, svc.command, `${name} runs its service, with the services' node flags`);
    t.ok(pod.securityContext.runAsNonRoot, `${name} runs as a non-root user`);
    const env = Object.fromEntries((c.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));
    for (const key of Object.keys(env)) t.ok(known(key), `${name}: ${key} is a documented setting`);
    const portOf = (p: string | number) => (typeof p === 'number' ? p : (c.ports as Array<{ name: string; containerPort: number }>).find((x) => x.name === p)?.containerPort);
    const listens = Number(env[svc.portSetting]);
    t.ok(listens > 0, `${name} sets ${svc.portSetting}`);
    t.equal(c.readinessProbe.httpGet.path, '/readyz');
    t.equal(c.livenessProbe.httpGet.path, '/healthz');
    t.equal(portOf(c.readinessProbe.httpGet.port), listens, `${name}: the readiness probe asks the port ${svc.portSetting} opens`);
    t.equal(portOf(c.livenessProbe.httpGet.port), listens, `${name}: the liveness probe too`);
    t.equal(dep.spec.template.metadata.annotations['prometheus.io/port'], String(listens), `${name}: Prometheus scrapes /metrics there`);
    // Every pod reads the catalog from the ConfigMap, where ROUTERHUB_MODELS points.
    const mount = (c.volumeMounts as Array<{ name: string; mountPath: string }>).find((m) => m.name === 'catalog')!;
    t.equal(`${mount.mountPath}/models.json`, settingsMap.data!.ROUTERHUB_MODELS);
    t.same(pod.volumes.find((v: { name: string }) => v.name === 'catalog').configMap, { name: 'routerhub-catalog' });
    if (svc.drainSetting) {
      const preStop = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
      const needed = preStop + Number(env[svc.drainSetting]) / 1000 + (name === 'worker' ? WORKER_AFTER_GRACE_S : 0);
      t.ok(pod.terminationGracePeriodSeconds >= needed && pod.terminationGracePeriodSeconds <= needed + 15,
        `${name}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} covers preStop ${preStop}s + ${svc.drainSetting} (${needed}s), not much more`);
    }
    const pdb = of('PodDisruptionBudget').find((d) => d.metadata.name === `routerhub-${name}`)!;
    t.same(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels, `${name}: the PodDisruptionBudget selects its pods`);
    t.match(dep.spec.template.metadata.labels, dep.spec.selector.matchLabels);
    const service = of('Service').find((d) => d.metadata.name === `routerhub-${name}`);
    if (service) {
      t.same(service.spec.selector, dep.spec.selector.matchLabels, `${name}: the Service selects its pods`);
      t.equal(portOf(service.spec.ports[0].targetPort), listens, `${name}: the Service sends traffic to ${svc.portSetting}`);
    }
    if (name === 'worker') {
      t.same(c.envFrom.find((e: any) => e.secretRef)?.secretRef, { name: 'routerhub-provider-keys' }, 'provider keys come from a Secret, on workers only');
      for (const key of providerKeys) t.ok(key in providerSecret.stringData, `the provider-keys Secret has ${key}`);
    } else {
      t.notOk(c.envFrom.some((e: any) => e.secretRef?.name === 'routerhub-provider-keys'), `${name} holds no provider key`);
    }
  }

  const [hpa] = of('HorizontalPodAutoscaler');
  t.equal(hpa.spec.scaleTargetRef.name, 'routerhub-worker');
  const metric = hpa.spec.metrics[0].pods.metric.name as string;
  t.ok(registry.getSingleMetric(metric), `the HPA scales on ${metric}, a metric the worker exports`);
  const adapter = readFileSync(join(K8S, 'helm', 'prometheus-adapter-values.yaml'), 'utf8');
  t.match(adapter, `seriesQuery: '${metric}{`, 'the Prometheus adapter serves that metric');

  const catalog = of('ConfigMap').find((d) => d.metadata.name === 'routerhub-catalog')!;
  const parsed = ModelCatalog.parse(JSON.parse(catalog.data!['models.json']), 'catalog.yaml', FAMILIES);
  t.ok(parsed.models.length > 0, 'the catalog ConfigMap is a valid catalog');
  for (const key of parsed.models.flatMap((m) => m.deployments.map((d) => d.api_key_env)).filter(Boolean)) {
    t.ok(key! in providerSecret.stringData, `its ${key} is in the provider-keys Secret`);
  }

  for (const file of readdirSync(join(K8S, 'helm'))) {
    t.doesNotThrow(() => parse(readFileSync(join(K8S, 'helm', file), 'utf8')), `helm/${file} is YAML`);
  }
  const nats = parse(readFileSync(join(K8S, 'helm', 'nats-values.yaml'), 'utf8')) as any;
  t.equal(nats.config.cluster.replicas, 3, 'a 3-node NATS cluster');
  t.ok(nats.config.merge.max_payload, 'max_payload stated');
  t.match((parse(readFileSync(join(K8S, 'helm', 'redis-values.yaml'), 'utf8')) as any).commonConfiguration, /appendonly yes/);
});

t.test('the Dockerfile: multi-stage, production dependencies, non-root, sources that exist', async (t) => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  t.ok(stages.length >= 2, 'a build stage and a runtime stage');
  const runtime = stages.at(-1)!;
  t.match(runtime, /^USER (?!root)\w+/m, 'the runtime stage runs as a non-root user');
  t.match(text, /npm prune --omit=dev|npm ci --omit=dev/, 'only production dependencies reach the image');
  t.notMatch(runtime, /npm ci(?! --omit=dev)/, 'no dev install in the runtime stage');
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const must of ['node_modules', 'dist', '.git', '.env']) t.ok(ignored.includes(must), `.dockerignore keeps ${must} out of the build context`);
  for (const m of text.matchAll(/^COPY (?!--from)(.+)$/gm)) {
    const sources = m[1].trim().split(/\s+/).slice(0, -1);
    for (const src of sources) {
      t.ok(existsSync(join(ROOT, src)), `COPY ${src}: it exists`);
      t.notOk(ignored.includes(src), `COPY ${src}: not excluded by .dockerignore`);
    }
  }
  for (const svc of Object.values(SERVICES)) t.ok(existsSync(join(paths.DIST, svc.script.replace(/^dist\//, ''))), `${svc.script} is built`);
  t.ok(runtime.includes(`CMD ${JSON.stringify(SERVICES.ingress.command).replace(/,/g, ', ')}`), 'the image runs the ingress, with the services\' node flags');
});
