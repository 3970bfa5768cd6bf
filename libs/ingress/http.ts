// The ingress's HTTP surface (uWebSockets.js): POST /v1/responses, GET /v1/models, health,
// readiness and metrics. Parses, authenticates, validates and resolves the route plan, then hands
// the response to the dispatcher; it never calls a provider.
import { randomBytes } from 'node:crypto';
import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { allDeploymentsRateLimited, deploymentPinNotAllowed, requestBodyTimeout, errorJson, HttpError, internalError, invalidApiKey, invalidCacheHeader, keyStoreUnavailable, missingApiKey, modelNotFound, requestTooLarge, routeNotFound, serverAtCapacity, statusLine, unknownDeployment } from '../protocol/errors';
import type { InputLimits } from '../protocol/bounds';
import { ResponseSettings } from '../protocol/envelope';
import { ResponseStream } from '../protocol/sse';
import { readRequestHead } from '../protocol/validate';
import type { Admission, Limits } from '../control/admission';
import { conversationKey, reasoningDeployment } from '../routing/affinity';
import { DEPLOYMENT_HEADER, deploymentId, pinPlan, type ModelCatalog, type RoutePlan } from '../routing/catalog';
import type { HealthView } from '../routing/health';
import { codexCatalog } from '../routing/codex-catalog';
import type { KeyStore } from '../store/keys';
import { metrics, registry } from '../telemetry/metrics';
import { redact } from '../telemetry/secrets';
import { failSpan, startResponseSpan, traceparentOf } from '../telemetry/tracing';
import { F } from '../wire/frames';
import { CACHE_MODES, type CacheMode } from '../wire/job';
import { CACHE_HEADER, ClientResponse } from './client';
import type { Dispatcher } from './dispatch';
import type { ReadinessReport } from './readiness';

export interface IngressOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** A request body that stops arriving for this long gets 408 (before uWS's own silent idle close). */
  bodyTimeoutMs: number;
  /** Nesting, counts and string lengths a request may have, checked before a worker sees it. */
  inputLimits: InputLimits;
  /** Request bytes waiting for a worker past which new requests are turned away (503). */
  maxWaitingBytes: number;
  maxBacklogBytes: number;
  /** Longest a response may run before the worker gives up. */
  maxResponseMs: number;
  catalog: ModelCatalog;
  keys: KeyStore;
  /** Key, account and rate checks of /v1/responses (one Redis round trip per request). */
  limits: Limits;
  dispatcher: Dispatcher;
  /** What /readyz answers (readiness.ts). */
  readiness: () => Promise<ReadinessReport>;
  /** Deployment health as this ingress sees it: plans skip rate-limited deployments and put ejected ones last. */
  health?: HealthView;
  /** The system prompt of routed models in the Codex model catalog. */
  codexInstructions: string;
}

export interface Ingress {
  port: number;
  /** Stops listening for new connections; the open ones (and their streams) go on. */
  close(): void;
  /** Routes new requests by this catalog (a reload); responses under way keep the route plan they started with. */
  setCatalog(catalog: ModelCatalog): void;
}

export function startIngress(opts: IngressOptions): Promise<Ingress> {
  const app = uWS.App();
  app.post('/v1/responses', (res, req) => handleResponses(res, req, opts));
  // Serialized once per catalog, not per request.
  const documents = { models: '', codexModels: '' };
  const setCatalog = (catalog: ModelCatalog) => {
    opts.catalog = catalog;
    documents.models = JSON.stringify({ object: 'list', data: catalog.models.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.id.split('/')[0] })) });
    documents.codexModels = JSON.stringify(codexCatalog(catalog, opts.codexInstructions));
  };
  setCatalog(opts.catalog);
  authenticatedGet(app, opts.keys, '/v1/models', () => documents.models);
  // Codex fetches this with `model_catalog_url` (?client_version=…) and its provider key.
  authenticatedGet(app, opts.keys, '/v1/codex/models', () => documents.codexModels);
  app.get('/healthz', (res) => sendJson(res, 200, { status: 'ok' }));
  app.get('/readyz', (res) => {
    const aborted = watchAbort(res);
    void opts.readiness().then((report) => !aborted.value && sendJson(res, report.status === 'ready' ? 200 : 503, report));
  });
  app.get('/metrics', (res) => {
    const aborted = watchAbort(res);
    void registry.metrics().then((text) => {
      if (aborted.value) return;
      res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', registry.contentType).end(text));
    });
  });
  app.any('/*', (res, req) => {
    const what = `${req.getMethod().toUpperCase()} ${req.getUrl()}`;
    sendError(res, routeNotFound(what));
  });

  return new Promise((resolve, reject) => {
    app.listen(opts.host, opts.port, (socket: us_listen_socket | false) => {
      if (!socket) return reject(new Error(`cannot listen on ${opts.host}:${opts.port} (in use?)`));
      resolve({ port: uWS.us_socket_local_port(socket), close: () => uWS.us_listen_socket_close(socket), setCatalog });
    });
  });
}

