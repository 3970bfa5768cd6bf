// OpenTelemetry traces with the SDK's own configuration: the standard OTEL_* variables
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_TRACES_EXPORTER=console,
// OTEL_TRACES_SAMPLER, …). Nothing is exported unless one of them asks for it; spans are then
// cheap no-ops. The ingress's span context travels to the worker in the job as a W3C traceparent,
// so one response is one trace: ingress → worker → the upstream HTTP call (undici instrumentation).
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { RequestFields, ResponsesRequest, Usage } from '../protocol/types';
import { onExit } from './lifecycle';

export const tracer = trace.getTracer('routerhub');

/** Whether the OTEL_* environment asks for traces to be exported. */
export function tracingEnabled(env: Record<string, string | undefined> = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER;
  if (exporter) return exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the SDK for this process (`service.name` is `serviceName` unless OTEL_SERVICE_NAME says
 * otherwise); its last spans are exported when the process stops. Metrics stay with prom-client and
 * logs with pino, unless OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER ask for the SDK's own.
 */
export function setupTracing(serviceName: string, opts: { upstreamCalls?: boolean } = {}): void {
  const env = process.env;
  if (!tracingEnabled(env)) return;
  // Loaded only when traces are exported: the SDK and its exporters take a while to load.
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || serviceName,
    ...(env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
    // Workers' upstream calls (undici) become client spans under the job's span.
    instrumentations: opts.upstreamCalls ? [new UndiciInstrumentation()] : [],
  });
  sdk.start();
  onExit(() => sdk.shutdown());
}

export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return carrier.traceparent;
}

/** A child span of the ingress's span named in `traceparent`. */
export function startChildSpan(name: string, traceparent: string | undefined, attributes?: Record<string, string | number | boolean>): Span {
  const parent = traceparent ? propagation.extract(context.active(), { traceparent }) : context.active();
  return tracer.startSpan(name, { attributes }, parent);
}

/** Runs `fn` with `span` as the active span (so instrumented calls inside become its children). */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** The OpenTelemetry GenAI name of a RouterHub provider family (`gen_ai.provider.name`). */
export function genAiProvider(family: string): string {
  return family === 'anthropic' ? 'anthropic' : family === 'gemini' ? 'gcp.gemini' : 'openai';
}

/** GenAI usage attributes of a finished response. */
export function usageAttributes(usage: Usage): Record<string, number> {
  return {
    'gen_ai.usage.input_tokens': usage.input_tokens,
    'gen_ai.usage.output_tokens': usage.output_tokens,
    'gen_ai.usage.cache_read.input_tokens': usage.input_tokens_details.cached_tokens,
    'gen_ai.usage.reasoning.output_tokens': usage.output_tokens_details.reasoning_tokens,
  };
}

/** Marks a span failed: `error.type` is RouterHub's error code (e.g. `rate_limit_exceeded`). */
export function failSpan(span: Span, code: string, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', code);
}

/** The ingress's span of one response: the root of its trace. */
export function startResponseSpan(request: RequestFields, responseId: string): Span {
  const span = tracer.startSpan(`chat ${request.model}`, { kind: SpanKind.SERVER });
  // Without an exporter the span records nothing: the attributes are built only for one that does.
  if (span.isRecording()) span.setAttributes({ ...requestAttributes(request), 'gen_ai.response.id': responseId });
  return span;
}

/** The trace id of a span, when it is recorded (for the log line of its response). */
export function traceIdOf(span: Span): string | undefined {
  const ctx = span.spanContext();
  return trace.isSpanContextValid(ctx) ? ctx.traceId : undefined;
}

/** GenAI attributes of a request (the ingress's span; the worker's repeats the model). */
export function requestAttributes(request: RequestFields): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean> = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': request.model,
    'gen_ai.request.stream': request.stream === true,
  };
  if (request.prompt_cache_key) attributes['gen_ai.conversation.id'] = request.prompt_cache_key;
  if (typeof request.max_output_tokens === 'number') attributes['gen_ai.request.max_tokens'] = request.max_output_tokens;
  if (typeof request.temperature === 'number') attributes['gen_ai.request.temperature'] = request.temperature;
  if (typeof request.top_p === 'number') attributes['gen_ai.request.top_p'] = request.top_p;
  return attributes;
}
