// One job, provider-blind: try the route plan's deployments in order, stream the first that
// answers, translate its stream through the family's StreamMapper, and end with exactly one
// terminal frame whatever happens. Failover happens only before any output reached the client.
import { createParser } from 'eventsource-parser';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { request, type Dispatcher } from 'undici';
import type { ResponsesRequest } from '../protocol/types';
import { apiError, streamFailure } from '../providers/errors';
import { adapters } from '../providers/index';
import { OutputBuilder } from '../providers/output';
import type { UpstreamFailure, UpstreamRequest } from '../providers/types';
import { deploymentId, type Deployment } from '../routing/catalog';
import type { FailedAttempt } from '../store/requests';
import { costMicroUsd } from '../store/usage';
import { metrics } from '../telemetry/metrics';
import { redactError, rememberSecret } from '../telemetry/secrets';
import { F } from '../wire/frames';
import type { Job } from '../wire/job';
import type { FrameBatcher } from './batch';
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

type Upstream = Omit<UpstreamRequest, 'body'> & { body: Buffer };

const NO_BODY = new Uint8Array(0);

/**
 * Runs the job to its one terminal frame and meters it (`trace.billed`). Resolves without a terminal
 * when the job was stopped (ctx.signal): the worker ends and meters those.
 */
export async function runJob(ctx: RunContext): Promise<void> {
  const { job, out, trace } = ctx;
  const missingKeys: string[] = [];
  let lastFailure: UpstreamFailure | null = null;
  let started = false;

  for (const deployment of job.plan.deployments) {
    if (ctx.signal.aborted) return;
    const apiKey = deployment.api_key_env ? ctx.env[deployment.api_key_env] ?? '' : '';
    if (deployment.api_key_env && !apiKey) {
      missingKeys.push(deployment.api_key_env);
      continue;
    }
    rememberSecret(apiKey);
    trace.deployment = deployment;
    const { builder, upstream, inputTokens } = prepare(ctx, deployment, apiKey);
    const failure = await attempt(ctx, deployment, upstream, builder, () => {
      if (!started) out.push([F.Started]); // sent with the first output, a keep-alive or the end
      started = true;
      trace.served = { inputTokens, builder };
    });
    if (ctx.signal.aborted) return;
    // A provider may quote the key it was sent (an auth error's body): it goes no further.
    if (failure) redactError(failure.error);
    if (builder.terminal?.[0] === F.Failed) redactError(builder.terminal[1]);
    const terminal = builder.terminal;
    if (failure || (terminal?.[0] === F.Failed && builder.retryable)) {
      const f = failure ?? { error: terminal![1], httpStatus: terminal![2], retryAfterSeconds: terminal![3], retryable: true } as UpstreamFailure;
      if (!builder.hasOutput && f.retryable) {
        metrics.upstreamRequests.inc({ provider: deployment.provider, result: 'failed' });
        metrics.failovers.inc({ provider: deployment.provider });
        trace.attempts.push({ deployment: deploymentId(deployment), status: f.httpStatus, code: f.error.code, message: f.error.message });
        lastFailure = f;
        trace.served = null; // failed before any output: not billed
        continue;
      }
      if (!terminal) builder.failed(f.error, f.httpStatus, f.retryable, f.retryAfterSeconds);
    }
    metrics.upstreamRequests.inc({ provider: deployment.provider, result: builder.terminal?.[0] === F.Completed ? 'completed' : 'failed' });
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

  // No deployment could serve: say why, naming what an operator must fix.
  if (lastFailure) {
    out.send([F.Failed, lastFailure.error, lastFailure.httpStatus, lastFailure.retryAfterSeconds]);
  } else {
    const vars = [...new Set(missingKeys)].join(', ');
    out.send([F.Failed, apiError(`No deployment of model "${job.plan.model}" can serve: the workers have no API key in ${vars}. The operator must set ${vars} in the workers' environment.`, 'server_error', 'no_deployment_available'), 503, null]);
  }
}

/**
 * The upstream request for one deployment and the builder its stream writes through. The parsed
 * client request lives only here: a stream holds its bytes, not a few hundred KB of objects.
 */
function prepare(ctx: RunContext, deployment: Deployment, apiKey: string): { builder: OutputBuilder; upstream: Upstream; inputTokens: number } {
  const req = JSON.parse(new TextDecoder().decode(ctx.job.body)) as ResponsesRequest;
  const { url, headers, body } = adapters[deployment.provider].buildRequest(req, deployment, apiKey);
  return {
    inputTokens: estimateInputTokens(req),
    builder: new OutputBuilder(ctx.out, `${ctx.job.id.slice(5)}_`, req.tools),
    // undici keeps the bytes it sends until the response ends: give it the one copy (from a string it copies).
    upstream: { url, headers, body: Buffer.from(body) },
  };
}

/** One upstream attempt. Returns a failure that happened outside the stream mapper (HTTP error, network). */
async function attempt(ctx: RunContext, deployment: Deployment, upstream: Upstream, builder: OutputBuilder, onStarted: () => void): Promise<UpstreamFailure | null> {
  const adapter = adapters[deployment.provider];
  const name = `${deployment.provider} upstream at ${new URL(deployment.base_url).host}`;
  let mapperFailed = false;
  try {
    const res = await request(upstream.url, {
      method: 'POST',
      headers: upstream.headers,
      body: upstream.body,
      signal: ctx.signal,
      dispatcher: ctx.dispatcher,
      headersTimeout: ctx.headersTimeoutMs,
      bodyTimeout: ctx.idleTimeoutMs,
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      return adapter.mapError(res.statusCode, res.headers, text);
    }
    onStarted();
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
    await readUntil(res.body, (chunk) => {
      parser.feed(decoder.write(chunk));
      ctx.out.flushSoon();
      // Once output reached the client there is no failover: let go of the client's request bytes.
      if (builder.hasOutput) {
        ctx.job.body = NO_BODY;
        if (ctx.trace.firstOutputAt === null) ctx.trace.firstOutputAt = performance.now();
      }
      return builder.terminal !== null;
    });
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

/**
 * Feeds `body` to `onChunk` until it returns true (the response has its terminal frame) or the body
 * ends; resolves then, at once. Each `read()` takes everything buffered, so network chunks that
 * arrived together (a busy worker) are parsed and sent on as one. The rest of the body is read and
 * dropped rather than destroyed: providers end the stream right after their last event, and a body
 * destroyed before its end costs the connection, i.e. a new connection (with a real provider, a TLS
 * handshake) for every request.
 */
function readUntil(body: Readable, onChunk: (chunk: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    body.on('readable', () => {
      for (let chunk = body.read() as Buffer | null; chunk !== null; chunk = body.read() as Buffer | null) {
        if (settled) continue;
        let done: boolean;
        try {
          done = onChunk(chunk);
        } catch (err) {
          body.destroy();
          return settle(err as Error);
        }
        if (!done) continue;
        settle();
        const drop = setTimeout(() => body.destroy(), DRAIN_MS);
        body.once('close', () => clearTimeout(drop));
      }
    });
    body.once('end', () => settle());
    body.on('error', settle); // also after the terminal frame: a late error only drops the connection
  });
}
