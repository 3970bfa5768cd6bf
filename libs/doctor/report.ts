// A doctor run over the whole catalog (a few deployments at a time: it spends real provider tokens
// and must not trip their rate limits), and the table it prints.
import { deploymentId, type ModelCatalog } from '../routing/catalog';
import type { RequestLog } from '../store/requests';
import { checkDeployment, usageWasEstimated, type CheckupTarget, type DeploymentCheckup } from './checkup';

export interface DoctorRun { ran_at: string; routerhub_url: string; results: DeploymentCheckup[] }

export async function runDoctor(catalog: ModelCatalog, target: CheckupTarget, concurrency = 4): Promise<DoctorRun> {
  const ran_at = new Date().toISOString();
  const jobs = catalog.models.flatMap((m) => m.deployments.map((d) => () => checkDeployment(target, m, d)));
  const results: DeploymentCheckup[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }));
  return { ran_at, routerhub_url: target.baseUrl, results };
}

/** Request-log records read per model at most when confirming usage (doctor's own are the newest). */
const RECORDS_PER_MODEL = 200;

/**
 * Marks the checkups whose responses RouterHub billed on an estimate (the provider sent no usage),
 * from the request log. Records are written just after each response ends: call this after the run.
 */
export async function confirmUsage(run: DoctorRun, catalog: ModelCatalog, log: RequestLog): Promise<void> {
  for (const model of catalog.models) {
    const checkups = run.results.filter((r) => r.model === model.id && r.usage_reported);
    if (checkups.length === 0) continue;
    const { data } = await log.list({ model: model.id, limit: RECORDS_PER_MODEL });
    const estimated = new Set(data.filter((r) => r.usage_estimated).map((r) => r.response_id));
    for (const c of checkups) {
      const d = model.deployments.find((x) => deploymentId(x) === c.deployment);
      if (d && c.response_ids.some((id) => estimated.has(id))) usageWasEstimated(c, model, d, run.routerhub_url);
    }
  }
}

const mark = (v: boolean | null) => (v === null ? '–' : v ? 'ok' : 'FAIL');

/** The table an operator reads: one row per deployment, then the fix for each failure. */
export function formatReport(run: DoctorRun): string {
  const header = ['deployment', 'model', 'reachable', 'auth', 'first token', 'tool call', 'reasoning', 'usage', 'cached'];
  const rows = run.results.map((r) => [
    r.deployment, r.model, mark(r.reachable), mark(r.auth_ok),
    r.time_to_first_token_ms === null ? '–' : `${r.time_to_first_token_ms} ms`,
    mark(r.tool_call_ok), mark(r.reasoning_ok), mark(r.usage_reported), r.cached_tokens === null ? '–' : String(r.cached_tokens),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const failed = run.results.filter((r) => !r.ok);
  return [
    line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), '',
    failed.length === 0
      ? `All ${run.results.length} deployments ok (RouterHub at ${run.routerhub_url}).`
      : `${failed.length} of ${run.results.length} deployments need a fix:\n${failed.map((r) => `- ${r.deployment}: ${r.fix}`).join('\n')}`,
  ].join('\n');
}

/** The last run's result for each deployment id of the catalog, for the dashboard's Models page. */
export function checkupsById(run: DoctorRun | null, catalog: ModelCatalog): Map<string, DeploymentCheckup> {
  const ids = new Set(catalog.models.flatMap((m) => m.deployments.map(deploymentId)));
  return new Map((run?.results ?? []).filter((r) => ids.has(r.deployment)).map((r) => [r.deployment, r]));
}
