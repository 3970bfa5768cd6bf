// API keys never appear in output: not in logs, error messages, the request log or traces. RouterHub
// keys (sk-rh-…) are recognised by their shape; provider keys by value, remembered by the worker as
// it reads them from its environment (a provider may quote the key it was sent in its error body).
import type { ApiError } from '../protocol/types';

export const REDACTED = '[redacted]';

const ROUTERHUB_KEY = /sk-rh-[A-Za-z0-9_-]+/g;
/** Shorter values are not treated as secrets: masking them would mangle ordinary text. */
const MIN_SECRET_CHARS = 8;
const secrets = new Set<string>();

/** A credential this process holds: from now on it is masked wherever `redact` runs. */
export function rememberSecret(value: string): void {
  if (value.length >= MIN_SECRET_CHARS) secrets.add(value);
}

/** `text` with every RouterHub key and every remembered credential replaced by [redacted]. */
export function redact(text: string): string {
  let out = text.replace(ROUTERHUB_KEY, REDACTED);
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

/** Masks the text fields of an error that came from elsewhere (a provider) before it goes on. */
export function redactError(error: ApiError): void {
  error.message = redact(error.message);
  if (error.code !== null) error.code = redact(error.code);
}
