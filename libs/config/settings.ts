// Every setting of every RouterHub process, in one place: its type, unit, default and meaning,
// validated at start with env-schema (ajv). A bad value stops the process naming the variable and
// what it expected, instead of turning into NaN somewhere (`ROUTERHUB_MAX_BODY_BYTES=8MiB` used to
// switch the body limit off). Sizes take units (`8MiB`), durations too (`30s`, `10m`). The README's
// settings table is generated from this list (`npm run settings`; a test keeps them equal).
// Provider keys are not here: their variables are named by the catalog (`api_key_env`).
import envSchema from 'env-schema';
import type Ajv from 'ajv';

type Kind = 'port' | 'count' | 'integer' | 'bytes' | 'ms' | 'flag' | 'string' | 'list';
type Reader = 'ingress' | 'worker' | 'dashboard' | 'launcher' | 'doctor';

interface Spec {
  kind: Kind;
  /** Used when the variable is unset (or empty). */
  default?: number | string | boolean;
  /** The default as the README states it, when it is not a plain value (e.g. "ingress port + 1"). */
  shown?: string;
  values?: readonly string[];
  /** Smallest value allowed (integers; 1 for counts by default). */
  min?: number;
  text: string;
  readBy: readonly Reader[];
}

const MiB = 1024 * 1024;
const ALL: readonly Reader[] = ['ingress', 'worker', 'dashboard', 'launcher'];

