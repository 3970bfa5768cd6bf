// gemini errors: Google's `{"error":{code,message,status,details}}` bodies, RetryInfo as Retry-After.
import { httpFailure, retryAfterSeconds } from '../errors';
import type { ProviderAdapter } from '../types';

export const NAME = 'Google Gemini';

interface GoogleError { code?: number; message?: string; status?: string; details?: Array<{ '@type'?: string; retryDelay?: string; reason?: string }> }

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


export const mapError: ProviderAdapter['mapError'] = (status, headers, body) => {
  const err = parseGoogleError(body);
  const message = err?.message ?? body.slice(0, 500).trim();
  // An invalid key is a 400 INVALID_ARGUMENT on this API: treat it as the auth failure it is.
  const badKey = err?.details?.some((d) => d.reason === 'API_KEY_INVALID') ?? false;
  return httpFailure(NAME, badKey ? 401 : status, message, retryAfterSeconds(headers) ?? retryDelaySeconds(err), err?.status ?? null);
};