function handleResponses(res: HttpResponse, req: HttpRequest, opts: IngressOptions): void {
  const startedAt = performance.now();
  // HttpRequest is only valid until this function returns: read every header now.
  const auth = req.getHeader('authorization');
  const userAgent = req.getHeader('user-agent');
  const declared = Number(req.getHeader('content-length') || 0);
  // A deployment named by a management key (npm run doctor checks each deployment through the cluster).
  const pinned = req.getHeader(DEPLOYMENT_HEADER);
  const session = req.getHeader('session_id') || req.getHeader('session-id') || req.getHeader('x-session-id');
  const cacheHeader = req.getHeader(CACHE_HEADER);
  let client: ClientResponse | null = null;
  let requestId: string | null = null;
  let admission: Admission | null = null;
  let aborted = false;
  let stalled: NodeJS.Timeout | undefined;
  res.onAborted(() => {
    aborted = true;
    clearTimeout(stalled);
    client?.abort();
    admission?.release();
    if (requestId) opts.dispatcher.cancel(requestId);
  });
  if (declared > opts.maxBodyBytes) return void sendError(res, requestTooLarge(opts.maxBodyBytes));
  // Past this the workers are not keeping up: turn the request away before holding its body, so an
  // overload costs the ingress a bounded amount of memory and the client learns at once to retry.
  if (opts.dispatcher.waitingBytes >= opts.maxWaitingBytes) {
    metrics.atCapacity.inc();
    return void sendError(res, serverAtCapacity(opts.dispatcher.waitingBytes));
  }

  // Checked while the body arrives; the model is checked against the key once the body is parsed.
  const verified = opts.limits.admit(auth, pinned !== '').then((a) => {
    admission = a;
    if (aborted) a.release();
    return a;
  });
  verified.catch(() => undefined); // handled below, once the body is in
  const chunks: Buffer[] = [];
  let size = 0;
  let rejected = false;
  // uWS closes a connection idle for ~10 s without a word: a body that stops arriving gets a 408 first.
  stalled = setTimeout(() => {
    if (rejected || aborted) return;
    rejected = true;
    sendError(res, requestBodyTimeout(size, declared, opts.bodyTimeoutMs));
  }, opts.bodyTimeoutMs);
  res.onData((chunk, isLast) => {
    if (rejected) return;
    stalled?.refresh();
    size += chunk.byteLength;
    if (size > opts.maxBodyBytes) {
      rejected = true;
      clearTimeout(stalled);
      return void sendError(res, requestTooLarge(opts.maxBodyBytes));
    }
    // uWS reuses the chunk's memory after this callback: copy it (once; Buffer.from wraps the copy).
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    clearTimeout(stalled);
    // The closures below live as long as the stream: let go of the body once it is parsed.
    let body: Buffer | null = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    chunks.length = 0;
    /** The model of a parsed streaming request, for a rate limit found after parsing (every deployment cooling down). */
    let streamedAs: string | null = null;
    verified
      .then((admitted) => {
        if (aborted) return;
        const raw = body!;
        body = null;
        // All but the input: the worker parses and validates that (an error in it comes back as this
        // request's 400). Closures below keep only the model name and the settings serialized.
        const { request, items } = readRequestHead(raw, opts.inputLimits);
        const model = request.model;
        if (request.stream === true) streamedAs = model;
        admitted.checkModel(model);
        const responseCache = cacheMode(cacheHeader);
        // A pinned request (npm run doctor) checks its one deployment whatever health says of it.
        const deployments = opts.catalog.get(model)?.deployments ?? [];
        const routed = pinned ? opts.catalog.plan(model) : opts.catalog.plan(model, { conversation: conversationKey(request, items, session), preferred: reasoningDeployment(items, deployments), health: opts.health });
        if (!routed) throw modelNotFound(model);
        if (routed.deployments.length === 0) throw allDeploymentsRateLimited(model, routed.retryAfterSeconds ?? 1);
        const plan = pinned ? pinnedPlan(routed, pinned, admitted.management) : routed;
        const settings = ResponseSettings.fromRequest(request);
        const id = `resp_${randomBytes(12).toString('hex')}`;
        requestId = id;
        const span = startResponseSpan(request, id);
        metrics.activeStreams.inc();
        client = new ClientResponse(res, new ResponseStream(id, model, settings), {
          stream: request.stream === true,
          maxBacklogBytes: opts.maxBacklogBytes,
          startedAt,
          headers: admitted.headers,
          onDone: (outcome) => {
            admitted.release();
            metrics.activeStreams.dec();
            metrics.requests.inc({ model, outcome });
            metrics.requestDuration.observe({ model, outcome }, (performance.now() - startedAt) / 1000);
            span.setAttribute('routerhub.outcome', outcome);
            if (outcome === 'failed' || outcome === 'slow_client') failSpan(span, outcome, `the response ended ${outcome === 'failed' ? 'in response.failed' : 'because the client read too slowly'}`);
            span.end();
          },
          onDrop: () => opts.dispatcher.cancel(id),
        });
        opts.dispatcher.dispatch({
          id,
          ...opts.dispatcher.replyTo(id),
          keyId: admitted.keyId,
          accountId: admitted.accountId,
          userAgent: userAgent || undefined,
          body: raw,
          limits: opts.inputLimits,
          plan,
          // A pinned request checks its deployment (npm run doctor): never answered from the response cache.
          ...(pinned ? { responseCache: 'off' as const } : responseCache ? { responseCache } : {}),
          deadline: Date.now() + opts.maxResponseMs,
          traceparent: traceparentOf(span),
        }, client);
      })
      .catch((err: unknown) => {
        if (!client) admission?.release();
        if (aborted) return;
        if ((body || streamedAs) && /^codex_/i.test(userAgent) && err instanceof HttpError && err.code === 'rate_limit_exceeded') {
          const model = body ? streamedModel(body, opts.inputLimits) : streamedAs;
          if (model !== null) return failStreamAtOnce(res, err, model, startedAt, opts.maxBacklogBytes);
        }
        sendError(res, err, admission?.headers);
      });
  });
}

