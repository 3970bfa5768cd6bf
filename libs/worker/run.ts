// One job, provider-blind: try the route plan's deployments in order, stream the first that
// answers, translate its stream through the family's StreamMapper, and end with exactly one
// terminal frame whatever happens. Failover happens only before any output reached the client.
import { createParser } from 'eventsource-parser';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';
import { parseJsonBytes } from '../protocol/json-bytes';
import type { ResponsesRequest } from '../protocol/types';
import { allDeploymentsRateLimited, HttpError, noDeploymentAvailable } from '../protocol/errors';
import { parseRequest } from '../protocol/validate';
import { streamFailure } from '../providers/errors';
import { adapters } from '../providers/index';
import { OutputBuilder } from '../providers/output';
import { stateForDeployment } from '../providers/reasoning-state';
import type { ContextCachePlan, UpstreamFailure, UpstreamRequest } from '../providers/types';
import { redactUrl } from '../providers/upstream-request';
import { deploymentTag } from '../routing/affinity';
import { byHealth, deploymentId, hostOf, type Deployment } from '../routing/catalog';
import { outcomeOf, type DeploymentHealth } from '../routing/health';
import type { FailedAttempt } from '../store/requests';
import { costMicroUsd } from '../store/usage';
import { failoverCause, metrics } from '../telemetry/metrics';
import { redactError, rememberSecret } from '../telemetry/secrets';
import { F, failedFrame } from '../wire/frames';
import type { Job } from '../wire/job';
import type { FrameBatcher } from './batch';
import type { ContextCaches } from './context-cache';
import { estimateInputTokens, meter, type Metered, type ServedAttempt } from './metering';

export interface RunContext {
  job: Job;
  out: FrameBatcher;
  signal: AbortSignal;
  dispatcher: Dispatcher;
  env: Record<string, string | undefined>;
  /** How long an upstream may take to send response headers. */
  headersTimeoutMs: number;
  /** How long an upstream stream may stay silent before it counts as broken. */
  idleTimeoutMs: number;
  /** Filled in as the job runs, for the ledger and the request log. */
  trace: JobTrace;
  /** The fleet's view of deployment health: skips sick deployments, and learns from each attempt. */
  health?: DeploymentHealth;
  /** Who claims a half-open probe (the worker's id). */
  workerId?: string;
  /** Explicit prompt caches (a deployment's prompt_cache); unset: requests are sent whole. */
  contextCaches?: ContextCaches;
}

/**
 * Which deployment served, which failed before it and why, when the first output came, and what
 * the response is billed (metering.ts).
 */
export interface JobTrace {
  deployment: Deployment | null;
  attempts: FailedAttempt[];
  firstOutputAt: number | null;
  /** The attempt whose provider accepted the request; null while none did (or after it failed over). */
  served: ServedAttempt | null;
  /** Set when runJob ended the response itself; for a stopped job the worker meters `served`. */
  billed: Metered | null;
}

export function newTrace(): JobTrace {
  return { deployment: null, attempts: [], firstOutputAt: null, served: null, billed: null };
}

/** An upstream request whose body is let go once sent (`sendOnce`): null after. */
type Upstream = Omit<UpstreamRequest, 'body'> & { body: Buffer | null };

const NO_BODY = new Uint8Array(0);

/**
 * Runs the job to its one terminal frame and meters it (`trace.billed`). Resolves without a terminal
 * when the job was stopped (ctx.signal): the worker ends and meters those.
 */