export const SETTINGS = {
  PORT: { kind: 'port', default: 8080, text: 'the ingress port', readBy: ['ingress', 'launcher', 'doctor'] },
  HOST: { kind: 'string', default: '127.0.0.1', text: 'the address the ingress, the dashboard and a worker\'s metrics listen on (`0.0.0.0` in a container)', readBy: ['ingress', 'worker', 'dashboard', 'launcher'] },
  NATS_URL: { kind: 'string', shown: 'unset (launcher: its own)', text: 'the NATS server(s) (comma-separated for a cluster); when unset the launcher starts its own on a free port', readBy: ['ingress', 'worker', 'launcher'] },
  REDIS_URL: { kind: 'string', shown: 'unset (launcher: its own)', text: 'the Redis server; when unset the launcher starts its own on a free port, keeping `.routerhub/redis` with an append-only file (`appendfsync everysec`: a crash loses at most the last second of keys and usage)', readBy: ALL },
  ROUTERHUB_MODELS: { kind: 'string', shown: '`deploy/models.json`', text: 'the model catalog', readBy: ['ingress', 'dashboard', 'launcher', 'doctor'] },
  ROUTERHUB_DEMO_URL: { kind: 'string', shown: 'the launcher\'s demo upstream', text: 'where the default catalog\'s `routerhub/demo*` models are served (compose: the `demo-upstream` service)', readBy: ['ingress', 'worker', 'dashboard'] },
  ROUTERHUB_DEV_KEY: { kind: 'string', shown: 'generated', text: 'the key the local cluster accepts (in the `default` account); only a key the launcher generated is printed, once, in its banner', readBy: ['launcher'] },
  ROUTERHUB_DEFAULT_MODEL: { kind: 'string', default: 'routerhub/demo', text: 'the model the launcher\'s Codex snippet names', readBy: ['launcher'] },
  ROUTERHUB_DASHBOARD_PORT: { kind: 'port', shown: 'ingress port + 1', text: 'the dashboard service (web app at `/`, control API `/api/v1/…`)', readBy: ['dashboard', 'launcher'] },
  ROUTERHUB_PUBLIC_URL: { kind: 'string', shown: '`http://HOST:PORT`', text: 'the ingress URL the dashboard\'s Codex snippets show', readBy: ['dashboard'] },
  ROUTERHUB_ADMIN_KEY: { kind: 'string', text: 'a management key (`sk-rh-…`) registered at start (by the launcher, or the dashboard service in a deployment): admin on the control API, for scripts and `npm run doctor`', readBy: ['dashboard', 'launcher'] },
  ROUTERHUB_ADMIN_EMAIL: { kind: 'string', shown: '`admin@routerhub.local`', text: 'the first admin user, created at start when no user exists (or when this email does not)', readBy: ['dashboard', 'launcher'] },
  ROUTERHUB_ADMIN_PASSWORD: { kind: 'string', shown: 'generated', text: 'the first admin\'s password; a generated one is printed once', readBy: ['dashboard', 'launcher'] },
  ROUTERHUB_SESSION_TTL_S: { kind: 'count', default: 43_200, text: 'a dashboard session\'s life, in seconds (12 h)', readBy: ['dashboard'] },
  ROUTERHUB_DASHBOARD_ORIGINS: { kind: 'list', default: '', shown: 'unset', text: 'comma-separated origins allowed to change state with a session cookie, besides the dashboard\'s own host (e.g. behind a proxy with another name)', readBy: ['dashboard'] },
  ROUTERHUB_RATE_WINDOW_MS: { kind: 'ms', default: 60_000, text: 'the `rpm`/`tpm` window; set it shorter only in tests (ingresses and workers must agree)', readBy: ['ingress', 'worker', 'dashboard'] },
  ROUTERHUB_LEASE_TTL_MS: { kind: 'ms', default: 15_000, text: 'a `max_concurrent` lease lapses this long after its ingress last renewed it (an ingress that dies frees its streams\' leases within this)', readBy: ['ingress'] },
  ROUTERHUB_KEY_CACHE_MS: { kind: 'ms', default: 5000, min: 0, text: 'how long `GET /v1/models` trusts a key it checked; also how recently a key must have been admitted for fail-open', readBy: ['ingress'] },
  ROUTERHUB_RATE_LIMITS_FAIL_OPEN: { kind: 'flag', default: false, text: '`1`: when Redis is unreachable, admit keys this ingress admitted within `ROUTERHUB_KEY_CACHE_MS`, without limits; otherwise every request gets 503 `key_store_unavailable` (counter `routerhub_limit_store_errors_total{outcome}` either way)', readBy: ['ingress'] },
  ROUTERHUB_REDIS_TIMEOUT_MS: { kind: 'ms', default: 1000, text: 'every Redis command of the ingress and the workers fails after this long without an answer (a paused, dead or unreachable Redis): a key check then answers 503 `key_store_unavailable` within about this bound, and `/readyz`\'s Redis PING uses the same bound', readBy: ['ingress', 'worker'] },
  ROUTERHUB_REQUEST_LOG_MAX: { kind: 'count', default: 100_000, text: 'the request log keeps about this many records', readBy: ['worker', 'dashboard'] },
  ROUTERHUB_REQUEST_LOG_DAYS: { kind: 'count', default: 30, text: 'the request log keeps no record older than this many days', readBy: ['worker', 'dashboard'] },
  ROUTERHUB_LOG_BODIES: { kind: 'flag', default: false, text: '`1`: the request log also keeps each request\'s body and the output text (workers); off by default', readBy: ['worker'] },
  ROUTERHUB_LEDGER_RETRY_MS: { kind: 'ms', default: 120_000, text: 'how long a worker retries a usage-ledger write Redis refuses (restart, timeout) before it logs the line and counts it in `routerhub_usage_records_lost_total`', readBy: ['worker'] },
  ROUTERHUB_INGRESSES: { kind: 'count', default: 1, text: 'ingresses the local launcher starts (each on its own port, sharing NATS and Redis)', readBy: ['launcher'] },
  ROUTERHUB_LB: { kind: 'string', default: '', shown: 'unset', values: ['', 'haproxy'], text: '`haproxy`: the launcher starts Debian\'s HAProxy from `deploy/haproxy.cfg` in front of its ingresses, on `PORT`', readBy: ['launcher'] },
  ROUTERHUB_LB_CHECK_MS: { kind: 'ms', default: 1000, text: 'how often the launcher\'s HAProxy checks each ingress\'s `/readyz`', readBy: ['launcher'] },
  ROUTERHUB_NATS_CLUSTER: { kind: 'count', default: 1, text: 'NATS servers the launcher starts as one cluster (`3`: the `deploy/nats/` configuration on free loopback ports); ingresses and workers get every URL', readBy: ['launcher'] },
  ROUTERHUB_MODELS_POLL_MS: { kind: 'ms', default: 0, min: 0, shown: '0 (off)', text: 'how often the ingress and the dashboard check the catalog file for changes (SIGHUP reloads it at once either way); a file that does not load is logged and the old catalog kept', readBy: ['ingress', 'dashboard'] },
  ROUTERHUB_DRAIN_NOTICE_MS: { kind: 'ms', default: 5000, min: 0, text: 'on SIGTERM, how long an ingress keeps taking connections after `/readyz` turned 503, for the load balancer to notice (0 behind a balancer that retries refused connections, as `deploy/haproxy.cfg` does)', readBy: ['ingress'] },
  ROUTERHUB_WORKERS: { kind: 'count', default: 2, text: 'workers the local launcher starts', readBy: ['launcher'] },
  ROUTERHUB_MAX_BODY_BYTES: { kind: 'bytes', default: 8 * MiB, text: 'larger request bodies get 413 `request_too_large`', readBy: ['ingress'] },
  ROUTERHUB_BODY_TIMEOUT_MS: { kind: 'ms', default: 5000, text: 'a request body that stops arriving for this long gets 408 `request_timeout` (keep it under uWebSockets.js\'s own 10 s idle close, which answers nothing)', readBy: ['ingress'] },
  ROUTERHUB_MAX_JSON_DEPTH: { kind: 'count', default: 64, text: 'levels of arrays and objects inside any one top-level field of a request (`input`, `text`, `metadata`, …); deeper gets 400 `nested_too_deep` (see "Limits on input")', readBy: ['ingress'] },
  ROUTERHUB_MAX_TOOL_SCHEMA_DEPTH: { kind: 'count', default: 32, text: 'levels inside one tool\'s JSON schema (`tools[i].parameters`, namespaced tools too); 400 `nested_too_deep`', readBy: ['ingress'] },
  ROUTERHUB_MAX_INPUT_ITEMS: { kind: 'count', default: 20_000, text: 'items in `input`; more get 400 `array_above_max_length`', readBy: ['ingress'] },
  ROUTERHUB_MAX_TOOLS: { kind: 'count', default: 512, text: 'tools, counting those inside `namespace` tools; more get 400 `array_above_max_length`', readBy: ['ingress'] },
  ROUTERHUB_MAX_STRING_LENGTH: { kind: 'count', default: 4 * MiB, text: 'characters in any one string or object key of a request; longer gets 400 `string_above_max_length`', readBy: ['ingress'] },
  ROUTERHUB_MAX_CLIENT_BACKLOG_BYTES: { kind: 'bytes', default: 4 * MiB, text: 'SSE held for a client that reads too slowly; past it the client is cut off and the upstream call cancelled', readBy: ['ingress'] },
  ROUTERHUB_MAX_WAITING_BYTES: { kind: 'bytes', default: 128 * MiB, text: 'request bytes an ingress holds for requests no worker has accepted yet; past it new requests get 503 `server_at_capacity` with `Retry-After: 1` at once (gauge `routerhub_waiting_request_bytes`, counter `routerhub_rejected_at_capacity_total`)', readBy: ['ingress'] },
  ROUTERHUB_KEEPALIVE_MS: { kind: 'ms', default: 10_000, text: 'a `response.in_progress` event after this much upstream silence (Codex\'s idle timer); an ingress that hears nothing from a live worker for this plus `ROUTERHUB_WORKER_DEAD_MS` takes the response\'s frames as lost', readBy: ['ingress', 'worker'] },
  ROUTERHUB_WORKER_DEAD_MS: { kind: 'ms', default: 3000, text: 'a worker not heard from this long is dead; its streams end in `response.failed` (judged after a NATS round trip, so that an ingress behind in reading NATS does not blame its own delay on the workers)', readBy: ['ingress'] },
  ROUTERHUB_ACCEPT_TIMEOUT_MS: { kind: 'ms', default: 1000, text: 'a job no worker accepted within this is republished', readBy: ['ingress'] },
  ROUTERHUB_MAX_DISPATCHES: { kind: 'count', default: 3, text: 'a job no worker accepted after this many publications fails with 503 `no_worker_available`', readBy: ['ingress'] },
  ROUTERHUB_MAX_RESPONSE_MS: { kind: 'ms', default: 30 * 60_000, text: 'a response running longer is stopped with `response.failed` (`response_timeout`)', readBy: ['ingress'] },
  UPSTREAM_HEADERS_TIMEOUT_MS: { kind: 'ms', default: 60_000, text: 'how long an upstream may take to answer with its status and headers (workers; also the longest a half-open probe is held)', readBy: ['ingress', 'worker'] },
  UPSTREAM_IDLE_TIMEOUT_MS: { kind: 'ms', default: 600_000, text: 'how long an upstream stream may stay silent before it counts as broken (workers)', readBy: ['worker'] },
  WORKER_POOL: { kind: 'string', default: 'default', text: 'the NATS job subject a worker takes jobs from and an ingress publishes to (`rh.job.<pool>`)', readBy: ['ingress', 'worker'] },
  WORKER_MAX_STREAMS: { kind: 'count', default: 10_000, text: 'a worker at this many streams takes no new jobs (the excess gets a 503 Codex retries)', readBy: ['worker'] },
  WORKER_MAX_LAG_MS: { kind: 'ms', default: 500, text: 'a worker whose event loop lags this much takes no new jobs', readBy: ['worker'] },
  WORKER_HEARTBEAT_MS: { kind: 'ms', default: 1000, text: 'how often a worker tells the ingresses it is alive (keep it well under `ROUTERHUB_WORKER_DEAD_MS`)', readBy: ['worker'] },
  WORKER_STOP_GRACE_MS: { kind: 'ms', default: 5000, min: 0, text: 'on SIGTERM, how long a worker lets its streams finish; it then ends the rest with `worker_shutting_down`', readBy: ['worker'] },
  INGRESS_STOP_GRACE_MS: { kind: 'ms', default: 25_000, min: 0, text: 'on SIGTERM, how long an ingress lets its streams finish, counted from the signal (the notice included); the rest then end in `response.failed` `ingress_shutting_down`, which clients retry (under Kubernetes\' default 30 s kill)', readBy: ['ingress'] },
  WORKER_METRICS_PORT: { kind: 'port', text: 'a worker\'s `/metrics` (Prometheus), `/healthz` and `/readyz` (NATS connected, Redis answers, not stopping) for an orchestrator\'s probes; unset: none', readBy: ['worker'] },
  ROUTERHUB_HEALTH_POLL_MS: { kind: 'ms', default: 2000, text: 'how often an ingress or worker re-reads deployment health from Redis, in case it missed a published change (changes arrive by pub/sub at once)', readBy: ['ingress', 'worker'] },
  ROUTERHUB_DEPLOYMENT_HEALTH: { kind: 'string', default: 'on', values: ['on', 'off'], text: '`off`: deployment health is neither recorded nor used; every plan is tried in order (the test helper starts clusters with it off unless a test turns it on)', readBy: ['ingress', 'worker'] },
  ROUTERHUB_RESPONSE_CACHE_TTL_S: { kind: 'count', default: 3600, text: 'life in seconds of a response-cache entry asked for with `x-routerhub-cache` on a model whose catalog entry sets no `response_cache.ttl_s` (workers)', readBy: ['worker'] },
  ROUTERHUB_RESPONSE_CACHE_MAX_ENTRY_BYTES: { kind: 'bytes', default: MiB, text: 'a response whose frames take more is served but not stored in the response cache (workers)', readBy: ['worker'] },
  ROUTERHUB_RESPONSE_CACHE_MAX_BYTES: { kind: 'bytes', default: 256 * MiB, text: 'all response-cache entries together stay under this; the entries that expire first are evicted (workers)', readBy: ['worker'] },
  ROUTERHUB_CODEX_INSTRUCTIONS: { kind: 'string', shown: 'built in', text: 'a file with the system prompt the Codex catalog gives routed models', readBy: ['ingress'] },
  ROUTERHUB_NODE_FLAGS: { kind: 'string', default: '', shown: 'unset', text: 'extra node flags for the launcher\'s ingress and workers (e.g. `--cpu-prof`)', readBy: ['launcher'] },
  ROUTERHUB_LOG_FORMAT: { kind: 'string', default: 'json', shown: '`json` (`pretty` under `npm start`)', values: ['json', 'pretty'], text: 'logs are pino JSON lines on stderr; `pretty` prints them for people', readBy: ALL },
  ROUTERHUB_LOG_LEVEL: { kind: 'string', default: 'info', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], text: 'the least severe log level written', readBy: ALL },
  OTEL_EXPORTER_OTLP_ENDPOINT: { kind: 'string', shown: 'unset: no export', text: 'export OpenTelemetry traces over OTLP; every other standard `OTEL_*` variable (`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_TRACES_SAMPLER`, `OTEL_SERVICE_NAME`, `OTEL_TRACES_EXPORTER=console`, …) is the SDK\'s own; see [Traces and logs](#traces-and-logs)', readBy: ['ingress', 'worker', 'dashboard'] },
  ROUTERHUB_URL: { kind: 'string', shown: '`http://127.0.0.1:PORT`', text: '`npm run doctor`: the cluster to check (an ingress or the load balancer)', readBy: ['doctor'] },
  ROUTERHUB_API_KEY: { kind: 'string', text: '`npm run doctor`: a management key', readBy: ['doctor'] },
  ROUTERHUB_DOCTOR_MODELS: { kind: 'list', default: '', shown: 'every model', text: '`npm run doctor`: check only these models (comma-separated ids)', readBy: ['doctor'] },
  ROUTERHUB_DOCTOR_TIMEOUT_MS: { kind: 'ms', default: 120_000, text: '`npm run doctor`: how long one request may take', readBy: ['doctor'] },
} as const satisfies Record<string, Spec>;

