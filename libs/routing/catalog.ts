// The model catalog: which deployments serve a model id, in what order, and at what price.
// Loaded from JSON (ROUTERHUB_MODELS), validated once at start with a JSON schema.
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { rendezvousOrder } from './affinity';
import { DEFAULT_HEALTH, type HealthSettings, type HealthView } from './health';

export interface Deployment {
  /** Names the deployment in the ledger and the request log; default: provider/model@host. */
  id?: string;
  /** Adapter family: openai-responses, openai-chat, anthropic, gemini. */
  provider: string;
  base_url: string;
  /** The model name the upstream knows. */
  model: string;
  /** Env var holding the upstream key, read by the workers (the ingress never sees provider keys). */
  api_key_env?: string;
  priority?: number;
  weight?: number;
  /** Extra upstream headers (e.g. an OpenAI-compatible server's own). */
  headers?: Record<string, string>;
  /** The model's output cap at this deployment (defaults to the model's); adapters that must send a limit use it. */
  max_output_tokens?: number;
  /** This deployment's price when it differs from the model's (a fallback may cost more). */
  pricing?: Pricing;
  /** Anthropic: how long the prompt-cache breakpoints live (default 5m; 1h writes cost 2× input). */
  prompt_cache_ttl?: '5m' | '1h';
  /** Gemini: explicit context caching of each conversation's stable prefix (libs/worker/context-cache.ts). */
  prompt_cache?: PromptCachePolicy;
}

/**
 * `explicit`: store the stable prefix with the provider's `cachedContents` API and send only what
 * follows; `ttl_s`: how long the provider keeps it; `min_tokens`: a shorter prefix is not cached
 * (the provider's minimum for the model).
 */
export interface PromptCachePolicy { explicit: boolean; ttl_s?: number; min_tokens?: number }

/** Gemini 2.5 Pro's minimum (Flash takes 1,024): below it the provider refuses to create a cache. */
export const DEFAULT_PROMPT_CACHE = { ttl_s: 3600, min_tokens: 4096 } as const;

/** How the ledger and the request log name a deployment. */
export function deploymentId(d: Deployment): string {
  return d.id ?? `${d.provider}/${d.model}@${hostOf(d.base_url)}`;
}

// Routing, health, metrics and the ledger name a deployment several times per request, and a
// worker's deployments arrive as new objects with every job: the few base URLs a catalog has are
// parsed once each (a URL parse costs more than the rest of the name).
const hosts = new Map<string, string>();

/** The host of a deployment's base URL (parsed once per URL). */
export function hostOf(baseUrl: string): string {
  let host = hosts.get(baseUrl);
  if (host === undefined) {
    host = new URL(baseUrl).host;
    if (hosts.size >= 1024) hosts.clear();
    hosts.set(baseUrl, host);
  }
  return host;
}

/** The header by which a management key names the one deployment a request must use (npm run doctor). */
export const DEPLOYMENT_HEADER = 'x-routerhub-deployment';

/** `plan` narrowed to the deployment named `id` (no failover), or null when the model has none by that id. */
export function pinPlan(plan: RoutePlan, id: string): RoutePlan | null {
  const deployments = plan.deployments.filter((d) => deploymentId(d) === id);
  return deployments.length === 0 ? null : { ...plan, deployments };
}

/**
 * USD per million tokens. `cached_input`: input read from the prompt cache (default: `input`);
 * `cache_write_input`: input written to it, which Anthropic and Qwen's explicit cache charge more
 * for (default: `input`).
 */
export interface Pricing { input: number; cached_input?: number; cache_write_input?: number; output: number }

export interface ModelEntry {
  id: string;
  display_name?: string;
  deployments: Deployment[];
  pricing?: Pricing;
  context_window?: number;
  max_output_tokens?: number;
  /** Whether the model reasons (thinks); drives the Codex model catalog. */
  reasoning?: boolean;
  /** Deployment health settings (health.ts); unset fields take DEFAULT_HEALTH's. */
  health?: Partial<HealthSettings>;
  /** false: spread requests by weight at random instead of keeping a conversation on one deployment. */
  affinity?: boolean;
  /** Identical requests to this model are answered from the response cache (libs/worker/response-cache.ts). */
  response_cache?: ResponseCachePolicy;
}

/** `ttl_s`: how long an entry lives; `tool_outputs`: also cache requests that carry tool outputs. */
export interface ResponseCachePolicy { ttl_s?: number; tool_outputs?: boolean }