export async function runJob(ctx: RunContext): Promise<void> {
  const { job, out, trace } = ctx;
  const missingKeys: string[] = [];
  let lastFailure: UpstreamFailure | null = null;
  /** The first deployment whose family cannot take the input (a 400 naming the item), when no upstream failed. */
  let inputRefused: UpstreamFailure | null = null;
  let started = false;
  const { health } = ctx;
  const first = validated(job);
  if (first instanceof HttpError) {
    out.send(failedFrame(first));
    return;
  }
  // The ingress planned with its view of health; this worker's may be newer.
  const planned = health ? byHealth(job.plan, health, Date.now()) : job.plan;
  if (planned.deployments.length === 0 && planned.retryAfterSeconds !== undefined) {
    out.send(failedFrame(allDeploymentsRateLimited(job.plan.model, planned.retryAfterSeconds)));
    return;
  }
  for (const d of job.plan.deployments) {
    if (!planned.deployments.includes(d)) metrics.deploymentsSkipped.inc({ deployment: deploymentId(d), state: 'rate_limited' });
  }
  const queue = [...planned.deployments];
  const deferred = new Set<Deployment>();

  for (let deployment = queue.shift(); deployment; deployment = queue.shift()) {
    if (ctx.signal.aborted) return;
    const apiKey = deployment.api_key_env ? ctx.env[deployment.api_key_env] ?? '' : '';
    if (deployment.api_key_env && !apiKey) {
      missingKeys.push(deployment.api_key_env);
      continue;
    }
    const id = deploymentId(deployment);
    // A half-open deployment takes one probe fleet-wide; while another request probes it, it is a last resort.
    const probe = health?.status(id, Date.now()).state === 'half_open';
    if (probe && !deferred.has(deployment) && !(await health!.claimProbe(id, ctx.workerId ?? job.id))) {
      metrics.deploymentsSkipped.inc({ deployment: id, state: 'half_open' });
      deferred.add(deployment);
      queue.push(deployment);
      continue;
    }
    rememberSecret(apiKey);
    trace.deployment = deployment;
    let prepared: ReturnType<typeof prepare>;
    try {
      prepared = prepare(ctx, deployment, apiKey, first);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      // Another family of the route plan may take what this one cannot.
      inputRefused ??= { error: err.body, httpStatus: err.status, retryAfterSeconds: null, retryable: true };
      trace.attempts.push({ deployment: id, status: err.status, code: err.code, message: err.message });
      continue;
    }
    const { builder, upstream, inputTokens, contextCache } = prepared;
    const onStarted = () => {
      if (!started) out.push([F.Started]); // sent with the first output, a keep-alive or the end
      started = true;
      trace.served = { inputTokens, builder };
      // A probe succeeds when the upstream accepts the request: a long answer need not hold the others back.
      if (probe) void health!.report(id, { kind: 'ok' }, job.plan.health, job.plan.pool);
    };
    // The stable prefix from the provider's cache (created on the conversation's first turn that reaches it).
    const cached = contextCache ? await ctx.contextCaches!.upstreamFor(ctx, adapters[deployment.provider], id, contextCache) : null;
    if (ctx.signal.aborted) return;
    const attemptStarted = performance.now();
    let failure = await attempt(ctx, deployment, cached ? asUpstream(cached.upstream) : upstream!, builder, onStarted);
    if (failure && cached?.key && !builder.hasOutput && adapters[deployment.provider].isCacheRefused?.(failure)) {
      // The provider dropped the cache (expired early, deleted): this turn goes whole, the next creates it again.
      await ctx.contextCaches!.forget(cached.key, id);
      if (ctx.signal.aborted) return;
      failure = await attempt(ctx, deployment, asUpstream(contextCache!.plain()), builder, onStarted);
    }
    const attemptSeconds = (performance.now() - attemptStarted) / 1000;
    if (ctx.signal.aborted) {
      metrics.upstreamDuration.observe({ deployment: id, result: 'stopped' }, attemptSeconds);
      return;
    }
    // A provider may quote the key it was sent (an auth error's body): it goes no further.
    if (failure) redactError(failure.error);
    if (builder.terminal?.[0] === F.Failed) redactError(builder.terminal[1]);
    const terminal = builder.terminal;
    const endedFailed = terminal?.[0] === F.Failed ? { error: terminal[1], httpStatus: terminal[2], retryAfterSeconds: terminal[3], retryable: builder.retryable } as UpstreamFailure : null;
    if (health) void health.report(id, outcomeOf(failure ?? endedFailed), job.plan.health, job.plan.pool);
    if (failure || (endedFailed && builder.retryable)) {
      const f = failure ?? endedFailed!;
      if (!builder.hasOutput && f.retryable) {
        metrics.upstreamRequests.inc({ provider: deployment.provider, result: 'failed' });
        metrics.upstreamDuration.observe({ deployment: id, result: 'failed' }, attemptSeconds);
        metrics.failovers.inc({ provider: deployment.provider, deployment: id, cause: failoverCause(f.httpStatus, f.error.code) });
        trace.attempts.push({ deployment: id, status: f.httpStatus, code: f.error.code, message: f.error.message });
        lastFailure = f;
        trace.served = null; // failed before any output: not billed
        continue;
      }
      if (!terminal) builder.failed(f.error, f.httpStatus, f.retryable, f.retryAfterSeconds);
    }
    const result = builder.terminal?.[0] === F.Completed ? 'completed' : 'failed';
    metrics.upstreamRequests.inc({ provider: deployment.provider, result });
    metrics.upstreamDuration.observe({ deployment: id, result }, attemptSeconds);
    const final = builder.terminal!;
    trace.billed = trace.served ? meter(trace.served, false) : null;
    // The client sees what it is billed, at the price of the deployment that served (a fallback may
    // cost differently); a failed response carries its (estimated) usage too.
    const usage = trace.billed?.usage ?? null;
    if (usage) usage.cost = costMicroUsd(usage, deployment.pricing ?? job.plan.pricing) / 1e6;
    if (final[0] === F.Completed) final[1] = usage;
    else final[4] = usage;
    out.send(final);
    return;
  }

  // No deployment could serve: say why, naming what an operator must fix (an upstream's failure
  // says more than a family refusing the input, which another deployment might have taken).
  lastFailure ??= inputRefused;
  if (lastFailure) {
    out.send([F.Failed, lastFailure.error, lastFailure.httpStatus, lastFailure.retryAfterSeconds]);
  } else {
    const vars = [...new Set(missingKeys)].join(', ');
    out.send(failedFrame(noDeploymentAvailable(job.plan.model, vars)));
  }
}

