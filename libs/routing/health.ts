// Deployment health, shared by the fleet: a deployment that answers 429 cools down until its
// Retry-After; one that fails with 5xx or connection errors `consecutive_5xx` times in a row is
// ejected for base_ejection_ms × (times ejected), capped at max_ejection_ms (Envoy's outlier
// detection), then half-open: one probe request, claimed fleet-wide, brings it back or ejects it
// again for longer. Redis holds the truth (one hash field per deployment, changed by Lua scripts
// that PUBLISH each change); every process keeps a local copy fed by that channel and a short poll,
// so routing a request reads memory and only failures (and probes) cost a round trip.
import type { UpstreamFailure } from '../providers/types';
import { luaScript, type Redis } from '../store/redis';
import { metrics, scrapeHooks } from '../telemetry/metrics';

/** Per model in the catalog (`health`); every field has a default. */
export interface HealthSettings {
  /** Consecutive 5xx / connection failures that eject a deployment (Envoy: consecutive_5xx). */
  consecutive_5xx: number;
  /** First ejection's length; the n-th in a row lasts n times this (Envoy: base_ejection_time). */
  base_ejection_ms: number;
  /** Longest ejection; also how long a deployment must stay healthy before the multiplier starts over. */
  max_ejection_ms: number;
  /** Most of a model's deployments ejected at once; one may always be (Envoy: max_ejection_percent). */
  max_ejection_percent: number;
  /** How long a deployment that answered 429 without a Retry-After is skipped. */
  rate_limit_backoff_ms: number;
}

export const DEFAULT_HEALTH: HealthSettings = {
  consecutive_5xx: 3,
  base_ejection_ms: 30_000,
  max_ejection_ms: 300_000,
  max_ejection_percent: 50,
  rate_limit_backoff_ms: 5_000,
};

/** What Redis keeps per deployment id (times are epoch ms; 0: never). */
export interface HealthRecord {
  failures: number;
  ejections: number;
  ejected_at: number;
  ejected_until: number;
  recovered_at: number;
  cooldown_until: number;
  last_error: string;
  updated_at: number;
}

export type HealthState = 'healthy' | 'rate_limited' | 'ejected' | 'half_open';

export interface DeploymentStatus {
  state: HealthState;
  /** When a rate limit or an ejection ends (epoch ms); null otherwise. */
  until: number | null;
}

/** What routing reads: a deployment's state now. */
export interface HealthView {
  status(deploymentId: string, now: number): DeploymentStatus;
}

const HEALTHY: DeploymentStatus = { state: 'healthy', until: null };

export function statusOf(r: HealthRecord | undefined, now: number): DeploymentStatus {
  if (!r) return HEALTHY;
  if (r.ejected_until > now) return { state: 'ejected', until: r.ejected_until };
  if (r.cooldown_until > now) return { state: 'rate_limited', until: r.cooldown_until };
  if (r.ejected_at > r.recovered_at) return { state: 'half_open', until: null };
  return HEALTHY;
}

/** How an attempt at a deployment counts for its health. */
export type Outcome = { kind: 'ok' } | { kind: 'rate_limited'; retryAfterSeconds: number | null } | { kind: 'failed'; error: string };

/** 429s cool a deployment down; 5xx-class failures (502/503/504 to the client, connection errors) count toward ejection. */
export function outcomeOf(failure: UpstreamFailure | null): Outcome {
  if (!failure || !failure.retryable) return { kind: 'ok' };
  if (failure.httpStatus === 429) return { kind: 'rate_limited', retryAfterSeconds: failure.retryAfterKnown === false ? null : failure.retryAfterSeconds };
  if (failure.httpStatus >= 500) return { kind: 'failed', error: `${failure.error.code ?? 'error'}: ${failure.error.message}`.slice(0, 300) };
  return { kind: 'ok' };
}

/** What a client reads when no deployment of a model can be tried before a rate limit ends. */
export const HEALTH_KEY = 'rh:health';
const PROBE_PREFIX = 'rh:health:probe:';

// KEYS: the health hash, the probe key. ARGV: id, now, kind, cooldown ms, consecutive_5xx,
// base ms, max ms, max percent, error, then every deployment id of the model (for max percent).
const FAIL = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local r = raw and cjson.decode(raw) or {}
for _, f in ipairs({'failures','ejections','ejected_at','ejected_until','recovered_at','cooldown_until'}) do r[f] = tonumber(r[f]) or 0 end
local now = tonumber(ARGV[2])
local ejected = false
if ARGV[3] == 'rate_limited' then
  r.cooldown_until = math.max(r.cooldown_until, now + tonumber(ARGV[4]))