/** What the ingress hands a worker: the deployments to try, in order. */
export interface RoutePlan {
  model: string;
  deployments: Deployment[];
  pricing: Pricing | null;
  /** The model's health settings, for the worker's reports. */
  health?: HealthSettings;
  /** Every deployment id of the model (what max_ejection_percent counts against). */
  pool?: string[];
  /** Set when no deployment is left because every one is rate limited: the soonest one is free in this many seconds. */
  retryAfterSeconds?: number;
  /** The model's response-cache setting, when the catalog enables it. */
  responseCache?: ResponseCachePolicy;
}

/** What shapes one request's plan besides the catalog. */
export interface PlanOptions {
  random?: () => number;
  /** The conversation (affinity.ts conversationKey): with it, rendezvous order instead of random. */
  conversation?: string | null;
  /** A deployment to try first when it is usable (the one whose encrypted reasoning the request carries). */
  preferred?: Deployment | null;
  health?: HealthView;
  now?: number;
}

const MODEL_ID = '^[A-Za-z0-9._-]+/[A-Za-z0-9._:/-]+$';

const pricingSchema = {
  type: 'object',
  required: ['input', 'output'],
  properties: {
    input: { type: 'number', minimum: 0 },
    cached_input: { type: 'number', minimum: 0 },
    cache_write_input: { type: 'number', minimum: 0 },
    output: { type: 'number', minimum: 0 },
  },
} as const;

const schema = {
  type: 'object',
  required: ['models'],
  properties: {
    models: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'deployments'],
        properties: {
          id: { type: 'string', pattern: MODEL_ID },
          display_name: { type: 'string' },
          context_window: { type: 'integer', minimum: 1 },
          max_output_tokens: { type: 'integer', minimum: 1 },
          reasoning: { type: 'boolean' },
          response_cache: {
            type: 'object',
            additionalProperties: false,
            properties: { ttl_s: { type: 'integer', minimum: 1 }, tool_outputs: { type: 'boolean' } },
          },
          affinity: { type: 'boolean' },
          health: {
            type: 'object',
            additionalProperties: false,
            properties: {
              consecutive_5xx: { type: 'integer', minimum: 1 },
              base_ejection_ms: { type: 'integer', minimum: 1 },
              max_ejection_ms: { type: 'integer', minimum: 1 },
              max_ejection_percent: { type: 'number', minimum: 0, maximum: 100 },
              rate_limit_backoff_ms: { type: 'integer', minimum: 0 },
            },
          },
          deployments: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['provider', 'base_url', 'model'],
              properties: {
                id: { type: 'string', pattern: '^[^\\t]{1,200}$' },
                provider: { type: 'string' },
                base_url: { type: 'string', pattern: '^https?://' },
                model: { type: 'string', minLength: 1 },
                api_key_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                priority: { type: 'integer' },
                weight: { type: 'number', exclusiveMinimum: 0 },
                headers: { type: 'object', additionalProperties: { type: 'string' } },
                max_output_tokens: { type: 'integer', minimum: 1 },
                pricing: pricingSchema,
                prompt_cache_ttl: { enum: ['5m', '1h'] },
                prompt_cache: {
                  type: 'object',
                  required: ['explicit'],
                  additionalProperties: false,
                  properties: { explicit: { type: 'boolean' }, ttl_s: { type: 'integer', minimum: 60 }, min_tokens: { type: 'integer', minimum: 1 } },
                },
              },
            },
          },
          pricing: pricingSchema,
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(schema);

export class ModelCatalog {
  private readonly byId: Map<string, ModelEntry>;
  /** base_url mistakes the catalog can tell without calling anyone; the loader logs them at start. */
  readonly warnings: string[];

  constructor(readonly models: ModelEntry[]) {
    this.byId = new Map(models.map((m) => [m.id, m]));
    this.warnings = models.flatMap((m) => m.deployments.flatMap((d) => baseUrlWarnings(d).map((w) => `model "${m.id}", deployment ${deploymentId(d)}: ${w}`)));
  }

