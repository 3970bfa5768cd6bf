// The settings module: values converted and checked, a bad value stops every process at start with
// its name, every variable the code reads is declared here, and the README's table is this list.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { withSettingsTable } from '../../deploy/settings';
import { loadSettings, parseBytes, parseDuration, SETTINGS, SettingsError } from './settings';

const ROOT = join(__dirname, '..', '..', '..');

t.test('defaults, units and conversions', async (t) => {
  const s = loadSettings({});
  t.equal(s.PORT, 8080);
  t.equal(s.ROUTERHUB_MAX_BODY_BYTES, 8 * 1024 * 1024);
  t.equal(s.ROUTERHUB_RATE_LIMITS_FAIL_OPEN, false);
  t.same(s.ROUTERHUB_DASHBOARD_ORIGINS, []);
  t.equal(s.NATS_URL, undefined);
  const given = loadSettings({ ROUTERHUB_MAX_BODY_BYTES: '8MiB', ROUTERHUB_MAX_WAITING_BYTES: '512 KiB', ROUTERHUB_KEEPALIVE_MS: '30s', ROUTERHUB_MAX_RESPONSE_MS: '10m', ROUTERHUB_LOG_BODIES: '1', ROUTERHUB_DASHBOARD_ORIGINS: 'https://a.example, https://b.example', WORKER_METRICS_PORT: '9100', PORT: '' });
  t.equal(given.ROUTERHUB_MAX_BODY_BYTES, 8_388_608);
  t.equal(given.ROUTERHUB_MAX_WAITING_BYTES, 524_288);
  t.equal(given.ROUTERHUB_KEEPALIVE_MS, 30_000);
  t.equal(given.ROUTERHUB_MAX_RESPONSE_MS, 600_000);
  t.equal(given.ROUTERHUB_LOG_BODIES, true);
  t.same(given.ROUTERHUB_DASHBOARD_ORIGINS, ['https://a.example', 'https://b.example']);
  t.equal(given.WORKER_METRICS_PORT, 9100);
  t.equal(given.PORT, 8080, 'an empty variable counts as unset');
  t.equal(parseBytes('1.5GB'), 1_500_000_000);
  t.equal(parseBytes('8 megabytes'), null);
  t.equal(parseDuration('1h'), 3_600_000);
  t.equal(parseDuration('-5s'), null);
});

t.test('a bad value is refused with its name and what was expected, every bad one at once', async (t) => {
  const refused = (env: Record<string, string>) => {
    try {
      loadSettings(env);
    } catch (err) {
      t.ok(err instanceof SettingsError);
      return (err as Error).message;
    }
    return t.fail(`accepted ${JSON.stringify(env)}`);
  };
  t.match(refused({ ROUTERHUB_MAX_BODY_BYTES: 'lots' }), /ROUTERHUB_MAX_BODY_BYTES="lots": expected a size in bytes, e.g\. 8388608 or 8MiB/);
  t.match(refused({ ROUTERHUB_MAX_JSON_DEPTH: '64k' }), /ROUTERHUB_MAX_JSON_DEPTH="64k": expected a whole number of at least 1/);
  t.match(refused({ ROUTERHUB_MAX_TOOLS: '0' }), /ROUTERHUB_MAX_TOOLS/);
  t.match(refused({ ROUTERHUB_MAX_STRING_LENGTH: '1.5' }), /ROUTERHUB_MAX_STRING_LENGTH/);
  t.match(refused({ PORT: '70000' }), /PORT="70000": expected a port number from 0 to 65535/);
  t.match(refused({ ROUTERHUB_KEEPALIVE_MS: 'soon' }), /expected a duration in milliseconds, e\.g\. 30000 or 30s/);
  t.match(refused({ ROUTERHUB_LOG_BODIES: 'maybe' }), /ROUTERHUB_LOG_BODIES="maybe": expected 1 or 0/);
  t.match(refused({ ROUTERHUB_LOG_FORMAT: 'xml' }), /expected one of json, pretty/);
  const both = refused({ PORT: 'x', ROUTERHUB_WORKER_DEAD_MS: 'y' });
  t.match(both, /PORT="x"/);
  t.match(both, /ROUTERHUB_WORKER_DEAD_MS="y"/);
});

t.test('a bad setting stops each process at start, naming the variable', async (t) => {
  for (const service of ['ingress', 'worker', 'dashboard']) {
    const run = spawnSync(process.execPath, [join(ROOT, 'dist', 'services', service, 'main.js')], {
      env: { ...process.env, ROUTERHUB_MAX_BODY_BYTES: '8 megabytes', ROUTERHUB_LOG_FORMAT: 'json', NATS_URL: 'nats://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' },
      encoding: 'utf8', timeout: 20_000,
    });
    t.equal(run.status, 1, `${service} exited 1`);
    t.match(run.stderr, /cannot start: invalid setting: ROUTERHUB_MAX_BODY_BYTES=\\"8 megabytes\\": expected a size in bytes/, `${service} named the variable`);
  }
});

/** Every `env.NAME` / `process.env.NAME` the code reads (tests, the settings module and SDK variables aside). */
function variablesRead(): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', 'fixtures', 'config', 'testing'].includes(entry.name)) visit(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        for (const m of readFileSync(join(ROOT, path), 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]+)|\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)) found.set(m[1] ?? m[2], path);
      }
    }
  };
  for (const dir of ['services', 'libs', 'deploy']) visit(dir);
  return found;
}

t.test('every variable the code reads is declared in the settings module', async (t) => {
  const declared = new Set(Object.keys(SETTINGS));
  for (const [name, where] of variablesRead()) {
    if (name === 'PATH' || name.startsWith('OTEL_')) continue; // the shell's; the OpenTelemetry SDK's own
    t.ok(declared.has(name), `${name} (read in ${where}) is declared in libs/config/settings.ts`);
  }
});

t.test('the README\'s settings table is the one the module makes (npm run settings writes it)', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  t.equal(readme, withSettingsTable(readme), 'README.md is up to date: run `npm run settings`');
});
