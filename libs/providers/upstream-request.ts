import type { Deployment } from '../routing/catalog';

/** JSON in, SSE out, the deployment's own headers, and the family's credential header when a key is set. */
export function streamingHeaders(deployment: Deployment, credential: Record<string, string> | null): Record<string, string> {
  return { 'content-type': 'application/json', accept: 'text/event-stream', ...deployment.headers, ...credential };
}

/** The deployment's base URL joined with a path, whatever trailing slashes the operator wrote. */
export function upstreamUrl(deployment: Deployment, path: string): string {
  return `${deployment.base_url.replace(/\/+$/, '')}${path}`;
}
