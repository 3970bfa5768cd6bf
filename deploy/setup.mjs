#!/usr/bin/env node
// Set-up shared by `npm start`, `npm test` and `npm run bench`: install what a fresh Debian machine
// lacks (npm dependencies, nats-server, redis-server; chromium and haproxy for tests), then
// build (tsc, and the dashboard's web app with esbuild). Idempotent and quick when done.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
const onPath = (bin) =>
  spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin} || test -x /usr/bin/${bin}`], { stdio: 'ignore' }).status === 0;

// npm dependencies: reinstall when package-lock.json changed since the last install.
const lock = readFileSync(join(root, 'package-lock.json'));
const lockHash = createHash('sha256').update(lock).digest('hex');
const stamp = join(root, 'node_modules', '.routerhub-lock-hash');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
  console.log('[setup] installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, lockHash);
}

// NATS and Redis servers come from Debian's packages.
const missing = ['nats-server', 'redis-server'].filter((b) => !onPath(b));
if (missing.length > 0) {
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  console.log(`[setup] installing ${missing.join(', ')} with apt-get`);
  const apt = (...args) => run(sudo.length ? 'sudo' : 'apt-get', sudo.length ? ['apt-get', ...args] : args);
  try {
    apt('update', '-qq');
    apt('install', '-y', '-qq', ...missing);
  } catch {
    console.error(`[setup] could not install ${missing.join(', ')}: install the Debian packages by hand, or set NATS_URL / REDIS_URL to running servers.`);
    process.exit(1);
  }
}

// Only `npm test` needs these (`npm start` goes on without them): Debian's chromium for the
// dashboard's browser test (playwright-core, no browser download), haproxy for the tests of
// deploy/haproxy.cfg in front of real ingresses (which `npm start` needs too with ROUTERHUB_LB=haproxy),
// and docker-compose to validate the compose file.
const forTests = process.argv.includes('--test');
const optional = [
  { bin: '/usr/bin/chromium', pkg: 'chromium', why: 'the dashboard browser test', wanted: forTests },
  { bin: '/usr/sbin/haproxy', pkg: 'haproxy', why: 'the load balancer (ROUTERHUB_LB=haproxy; services/tests/headers.test.ts, fleet.test.ts)', wanted: forTests || process.env.ROUTERHUB_LB === 'haproxy' },
  // `docker-compose config` validates deploy/compose.yaml (services/tests/deploy.test.ts); no Docker engine needed.
  { bin: '/usr/bin/docker-compose', pkg: 'docker-compose', why: 'the deploy test (docker-compose config on deploy/compose.yaml)', wanted: forTests },
];
for (const { bin, pkg, why, wanted } of optional) {
  if (!wanted || existsSync(bin)) continue;
  console.log(`[setup] installing ${pkg} with apt-get (for ${why})`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const apt = (...args) => run(sudo.length ? 'sudo' : 'apt-get', sudo.length ? ['apt-get', ...args] : args);
  try {
    apt('install', '-y', '-qq', pkg);
  } catch {
    try {
      apt('update', '-qq');
      apt('install', '-y', '-qq', pkg);
    } catch {
      console.error(`[setup] could not install ${pkg}: install the Debian package "${pkg}" by hand to run ${why}.`);
      process.exit(1);
    }
  }
}

// A moved or deleted source leaves its old output in dist/, where tap would still run a stale test.
function pruneStale(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) pruneStale(path);
    else if (/\.js(\.map)?$/.test(entry.name)) {
      const source = join(root, path.slice(join(root, 'dist').length + 1).replace(/\.js(\.map)?$/, '.ts'));
      if (!existsSync(source)) rmSync(path);
    }
  }
}
pruneStale(join(root, 'dist'));

console.log('[setup] building (tsc, dashboard web app)');
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
run(process.execPath, [join(root, 'libs', 'dashboard', 'build.mjs')]);