async function authenticate(keys: KeyStore, header: string): Promise<string> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw missingApiKey();
  let id: string | null;
  try {
    id = await keys.verify(m[1]);
  } catch {
    throw keyStoreUnavailable();
  }
  if (!id) throw invalidApiKey('unknown');
  return id;
}

/** The model of a request that asks for a stream, or null (an invalid body gets its own 400 next time). */
function streamedModel(body: Buffer, limits: InputLimits): string | null {
  try {
    const { request } = readRequestHead(body, limits);
    return request.stream === true ? request.model : null;
  } catch {
    return null;
  }
}

/**
 * Codex hides the body of an HTTP 429 (it prints "exceeded retry limit, last status: 429"), but it
 * shows a stream's rate_limit_exceeded failure and retries after the "try again in Ns" it names:
 * so Codex's streams learn of a rate limit as a stream that fails at once.
 */
function failStreamAtOnce(res: HttpResponse, err: HttpError, model: string, startedAt: number, maxBacklogBytes: number): void {
  countRejection(err);
  const client = new ClientResponse(res, new ResponseStream(`resp_${randomBytes(12).toString('hex')}`, model), {
    stream: true, maxBacklogBytes, startedAt, headers: err.headers, onDone: () => undefined, onDrop: () => undefined,
  });
  client.onFrames([[F.Started], [F.Failed, err.body, err.status, err.retryAfterSeconds]]);
}

/** The client's `x-routerhub-cache` header: on, off or include-tool-outputs; absent: the catalog decides. */
function cacheMode(header: string): CacheMode | undefined {
  if (header === '') return undefined;
  const mode = header.trim().toLowerCase();
  if ((CACHE_MODES as readonly string[]).includes(mode)) return mode as CacheMode;
  throw invalidCacheHeader(CACHE_HEADER, header, CACHE_MODES);
}

/** The route plan narrowed to the deployment a management key named: no failover, so each one is checked alone. */
function pinnedPlan(plan: RoutePlan, id: string, management: boolean): RoutePlan {
  if (!management) throw deploymentPinNotAllowed(DEPLOYMENT_HEADER);
  const pinned = pinPlan(plan, id);
  if (!pinned) throw unknownDeployment(DEPLOYMENT_HEADER, plan.model, id, plan.deployments.map(deploymentId));
  return pinned;
}

/** Every error answered here is a request turned away before any worker took it. */
function sendError(res: HttpResponse, err: unknown, headers: Array<[string, string]> = []): void {
  const e = err instanceof HttpError ? err : internalError(redact((err as Error).message));
  countRejection(e);
  res.cork(() => {
    res.writeStatus(statusLine(e.status)).writeHeader('content-type', 'application/json');
    if (e.retryAfterSeconds !== null) res.writeHeader('retry-after', String(e.retryAfterSeconds));
    for (const [name, value] of e.headers.length > 0 ? e.headers : headers) res.writeHeader(name, value);
    res.end(errorJson(e.body));
  });
}

function countRejection(e: HttpError): void {
  metrics.rejections.inc({ status: String(e.status), reason: e.code ?? e.type });
}

function sendJson(res: HttpResponse, status: number, body: unknown): void {
  res.cork(() => res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json').end(JSON.stringify(body)));
}

function authenticatedGet(app: TemplatedApp, keys: KeyStore, path: string, body: () => string): void {
  app.get(path, (res, req) => {
    const aborted = watchAbort(res);
    authenticate(keys, req.getHeader('authorization'))
      .then(() => !aborted.value && res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'application/json').end(body())))
      .catch((err: unknown) => !aborted.value && sendError(res, err));
  });
}

function watchAbort(res: HttpResponse): { value: boolean } {
  const state = { value: false };
  res.onAborted(() => (state.value = true));
  return state;
}

