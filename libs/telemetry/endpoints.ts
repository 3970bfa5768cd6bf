// What an operator's tools ask a node:http process (the worker's WORKER_METRICS_PORT, the dashboard):
// GET /metrics (this process's registry), /healthz (the event loop runs) and /readyz (the process can
// do its work; the body says why not). The ingress answers the same paths on uWebSockets.js (http.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics, registry } from './metrics';

/** Whether the process can do its work now, and a line per reason it cannot. */
export interface Readiness { ready: boolean; failed: string[] }

/** Answers the three operator paths; returns false for any other request. */
export function operatorEndpoints(ready: () => Promise<Readiness>): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/metrics') {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text);
    } else if (path === '/healthz') {
      json(res, 200, { status: 'ok' });
    } else if (path === '/readyz') {
      const r = await ready();
      json(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not_ready', failed: r.failed });
    } else {
      return false;
    }
    return true;
  };
}

/**
 * Counts dashboard requests by resource once answered. The resource is the first path segment under
 * /api/v1/ from a fixed list, so ids and unknown paths cannot grow the label.
 */
const RESOURCES = new Set(['session', 'key', 'keys', 'accounts', 'users', 'usage', 'requests', 'models']);
export function countDashboardRequest(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const m = /^\/api\/v1\/([^/]+)/.exec(path);
  const resource = m ? (RESOURCES.has(m[1]) ? m[1] : 'other') : path.startsWith('/api/') ? 'other' : ['/metrics', '/healthz', '/readyz'].includes(path) ? path.slice(1) : 'static';
  res.once('finish', () => metrics.dashboardRequests.inc({ resource, status: String(res.statusCode) }));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) }).end(text);
}
