// The dashboard service's HTTP server (node:http): a list of handlers tried in order, each saying
// whether it took the request; the control API is one (api.ts), the dashboard's static files plug
// in after it (services/dashboard/main.ts). Nothing matched: an OpenAI-shaped 404.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorJson, HttpError } from '../protocol/errors';
import { redact } from '../telemetry/secrets';

/** Takes the request (and answers it) or returns false to let the next handler try. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createDashboardServer(handlers: Handler[], log: (msg: string) => void): Server {
  return createServer((req, res) => {
    void (async () => {
      for (const h of handlers) if (await h(req, res)) return;
      sendError(res, new HttpError(404, `${req.method} ${req.url} is not a RouterHub dashboard route. The control API lives under /api/v1/ (see the README).`, 'invalid_request_error', 'not_found'));
    })().catch((err: Error) => {
      log(`${req.method} ${req.url} failed: ${err.stack ?? err.message}`);
      if (!res.headersSent) sendError(res, new HttpError(500, `RouterHub dashboard internal error: ${redact(err.message)}`, 'server_error', 'internal_error'));
      else res.destroy();
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: HttpError, headers: Record<string, string | string[]> = {}): void {
  const text = errorJson(e.body);
  res.writeHead(e.status, {
    'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text),
    ...(e.retryAfterSeconds !== null ? { 'retry-after': String(e.retryAfterSeconds) } : {}), ...headers,
  });
  res.end(text);
}

/** The request body as JSON (an object), bounded in size; 4xx errors name the problem. */
export function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      req.resume();
      return reject(new HttpError(415, `Send the body as JSON with "Content-Type: application/json" (got ${type ? `"${type}"` : 'none'}).`, 'invalid_request_error', 'unsupported_media_type'));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > maxBytes) {
        failed = true;
        reject(new HttpError(413, `The request body is larger than the control API accepts (${maxBytes} bytes).`, 'invalid_request_error', 'request_too_large'));
        return;
      }
      chunks.push(c);
    });
    req.on('error', (err) => !failed && ((failed = true), reject(err)));
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch (err) {
        return reject(new HttpError(400, `The request body is not valid JSON: ${(err as Error).message}`, 'invalid_request_error', 'invalid_json'));
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return reject(new HttpError(400, 'The request body must be a JSON object.', 'invalid_request_error', 'invalid_json'));
      }
      resolve(body as Record<string, unknown>);
    });
  });
}

/** Cookie header → name/value pairs. */
export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}