/**
 * The request parsed and validated, in a holder the first prepare empties; or the 400 to answer.
 * The ingress read all but the input (validate.ts, RequestHead): a request whose input is not valid
 * is refused here, before anything is sent anywhere.
 */
function validated(job: Job): { request: ResponsesRequest | null } | HttpError {
  try {
    return { request: parseRequest(job.body!, job.limits) };
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
}

/**
 * The upstream request for one deployment and the builder its stream writes through. The parsed
 * client request lives only here (not in runJob's frame, which lasts as long as the stream): a
 * stream holds its bytes, not a few hundred KB of objects. The first attempt takes the request
 * `validated` parsed; a failover parses the bytes again (what is built edits the request).
 */
function prepare(ctx: RunContext, deployment: Deployment, apiKey: string, first: { request: ResponsesRequest | null }): { builder: OutputBuilder; upstream: Upstream | null; inputTokens: number; contextCache: ContextCachePlan | null } {
  const bytes = ctx.job.body!;
  const req = first.request ?? parseJsonBytes(bytes) as ResponsesRequest;
  first.request = null;
  const adapter = adapters[deployment.provider];
  const source = adapter.buildRequestFromSource ? { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), input: Array.isArray(req.input) ? req.input : null } : null;
  const tag = deploymentTag(deployment);
  // Reasoning another deployment made is unreadable here (another org): leave it out rather than be refused.
  if (Array.isArray(req.input)) {
    const { input, dropped } = stateForDeployment(req.input, tag);
    req.input = input;
    if (dropped > 0) metrics.reasoningDropped.inc({ deployment: deploymentId(deployment) }, dropped);
  }
  // With an explicit prompt cache, the plan holds the mapped request and builds what is sent (with the cache or whole).
  const contextCache = ctx.contextCaches ? adapter.planContextCache?.(req, deployment, apiKey) ?? null : null;
  return {
    inputTokens: estimateInputTokens(req),
    builder: new OutputBuilder(ctx.out, `${ctx.job.id.slice(5)}_`, req.tools, adapter.deploymentBoundState ? tag : null),
    upstream: contextCache ? null : (source && adapter.buildRequestFromSource!(req, deployment, apiKey, source)) || asUpstream(adapter.buildRequest(req, deployment, apiKey)),
    contextCache,
  };
}