  /** Validates a parsed catalog; throws an error that names the file, the path and the problem. */
  static parse(doc: unknown, source: string, families: readonly string[]): ModelCatalog {
    if (!validate(doc)) {
      const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
      throw new Error(`model catalog ${source} is invalid: ${problems}`);
    }
    const models = (doc as { models: ModelEntry[] }).models;
    const seen = new Set<string>();
    for (const m of models) {
      if (seen.has(m.id)) throw new Error(`model catalog ${source}: model "${m.id}" is listed twice`);
      seen.add(m.id);
      const ids = new Set<string>();
      for (const d of m.deployments) {
        // Health, affinity and the ledger tell deployments apart by id: two keys on one host need their own.
        const id = deploymentId(d);
        if (ids.has(id)) throw new Error(`model catalog ${source}: model "${m.id}" has two deployments named "${id}"; give each an "id"`);
        ids.add(id);
        if (!families.includes(d.provider)) {
          throw new Error(`model catalog ${source}: model "${m.id}" has provider "${d.provider}"; known providers: ${families.join(', ')}`);
        }
        if (d.prompt_cache?.explicit && d.provider !== 'gemini') {
          throw new Error(`model catalog ${source}: model "${m.id}", deployment "${id}": prompt_cache.explicit is for provider "gemini" (others cache by prefix or with prompt_cache_ttl)`);
        }
      }
    }
    return new ModelCatalog(models);
  }

  /** Reads a catalog file; `${VAR}` and `${VAR:-default}` in it are replaced from `env`. */
  static load(path: string, families: readonly string[], env: Record<string, string | undefined> = process.env): ModelCatalog {
    let doc: unknown;
    try {
      doc = JSON.parse(expandEnv(readFileSync(path, 'utf8'), env, path));
    } catch (err) {
      throw new Error(`cannot read model catalog ${path}: ${(err as Error).message}`);
    }
    return ModelCatalog.parse(doc, path, families);
  }

  get(id: string): ModelEntry | undefined {
    return this.byId.get(id);
  }

  /**
   * The deployments to try for one request: by priority (lowest first); among equal priorities the
   * conversation's rendezvous order (or, without one, a weighted random order), so traffic spreads by
   * weight and failover still reaches every deployment. Then health: rate-limited deployments are
   * left out, ejected ones go last (tried only when nothing else is left), and the deployment that
   * made the request's encrypted reasoning goes first when it is usable and of the best usable priority.
   */
  plan(id: string, opts: PlanOptions = {}): RoutePlan | undefined {
    const model = this.byId.get(id);
    if (!model) return undefined;
    const random = opts.random ?? Math.random;
    const conversation = model.affinity === false ? null : opts.conversation ?? null;
    const groups = new Map<number, Deployment[]>();
    for (const deployment of model.deployments) {
      const d = deployment.max_output_tokens || !model.max_output_tokens ? deployment : { ...deployment, max_output_tokens: model.max_output_tokens };
      const p = d.priority ?? 0;
      groups.set(p, [...(groups.get(p) ?? []), d]);
    }
    const ordered: Deployment[] = [];
    for (const p of [...groups.keys()].sort((a, b) => a - b)) {
      ordered.push(...(conversation ? rendezvousOrder(groups.get(p)!, conversation) : weightedOrder(groups.get(p)!, random)));
    }
    const now = opts.now ?? Date.now();
    let plan: RoutePlan = { model: id, deployments: ordered, pricing: model.pricing ?? null, health: { ...DEFAULT_HEALTH, ...model.health }, pool: model.deployments.map(deploymentId), ...(model.response_cache ? { responseCache: model.response_cache } : {}) };
    if (opts.health) plan = byHealth(plan, opts.health, now);
    // The reasoning's maker goes first when usable and of the best usable priority: a conversation
    // that failed over to a fallback comes back to the primary (and reasons afresh) once it recovers.
    const first = plan.deployments[0];
    const at = opts.preferred ? plan.deployments.findIndex((d) => deploymentId(d) === deploymentId(opts.preferred!)) : -1;
    if (at > 0 && (plan.deployments[at].priority ?? 0) === (first.priority ?? 0) && usable(plan.deployments[at], opts.health, now)) {
      plan.deployments.unshift(...plan.deployments.splice(at, 1));
    }
    return plan;
  }
}

/** What each family appends to base_url (README, "Model catalog"); a base_url that already ends so gets it twice. */
const APPENDED: Record<string, { path: RegExp; what: string }> = {
  anthropic: { path: /\/messages$/i, what: '/messages (after /v1 when the base_url names no version)' },
  gemini: { path: /\/models(\/[^/]*)?$|:(stream)?generatecontent$/i, what: '/models/<model>:streamGenerateContent (after /v1beta when the base_url names no version)' },
  'openai-chat': { path: /\/chat\/completions$|\/completions$/i, what: '/chat/completions' },
  'openai-responses': { path: /\/responses$/i, what: '/responses' },
};

