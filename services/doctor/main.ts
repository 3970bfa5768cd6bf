// `npm run doctor`: wiring only (libs/doctor holds the logic). Checks every deployment of the catalog
// through the running cluster, prints the table with a fix per failure, keeps the run in Redis for
// the dashboard when REDIS_URL is set, and exits 1 when a deployment needs a fix.
import { join } from 'node:path';
import { confirmUsage, formatReport, runDoctor } from '../../libs/doctor/report';
import { loadSettings } from '../../libs/config/settings';
import { FAMILIES } from '../../libs/providers/index';
import { ModelCatalog } from '../../libs/routing/catalog';
import { saveDoctorRun } from '../../libs/store/doctor';
import { connectRedis } from '../../libs/store/redis';
import { RequestLog } from '../../libs/store/requests';

async function main(): Promise<number> {
  const settings = loadSettings();
  const key = settings.ROUTERHUB_API_KEY;
  if (!key) {
    console.error('Set ROUTERHUB_API_KEY to a management key (`npm run keys -- create --admin --name doctor`): doctor pins each request to one deployment, which only management keys may do.');
    return 2;
  }
  const baseUrl = (settings.ROUTERHUB_URL ?? `http://127.0.0.1:${settings.PORT}`).replace(/\/+$/, '').replace(/\/v1$/, '');
  const catalogPath = settings.ROUTERHUB_MODELS ?? join(__dirname, '..', '..', '..', 'deploy', 'models.json');
  const catalog = ModelCatalog.load(catalogPath, FAMILIES);
  const only = settings.ROUTERHUB_DOCTOR_MODELS.length > 0 ? settings.ROUTERHUB_DOCTOR_MODELS : null;
  const checked = only ? new ModelCatalog(catalog.models.filter((m) => only.includes(m.id))) : catalog;
  console.log(`Checking ${checked.models.reduce((n, m) => n + m.deployments.length, 0)} deployments of ${checked.models.length} models (${catalogPath}) through ${baseUrl}…\n`);
  const run = await runDoctor(checked, { baseUrl, key, timeoutMs: settings.ROUTERHUB_DOCTOR_TIMEOUT_MS });
  // With the cluster's Redis: usage RouterHub had to estimate shows in the request log, and the run
  // goes to the dashboard's Models page.
  const redis = settings.REDIS_URL ? connectRedis(settings.REDIS_URL) : null;
  try {
    if (redis) await confirmUsage(run, checked, new RequestLog(redis, { maxEntries: settings.ROUTERHUB_REQUEST_LOG_MAX, maxAgeMs: settings.ROUTERHUB_REQUEST_LOG_DAYS * 86_400_000 }));
    console.log(formatReport(run));
    if (redis) {
      await saveDoctorRun(redis, run);
      console.log('\nThis run is on the dashboard\'s Models page.');
    } else {
      console.log('\nSet REDIS_URL (the cluster\'s Redis) to check that usage came from the providers, and to show this run on the dashboard\'s Models page.');
    }
  } finally {
    redis?.disconnect();
  }
  return run.results.every((r) => r.ok) ? 0 : 1;
}

main().then((code) => process.exit(code), (err: Error) => {
  console.error(`doctor could not run: ${err.message}`);
  process.exit(2);
});
