#!/usr/bin/env node
// Builds the dashboard's web app (libs/dashboard/app) into static files that services/dashboard serves
// (dist/libs/dashboard/public): one esbuild bundle of Preact + htm and the pages, the stylesheet, the
// HTML shell. Run by deploy/setup.mjs after tsc; takes well under a second.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const app = join(here, 'app');
const out = join(root, 'dist', 'libs', 'dashboard', 'public');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(app, 'main.js')],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['chrome120', 'firefox120'],
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css', 'favicon.svg']) copyFileSync(join(app, f), join(out, f));