type Specs = typeof SETTINGS;
type ValueOf<S> = S extends { kind: 'flag' } ? boolean
  : S extends { kind: 'list' } ? string[]
  : S extends { kind: 'port' | 'count' | 'integer' | 'bytes' | 'ms' } ? (S extends { default: number } ? number : number | undefined)
  : S extends { default: string } ? string : string | undefined;

export type Settings = { -readonly [K in keyof Specs]: ValueOf<Specs[K]> };

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: MiB, gib: 1024 * MiB };
const DURATIONS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** `8388608`, `8MiB`, `512 KiB`, `1.5GB` → bytes; null when it is none of those. */
export function parseBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(text.trim());
  return m ? Math.round(Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()] : 1)) : null;
}

/** `30000`, `30s`, `10m`, `500ms`, `1h` → milliseconds; null when it is none of those. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?$/i.exec(text.trim());
  return m ? Math.round(Number(m[1]) * (m[2] ? DURATIONS[m[2].toLowerCase()] : 1)) : null;
}

const FLAGS: Record<string, boolean> = { 1: true, true: true, yes: true, on: true, 0: false, false: false, no: false, off: false };

const EXPECTED: Record<Kind, string> = {
  port: 'a port number from 0 to 65535',
  count: 'a whole number of at least 1',
  integer: 'a whole number',
  bytes: 'a size in bytes, e.g. 8388608 or 8MiB (units B, KB, MB, GB, KiB, MiB, GiB)',
  ms: 'a duration in milliseconds, e.g. 30000 or 30s (units ms, s, m, h)',
  flag: '1 or 0 (also true/false, yes/no, on/off)',
  string: 'text',
  list: 'a comma-separated list',
};

/** Converts one variable's text to its value, or says what it expected (ajv keyword `rh_kind`). */
function convert(spec: Spec, text: string): { value: unknown } | { expected: string } {
  const min = spec.min ?? (spec.kind === 'count' || spec.kind === 'ms' ? 1 : 0);
  const number = (n: number | null, max = Number.MAX_SAFE_INTEGER) =>
    n !== null && Number.isInteger(n) && n >= min && n <= max ? { value: n } : { expected: EXPECTED[spec.kind] + (min > 0 && spec.kind !== 'count' ? `, at least ${min}` : '') };
  switch (spec.kind) {
    case 'port': return number(/^\d+$/.test(text) ? Number(text) : null, 65_535);
    case 'count':
    case 'integer': return number(/^-?\d+$/.test(text.trim()) ? Number(text) : null);
    case 'bytes': return number(parseBytes(text));
    case 'ms': return number(parseDuration(text));
    case 'flag': return text.toLowerCase() in FLAGS ? { value: FLAGS[text.toLowerCase()] } : { expected: EXPECTED.flag };
    case 'list': return { value: text.split(',').map((s) => s.trim()).filter(Boolean) };
    case 'string':
      return !spec.values || spec.values.includes(text) ? { value: text } : { expected: `one of ${spec.values.join(', ')}` };
  }
}