/** The request's bytes, encoded once (undici would copy a string body itself). */
function asUpstream({ url, headers, body }: UpstreamRequest): Upstream {
  return { url, headers, body: Buffer.from(body) };
}

/**
 * The body as a one-shot iterable, with its length: undici keeps a Buffer body referenced until the
 * response ends, i.e. a Codex request's ~40 KB (up to megabytes late in a session) for the whole of
 * a stream that may run for minutes. These bytes are let go as soon as they are written.
 */
function sendOnce(upstream: Upstream): { headers: Record<string, string>; body: Readable } {
  const length = String(upstream.body!.byteLength);
  // undici takes an async iterable as a body (its documentation); its types name only Readable.
  return { headers: { ...upstream.headers, 'content-length': length }, body: takeBody(upstream) as unknown as Readable };
}

/** Yields the body and keeps no reference to it (a closure over the bytes would keep them as long as undici keeps the generator). */
async function* takeBody(upstream: Upstream): AsyncGenerator<Buffer> {
  const bytes = upstream.body!;
  upstream.body = null;
  yield bytes;
}

/** One upstream attempt. Returns a failure that happened outside the stream mapper (HTTP error, network). */
async function attempt(ctx: RunContext, deployment: Deployment, upstream: Upstream, builder: OutputBuilder, onStarted: () => void): Promise<UpstreamFailure | null> {
  const adapter = adapters[deployment.provider];
  const name = `${deployment.provider} upstream at ${hostOf(deployment.base_url)}`;
  let mapperFailed = false;
  const sentAt = performance.now();
  const mapper = adapter.createStreamMapper(builder);
  const parser = createParser({
    onEvent: (ev) => {
      if (builder.terminal) return;
      try {
        mapper.onEvent(ev.event, ev.data);
      } catch (err) {
        mapperFailed = true;
        const f = streamFailure(name, `malformed event (${(err as Error).message})`, true, 'upstream_malformed_stream');
        builder.failed(f.error, f.httpStatus, f.retryable);
      }
    },
  });
  // StringDecoder keeps a character split between chunks, like TextDecoder's stream mode, at a
  // fraction of its cost (Node 20).
  const decoder = new StringDecoder('utf8');
  const onChunk = (chunk: Buffer): boolean => {
    parser.feed(decoder.write(chunk));
    ctx.out.flushSoon();
    // Once output reached the client there is no failover: let go of the client's request bytes.
    if (builder.hasOutput) {
      ctx.job.body = NO_BODY;
      if (ctx.trace.firstOutputAt === null) ctx.trace.firstOutputAt = performance.now();
    }
    return builder.terminal !== null;
  };
  try {
    const answer = await exchange(ctx, upstream, (status) => {
      metrics.upstreamFirstByte.observe({ deployment: deploymentId(deployment) }, (performance.now() - sentAt) / 1000);
      if (status !== 200) return null;
      onStarted();
      return onChunk;
    });
    if (answer.text !== null) return adapter.mapError(answer.status, answer.headers, answer.text, redactUrl(upstream.url));
    if (!builder.terminal) mapper.onEnd();
    if (!builder.terminal) {
      const f = streamFailure(name, 'the stream ended before the response was complete; retry the request', true, 'upstream_stream_incomplete');
      builder.failed(f.error, f.httpStatus, f.retryable);
    }
    return null;
  } catch (err) {
    if (ctx.signal.aborted || mapperFailed) return null;
    const e = err as Error & { code?: string };
    const detail = e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_HEADERS_TIMEOUT' ? `no data for too long (${e.code})` : `${e.code ?? e.name}: ${e.message}`;
    const f = streamFailure(name, `connection failed (${detail})`, true, 'upstream_connection_error');
    if (builder.hasOutput) {
      builder.failed(f.error, f.httpStatus, true);
      return null;
    }
    return f;
  }
}