elseif r.ejected_until <= now then
  local maxMs = tonumber(ARGV[7])
  if r.ejections > 0 and r.recovered_at > r.ejected_at and now - r.recovered_at > maxMs then r.ejections = 0 end
  local halfOpen = r.ejected_at > r.recovered_at
  r.failures = r.failures + 1
  if halfOpen or r.failures >= tonumber(ARGV[5]) then
    local out, total = 0, 0
    for i = 10, #ARGV do
      total = total + 1
      if ARGV[i] ~= ARGV[1] then
        local p = redis.call('HGET', KEYS[1], ARGV[i])
        if p and (tonumber(cjson.decode(p).ejected_until) or 0) > now then out = out + 1 end
      end
    end
    if halfOpen or out == 0 or (out + 1) * 100 <= tonumber(ARGV[8]) * total then
      r.ejections = r.ejections + 1
      r.ejected_at = now
      r.ejected_until = now + math.min(tonumber(ARGV[6]) * r.ejections, math.max(tonumber(ARGV[6]), maxMs))
      r.failures = 0
      ejected = true
    end
  end
end
r.last_error = ARGV[9]
r.updated_at = now
local doc = cjson.encode(r)
redis.call('HSET', KEYS[1], ARGV[1], doc)
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', KEYS[1], ARGV[1] .. '\\t' .. doc)
return {doc, ejected and 1 or 0}`;

// KEYS: the health hash, the probe key. ARGV: id, now. A success ends a half-open state and the
// failure streak; it does not end an ejection or a cool-down (a request that began before them).
const OK = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local r = cjson.decode(raw)
local now = tonumber(ARGV[2])
local ejectedAt, recoveredAt, ejectedUntil = tonumber(r.ejected_at) or 0, tonumber(r.recovered_at) or 0, tonumber(r.ejected_until) or 0
local halfOpen = ejectedAt > recoveredAt and ejectedUntil <= now
if (tonumber(r.failures) or 0) == 0 and not halfOpen then return raw end
r.failures = 0
if halfOpen then r.recovered_at = now end
r.updated_at = now
local doc = cjson.encode(r)
redis.call('HSET', KEYS[1], ARGV[1], doc)
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', KEYS[1], ARGV[1] .. '\\t' .. doc)
return doc`;

export function parseRecord(doc: string): HealthRecord | undefined {
  try {
    const r = JSON.parse(doc) as Partial<HealthRecord>;
    const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    return {
      failures: n(r.failures), ejections: n(r.ejections), ejected_at: n(r.ejected_at), ejected_until: n(r.ejected_until),
      recovered_at: n(r.recovered_at), cooldown_until: n(r.cooldown_until), last_error: typeof r.last_error === 'string' ? r.last_error : '', updated_at: n(r.updated_at),
    };
  } catch {
    return undefined;
  }
}

/** Every deployment's record as Redis holds it (the dashboard reads this directly). */
export async function readHealth(redis: Redis): Promise<Map<string, HealthRecord>> {
  const all = await redis.hgetall(HEALTH_KEY);
  const out = new Map<string, HealthRecord>();
  for (const [id, doc] of Object.entries(all)) {
    const r = parseRecord(doc);
    if (r) out.set(id, r);
  }
  return out;
}

export interface DeploymentHealthOptions {
  /** The local copy is re-read this often, in case a published change was missed. */
  pollMs: number;
  /** A claimed half-open probe is someone else's for this long (it should end before). */
  probeMs: number;
  /** Deployment ids to report in metrics even while they have no record (the catalog's). */
  known?: string[];
}

/** One process's view of every deployment's health, and how it reports what it saw. */
export class DeploymentHealth implements HealthView {
  private readonly records = new Map<string, HealthRecord>();
  private readonly subscriber: Redis;
  private readonly poll: NodeJS.Timeout;
  /** Resolves once this view is subscribed to changes and has read every record. */
  readonly ready: Promise<void>;
  /** Probes this process saw claimed elsewhere: not asked again before this time. */
  private readonly probeBusy = new Map<string, number>();

  private readonly fail: (...args: Array<string | number>) => Promise<[string, number]>;
  private readonly ok: (...args: Array<string | number>) => Promise<string | null>;