const specs = SETTINGS as Record<string, Spec>;

// Every variable is a string in the environment; the `rh_kind` keyword turns it into its value in
// place (env-schema's own `separator` keyword works the same way) or fails naming what it expected.
const schema = {
  type: 'object',
  properties: Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { type: 'string', rh_kind: name }])),
};

function withKinds(ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: 'rh_kind',
    modifying: true,
    errors: true,
    validate: function check(name: string, data: unknown, _schema?: unknown, ctx?: { parentData: Record<string, unknown>; parentDataProperty: string }) {
      const result = convert(specs[name], String(data));
      if ('expected' in result) {
        (check as unknown as { errors: unknown[] }).errors = [{ keyword: 'rh_kind', message: result.expected, params: {} }];
        return false;
      }
      if (ctx) ctx.parentData[ctx.parentDataProperty] = result.value;
      return true;
    },
  });
  return ajv;
}

/** A setting the process cannot start with. */
export class SettingsError extends Error {}

/** The settings from `env` (the process's by default): validated, converted, defaults filled in. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  // An empty variable counts as unset (compose and Kubernetes often pass `VAR=`).
  const given = Object.fromEntries(Object.keys(specs).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  let parsed: Record<string, unknown>;
  try {
    parsed = envSchema({ schema, data: given, env: false, ajv: { customOptions: withKinds } }) as Record<string, unknown>;
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string; message?: string }> }).errors ?? [];
    const lines = errors.map((e) => {
      const name = e.instancePath.replace(/^\//, '');
      return `${name}=${JSON.stringify(given[name])}: expected ${e.message}`;
    });
    throw new SettingsError(`invalid setting${lines.length > 1 ? 's' : ''}: ${lines.join('; ') || (err as Error).message} (see the README's settings table)`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (name in parsed) out[name] = parsed[name];
    else if (spec.default !== undefined) out[name] = spec.kind === 'list' ? (convert(spec, String(spec.default)) as { value: unknown }).value : spec.default;
  }
  return out as Settings;
}

function shownDefault(spec: Spec): string {
  if (spec.shown) return spec.shown;
  if (spec.default === undefined || spec.default === '') return 'unset';
  if (spec.kind === 'flag') return spec.default ? '`1`' : 'unset';
  if (spec.kind === 'bytes' && typeof spec.default === 'number') return spec.default % MiB === 0 ? `${spec.default / MiB} MiB` : `${spec.default}`;
  if (spec.kind === 'ms' && typeof spec.default === 'number') {
    const ms = spec.default;
    return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
  }
  return String(spec.default);
}

const UNIT_NOTE: Partial<Record<Kind, string>> = { bytes: 'bytes (`8MiB`)', ms: 'ms (`30s`, `10m`)', port: 'port', flag: 'flag' };

/** The README's settings table, from SETTINGS. */
export function settingsTable(): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const kind = UNIT_NOTE[spec.kind] ? ` ${UNIT_NOTE[spec.kind]}` : '';
    return `| \`${name}\` | ${shownDefault(spec)} |${kind} | ${spec.text} | ${spec.readBy.join(', ')} |`;
  });
  return ['| variable | default | unit | meaning | read by |', '|---|---|---|---|---|', ...rows].join('\n');
}
