// gemini errors: Google's `{"error":{code,message,status,details}}` bodies, over HTTP and inside the
// stream, with RetryInfo as Retry-After.
import { errorMessageOf, httpFailure, retryAfterSeconds } from '../errors';
import type { ProviderAdapter, UpstreamFailure } from '../types';

export const NAME = 'Google Gemini';

export interface GoogleError { code?: number; message?: string; status?: string; details?: Array<{ '@type'?: string; retryDelay?: string; reason?: string }> }

/** Google's `{"error":{code,message,status,details}}` body (also sent wrapped in an array). */
export function parseGoogleError(body: string): GoogleError | null {
  try {
    const doc = JSON.parse(body) as { error?: GoogleError } | Array<{ error?: GoogleError }>;
    const err = Array.isArray(doc) ? doc[0]?.error : doc.error;
    return err && typeof err === 'object' ? err : null;
  } catch {
    return null;
  }
}

/** RetryInfo.retryDelay ("34.4s") in whole seconds. */
function retryDelaySeconds(err: GoogleError | null): number | null {
  const delay = err?.details?.find((d) => String(d['@type']).endsWith('google.rpc.RetryInfo'))?.retryDelay;
  const m = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
  return m ? Math.max(1, Math.ceil(Number(m[1]))) : null;
}

/**
 * A Google error object, from an HTTP body (`status`: the HTTP status) or a stream chunk (null: its
 * `status` names the cause, its numeric `code` the HTTP status it stands for).
 */
export function googleFailure(err: GoogleError, status: number | null, retryAfter: number | null, url: string | null = null): UpstreamFailure {
  // An invalid key is a 400 INVALID_ARGUMENT on this API: treat it as the auth failure it is.
  const badKey = err.details?.some((d) => d.reason === 'API_KEY_INVALID') ?? false;
  const code = err.status ?? (typeof err.code === 'number' ? String(err.code) : null);
  return httpFailure(NAME, badKey ? 401 : status, err.message ?? '', retryAfter ?? retryDelaySeconds(err), badKey ? 'API_KEY_INVALID' : code, url);
}

export const mapError: ProviderAdapter['mapError'] = (status, headers, body, url) => {
  const err = parseGoogleError(body);
  if (err) return googleFailure(err, status, retryAfterSeconds(headers), url ?? null);
  return httpFailure(NAME, status, errorMessageOf(body).message, retryAfterSeconds(headers), null, url ?? null);
};
