import { hostOf, type Deployment } from '../routing/catalog';

/** JSON in, SSE out, the deployment's own headers, and the family's credential header when a key is set. */
export function streamingHeaders(deployment: Deployment, credential: Record<string, string> | null): Record<string, string> {
  return { 'content-type': 'application/json', accept: 'text/event-stream', ...deployment.headers, ...credential };
}

/** Upstream URLs already joined, by base URL, path and SDK version. */
const joinedUrls = new Map<string, string>();

/** A path segment that names an API version: /v1, /v1beta, /v1alpha, /v2… */
const VERSION_SEGMENT = /\/v\d+(?:(?:alpha|beta)\d*)?(?:\/|$)/i;

/**
 * The deployment's base URL joined with the family's `path` (which may carry its own query), whatever
 * trailing slashes the operator wrote. `sdkVersion` is added first when the base URL names no API
 * version: the form the provider's SDK documents (`https://api.anthropic.com` → `…/v1/messages`). A
 * query string in the base URL (Azure's `api-version`, a Gemini `key`) stays a query string.
 */
export function upstreamUrl(deployment: Deployment, path: string, sdkVersion: string | null = null): string {
  const key = `${deployment.base_url} ${path} ${sdkVersion}`;
  let joined = joinedUrls.get(key);
  if (joined === undefined) {
    // Few distinct ones (deployments × paths); parsing and serializing a URL per attempt was not free.
    if (joinedUrls.size > 10_000) joinedUrls.clear();
    joined = joinUrl(deployment.base_url, path, sdkVersion);
    joinedUrls.set(key, joined);
  }
  return joined;
}

function joinUrl(baseUrl: string, path: string, sdkVersion: string | null): string {
  const url = new URL(baseUrl);
  const [pathname, query] = path.split('?', 2);
  let base = url.pathname.replace(/\/+$/, '');
  if (sdkVersion && !VERSION_SEGMENT.test(`${base}/`)) base += `/${sdkVersion}`;
  url.pathname = `${base}${pathname}`;
  if (query) for (const [name, value] of new URLSearchParams(query)) url.searchParams.set(name, value);
  // URL encodes the `:` of Gemini's `models/x:streamGenerateContent` nowhere, and keeps `?alt=sse` as written.
  return url.toString();
}

/** OpenAI's own API needs /v1; OpenAI-compatible servers are used as written (the OpenAI SDK's behaviour). */
export function openaiSdkVersion(deployment: Deployment): string | null {
  return hostOf(deployment.base_url) === 'api.openai.com' ? 'v1' : null;
}

const SECRET_PARAM = /key|token|secret|sig|auth|password|credential/i;

/** A URL fit for a message or a log: no user info, no value of a parameter that may be a credential. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '(an invalid URL)';
  }
  url.username = '';
  url.password = '';
  for (const name of [...url.searchParams.keys()]) if (SECRET_PARAM.test(name)) url.searchParams.set(name, 'REDACTED');
  return url.toString();
}
