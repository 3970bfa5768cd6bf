// GET /api/v1/models for the dashboard's Models page: the catalog the ingress routes by (read the same
// way, from ROUTERHUB_MODELS through libs/routing), each deployment with its provider family, its
// routing state now (healthy, rate limited, ejected, half-open: the fleet's shared record in Redis) and
// its health in the last hour from the request log, and the ingress URL a Codex config points at.
// Signed-in people and any valid API key may read it (the ingress's /v1/models asks the same).
// Each deployment also carries its result in the last `npm run doctor` run (kept in Redis).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControlPlane } from '../control/api';
import { SESSION_COOKIE } from '../control/api';
import { cookies, sendError, sendJson, type Handler } from '../control/http';
import { HttpError } from '../protocol/errors';
import { deploymentId, type ModelCatalog } from '../routing/catalog';
import { checkupsById } from '../doctor/report';
import { lastDoctorRun } from '../store/doctor';
import { readHealth, statusOf, type HealthRecord } from '../routing/health';
import { keyProblem } from '../store/keys';
import type { RequestRecord } from '../store/requests';

export interface DeploymentHealth { requests: number; errors: number; rate_limited: number }

/** A deployment's routing state for the API: what routing does with it now, and why. */
export function routingState(r: HealthRecord | undefined, now: number) {
  const s = statusOf(r, now);
  return {
    state: s.state,
    until: s.until === null ? null : new Date(s.until).toISOString(),
    consecutive_failures: r?.failures ?? 0,
    ejections: r?.ejections ?? 0,
    last_error: r?.last_error || null,
  };
}

const HOUR_MS = 3_600_000;
/** Request-log records read per health computation at most, so a busy fleet cannot make this slow. */
const MAX_RECORDS = 5_000;

/** Per deployment id: responses served, errors and rate limits (failed attempts included) in `records`. */
export function healthOf(records: RequestRecord[]): Map<string, DeploymentHealth> {
  const out = new Map<string, DeploymentHealth>();
  const of = (id: string) => out.get(id) ?? (out.set(id, { requests: 0, errors: 0, rate_limited: 0 }), out.get(id)!);
  for (const r of records) {
    for (const a of r.attempts ?? []) {
      const h = of(a.deployment);
      h.requests++;
      h.errors++;
      if (a.status === 429 || a.code === 'rate_limit_exceeded') h.rate_limited++;
    }
    if (!r.deployment) continue;
    const h = of(r.deployment);
    h.requests++;
    if (r.status === 'failed') {
      h.errors++;
      if (r.error_code === 'rate_limit_exceeded') h.rate_limited++;
    }
  }
  return out;
}

async function allowed(control: ControlPlane, req: IncomingMessage): Promise<boolean> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (m) return keyProblem(await control.keys.byKey(m[1])) === null;
  const token = cookies(req)[SESSION_COOKIE];
  const userId = token ? await control.sessions.get(token) : null;
  const user = userId ? await control.users.get(userId) : null;
  return user !== null && !user.disabled;
}

async function lastHour(control: ControlPlane, now: number): Promise<RequestRecord[]> {
  const out: RequestRecord[] = [];
  let before: string | undefined;
  while (out.length < MAX_RECORDS) {
    const page = await control.requests.list({ limit: 500, before });
    for (const r of page.data) {
      if (Date.parse(r.time) < now - HOUR_MS) return out;
      out.push(r);
    }
    if (!page.has_more || !page.next_before) break;
    before = page.next_before;
  }
  return out;
}

/** `catalog` is read per request: a reloaded catalog (SIGHUP) shows at once. */
export function modelsHandler(control: ControlPlane, catalog: () => ModelCatalog, ingressUrl: string): Handler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    if (path !== '/api/v1/models') return false;
    if (req.method !== 'GET') {
      sendError(res, new HttpError(405, `${req.method} is not allowed on /api/v1/models.`, 'invalid_request_error', 'method_not_allowed'));
      return true;
    }
    if (!(await allowed(control, req))) {
      sendError(res, new HttpError(401, 'Sign in to the dashboard, or send "Authorization: Bearer sk-rh-…".', 'invalid_request_error', 'missing_credentials'));
      return true;
    }
    const now = Date.now();
    const [records, doctorRun, states] = await Promise.all([lastHour(control, now), lastDoctorRun(control.redis), readHealth(control.redis)]);
    const health = healthOf(records);
    const current = catalog();
    const checkups = checkupsById(doctorRun, current);
    const data = current.models.map((m) => ({
      id: m.id,
      display_name: m.display_name ?? m.id,
      context_window: m.context_window ?? null,
      max_output_tokens: m.max_output_tokens ?? null,
      reasoning: m.reasoning ?? false,
      pricing: m.pricing ?? null,
      deployments: m.deployments.map((d) => {
        const id = deploymentId(d);
        return { id, provider: d.provider, model: d.model, priority: d.priority ?? 0, weight: d.weight ?? 1, pricing: d.pricing ?? null, routing: routingState(states.get(id), now), health_last_hour: health.get(id) ?? { requests: 0, errors: 0, rate_limited: 0 }, doctor: checkups.get(id) ?? null };
      }),
    }));
    sendJson(res, 200, { object: 'list', data, ingress_url: ingressUrl, doctor_ran_at: doctorRun?.ran_at ?? null });
    return true;
  };
}