/** Hosts that serve one API only, and the family (and path) that speaks it. */
const KNOWN_HOSTS: Array<{ host: string; ok: (family: string, path: string) => boolean; advice: string }> = [
  { host: 'api.anthropic.com', ok: (f) => f === 'anthropic', advice: 'api.anthropic.com speaks the Messages API: use provider "anthropic"' },
  { host: 'generativelanguage.googleapis.com', ok: (f, path) => (/\/openai(\/|$)/i.test(path) ? f === 'openai-chat' : f === 'gemini'),
    advice: 'generativelanguage.googleapis.com speaks Gemini\'s own API (provider "gemini", base_url https://generativelanguage.googleapis.com/v1beta) and Chat Completions under /v1beta/openai (provider "openai-chat")' },
  { host: 'api.openai.com', ok: (f) => f === 'openai-responses' || f === 'openai-chat', advice: 'api.openai.com speaks the Responses and Chat Completions APIs: use provider "openai-responses" or "openai-chat"' },
];

/**
 * base_url mistakes that show in the URL itself: the family's own path written into it, a
 * credential in its query, or a provider's host under another family. Requests would get 404s (or
 * leak the key into logs); the ingress warns at start rather than refusing a catalog that may be
 * right for a proxy it cannot know.
 */
export function baseUrlWarnings(d: Deployment): string[] {
  let url: URL;
  try {
    url = new URL(d.base_url);
  } catch {
    return [`base_url "${d.base_url}" is not a URL`];
  }
  const warnings: string[] = [];
  const path = url.pathname.replace(/\/+$/, '');
  const appended = APPENDED[d.provider];
  if (appended?.path.test(path)) warnings.push(`base_url ends with ${url.pathname}, but RouterHub appends ${appended.what} itself: remove it from base_url`);
  if (url.username || url.password || [...url.searchParams.keys()].some((k) => /key|token|secret/i.test(k))) {
    warnings.push('base_url carries a credential: put the key in the workers\' environment and name it in api_key_env');
  }
  const known = KNOWN_HOSTS.find((h) => h.host === url.hostname.toLowerCase());
  if (known && !known.ok(d.provider, path)) warnings.push(`provider "${d.provider}" at ${url.hostname}: ${known.advice}`);
  if (d.provider === 'anthropic' && /\/v\d+(alpha|beta)/i.test(path)) warnings.push(`Anthropic's API version is /v1, not ${/\/v\d+(alpha|beta)\d*/i.exec(path)![0]}`);
  return warnings;
}

function expandEnv(text: string, env: Record<string, string | undefined>, source: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
    const value = env[name] ?? fallback;
    if (value === undefined) throw new Error(`${source} uses \${${name}}, which is not set`);
    return value;
  });
}

/**
 * Keeps the plan's order among usable deployments (healthy, half-open), puts ejected ones last and
 * leaves rate-limited ones out; with none left, says when the first rate limit ends. The ingress
 * plans with it and the worker applies it again with its own, possibly newer, view.
 */
export function byHealth(plan: RoutePlan, health: HealthView, now: number): RoutePlan {
  const usable: Deployment[] = [];
  const ejected: Deployment[] = [];
  let soonest = Infinity;
  for (const d of plan.deployments) {
    const s = health.status(deploymentId(d), now);
    if (s.state === 'healthy' || s.state === 'half_open') usable.push(d);
    else if (s.state === 'ejected') ejected.push(d);
    else soonest = Math.min(soonest, s.until ?? now);
  }
  const deployments = [...usable, ...ejected];
  const out: RoutePlan = { ...plan, deployments };
  if (deployments.length === 0 && soonest !== Infinity) out.retryAfterSeconds = Math.max(1, Math.ceil((soonest - now) / 1000));
  return out;
}

function usable(d: Deployment, health: HealthView | undefined, now: number): boolean {
  const state = health?.status(deploymentId(d), now).state ?? 'healthy';
  return state === 'healthy' || state === 'half_open';
}

function weightedOrder(deployments: Deployment[], random: () => number): Deployment[] {
  const rest = [...deployments];
  const out: Deployment[] = [];
  while (rest.length > 0) {
    const total = rest.reduce((s, d) => s + (d.weight ?? 1), 0);
    let r = random() * total;
    let i = 0;
    while (i < rest.length - 1 && (r -= rest[i].weight ?? 1) >= 0) i++;
    out.push(rest.splice(i, 1)[0]);
  }
  return out;
}
