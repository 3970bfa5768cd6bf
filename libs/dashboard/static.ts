// The dashboard's web app as static files (built by libs/dashboard/build.mjs into dist/libs/dashboard/public):
// read once at start and served from memory with an ETag. Every asset comes from RouterHub (no CDN),
// and a strict Content-Security-Policy keeps the pages to their own scripts.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import type { Handler } from '../control/http';

export const PUBLIC_DIR = join(__dirname, 'public');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
};

const HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

interface Asset { body: Buffer; type: string; etag: string }

export function staticFiles(dir = PUBLIC_DIR): Handler {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`the dashboard's web app is not built (${dir}/index.html is missing): run "node deploy/setup.mjs"`);
  }
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const body = readFileSync(join(dir, name));
    assets.set(`/${name}`, { body, type: TYPES[extname(name)] ?? 'application/octet-stream', etag: `"${createHash('sha1').update(body).digest('base64url')}"` });
  }
  const index = assets.get('/index.html')!;
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    // The app routes in the URL's hash, so "/" is the only page; anything else must be a real file.
    const asset = path === '/' ? index : assets.get(path);
    if (!asset) return false;
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, { ...HEADERS, etag: asset.etag });
      res.end();
      return true;
    }
    res.writeHead(200, { ...HEADERS, 'content-type': asset.type, 'content-length': asset.body.length, etag: asset.etag });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  };
}
