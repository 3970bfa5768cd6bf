// OpenTelemetry traces. Spans are always created through the API (cheap no-ops without a provider);
// a provider is registered when OTEL_TRACES_EXPORTER=console (development) so spans can be seen.
// The ingress's span context travels to the worker in the job as a W3C traceparent.
import { context, propagation, trace, type Span } from '@opentelemetry/api';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export const tracer = trace.getTracer('routerhub');

export function setupTracing(serviceName: string): void {
  if (process.env.OTEL_TRACES_EXPORTER !== 'console') return;
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new ConsoleSpanExporter())] });
  provider.register();
  tracer.startSpan(`${serviceName} start`).end();
}

export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return carrier.traceparent;
}

/** A child span of the ingress's span named in `traceparent`. */
export function startChildSpan(name: string, traceparent: string | undefined): Span {
  const parent = traceparent ? propagation.extract(context.active(), { traceparent }) : context.active();
  return tracer.startSpan(name, undefined, parent);
}