/** How long the rest of a body may take to arrive after the terminal event before its connection is dropped. */
const DRAIN_MS = 2000;

/** What an upstream answered: status and headers, and the body as text unless it was a 200 (streamed). */
interface UpstreamAnswer { status: number; headers: Record<string, string | string[] | undefined>; text: string | null }

/**
 * One POST through the worker's dispatcher, with a handler of RouterHub's own: undici's HTTP parser
 * hands each network chunk of a 200's body straight to the consumer `onStatus` returned (no Readable
 * between them: its push, events and read per chunk were ~5% of a worker's CPU with 2,000 slow
 * streams); any other status's body is collected as text. The consumer returns true once the
 * response has its terminal frame: the answer resolves then, at once. The rest of the body is read
 * and dropped rather than aborted: providers end the stream right after their last event, and a
 * request cut before its end costs the connection, i.e. a new connection (with a real provider, a
 * TLS handshake) for every request.
 */
function exchange(ctx: RunContext, upstream: Upstream, onStatus: (status: number) => ((chunk: Buffer) => boolean) | null): Promise<UpstreamAnswer> {
  const { signal } = ctx;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const answer: UpstreamAnswer = { status: 0, headers: {}, text: null };
    let controller: Dispatcher.DispatchController | null = null;
    // A 200's consumer; any other status's body is collected.
    let consume: ((chunk: Buffer) => boolean) | null = null;
    const errorBody: Buffer[] = [];
    let settled = false;
    let drain: NodeJS.Timeout | null = null;
    const onAbort = () => controller?.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(answer);
    };
    const url = new URL(upstream.url);
    const { headers, body } = sendOnce(upstream);
    ctx.dispatcher.dispatch({
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'POST',
      headers,
      body,
      headersTimeout: ctx.headersTimeoutMs,
      bodyTimeout: ctx.idleTimeoutMs,
    }, {
      onRequestStart(c) {
        controller = c;
        if (signal.aborted) c.abort(signal.reason);
      },
      onResponseStart(c, status, headers) {
        if (status < 200) return; // 1xx: the answer follows
        answer.status = status;
        // Only an error's headers are read (retry-after). undici's controller keeps the raw ones,
        // views onto the stream's first socket read (~2.5 KiB with their Buffers), as long as the stream.
        c.rawHeaders = null;
        if (status !== 200) answer.headers = headers;
        try {
          consume = onStatus(status);
        } catch (err) {
          controller?.abort(err as Error);
        }
      },
      onResponseData(c, chunk) {
        if (settled) return;
        if (!consume) return void errorBody.push(chunk);
        let done: boolean;
        try {
          done = consume(chunk);
        } catch (err) {
          settle(err);
          return c.abort(err as Error);
        }
        if (!done) return;
        settle();
        drain = setTimeout(() => c.abort(new Error('the rest of the body took too long')), DRAIN_MS);
      },
      onResponseEnd() {
        if (drain) clearTimeout(drain);
        if (!consume) answer.text = Buffer.concat(errorBody).toString('utf8');
        settle();
      },
      // Also after the terminal frame: a late error only drops the connection.
      onResponseError(_c, err) {
        if (drain) clearTimeout(drain);
        settle(err);
      },
    });
  });
}