  constructor(private readonly redis: Redis, private readonly opts: DeploymentHealthOptions) {
    this.fail = luaScript(redis, 'rhHealthFail', 2, FAIL);
    this.ok = luaScript(redis, 'rhHealthOk', 2, OK);
    // A subscribed connection can do nothing else: a second one.
    this.subscriber = redis.duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, message: string) => {
      const tab = message.indexOf('\t');
      if (tab > 0) this.learn(message.slice(0, tab), message.slice(tab + 1));
    });
    // Subscribed first, then read: a change made in between is in one or the other.
    this.ready = this.subscriber.subscribe(HEALTH_KEY).then(() => this.refresh(), () => this.refresh());
    this.poll = setInterval(() => void this.refresh(), opts.pollMs);
    this.poll.unref();
    scrapeHooks.deploymentState = () => this.setGauges();
  }

  stop(): void {
    clearInterval(this.poll);
    this.subscriber.disconnect();
  }

  status(deploymentId: string, now: number): DeploymentStatus {
    return statusOf(this.records.get(deploymentId), now);
  }

  /** Re-reads every record (at start and every pollMs). */
  async refresh(): Promise<void> {
    try {
      const all = await readHealth(this.redis);
      for (const id of this.records.keys()) if (!all.has(id)) this.records.delete(id);
      for (const [id, r] of all) this.records.set(id, r);
    } catch {
      // Redis away: keep the last view; routing goes on with it.
    }
  }

  /**
   * Counts one attempt's outcome. Success costs nothing unless this deployment has a failure
   * streak or is half-open; a failure is one script run (atomic across the fleet).
   */
  async report(deploymentId: string, outcome: Outcome, settings: HealthSettings = DEFAULT_HEALTH, pool: string[] = []): Promise<void> {
    const now = Date.now();
    const probeKey = PROBE_PREFIX + deploymentId;
    try {
      if (outcome.kind === 'ok') {
        const r = this.records.get(deploymentId);
        if (!r || (r.failures === 0 && statusOf(r, now).state !== 'half_open')) return;
        const doc = await this.ok(HEALTH_KEY, probeKey, deploymentId, now);
        if (doc) this.learn(deploymentId, doc);
        return;
      }
      const cooldownMs = outcome.kind === 'rate_limited' ? (outcome.retryAfterSeconds !== null ? outcome.retryAfterSeconds * 1000 : settings.rate_limit_backoff_ms) : 0;
      const error = outcome.kind === 'failed' ? outcome.error : 'rate_limited';
      const [doc, ejected] = await this.fail(
        HEALTH_KEY, probeKey, deploymentId, now, outcome.kind, cooldownMs, settings.consecutive_5xx,
        settings.base_ejection_ms, settings.max_ejection_ms, settings.max_ejection_percent, error, ...(pool.length > 0 ? pool : [deploymentId]),
      );
      this.learn(deploymentId, doc);
      if (ejected === 1) metrics.deploymentEjections.inc({ deployment: deploymentId });
    } catch {
      // Redis away: health is advisory; the request itself already failed over or succeeded.
    }
  }

  /**
   * A half-open deployment takes one request fleet-wide: true when this caller may send it.
   * Losers remember for a moment, so they do not ask Redis on every request.
   */
  async claimProbe(deploymentId: string, owner: string): Promise<boolean> {
    const now = Date.now();
    if ((this.probeBusy.get(deploymentId) ?? 0) > now) return false;
    try {
      const ok = await this.redis.set(PROBE_PREFIX + deploymentId, owner, 'PX', this.opts.probeMs, 'NX');
      if (ok === 'OK') return true;
    } catch {
      return true; // cannot coordinate: let this one probe
    }
    this.probeBusy.set(deploymentId, now + Math.min(1000, this.opts.probeMs));
    return false;
  }

  private learn(id: string, doc: string): void {
    const r = parseRecord(doc);
    if (r) this.records.set(id, r);
  }

  private setGauges(): void {
    const now = Date.now();
    const ids = new Set([...(this.opts.known ?? []), ...this.records.keys()]);
    metrics.deploymentState.reset();
    for (const id of ids) {
      const state = this.status(id, now).state;
      for (const s of ['healthy', 'rate_limited', 'ejected', 'half_open'] as const) metrics.deploymentState.set({ deployment: id, state: s }, s === state ? 1 : 0);
    }
  }
}
