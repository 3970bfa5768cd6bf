// The request log: one record per response (completed, incomplete, failed, cancelled) in a Redis
// stream, trimmed by count and by age so it never grows without bound. No prompt or answer text
// unless the operator turns it on (ROUTERHUB_LOG_BODIES).
import type { Redis } from './redis';

export const REQUEST_LOG_STREAM = 'rh:requests';

export interface FailedAttempt { deployment: string; status: number; code: string | null; message: string }

export interface RequestRecord {
  /** The stream entry id (`<ms>-<n>`): the paging cursor. */
  id: string;
  time: string;
  response_id: string;
  account_id: string;
  key_id: string;
  user_agent: string | null;
  endpoint: string;
  model: string;
  /** The deployment that served (or the last one tried), null when none was tried. */
  deployment: string | null;
  /** Deployments that failed before the one that served, with their errors. */
  attempts: FailedAttempt[];
  status: 'completed' | 'incomplete' | 'failed' | 'cancelled';
  error_code: string | null;
  input_tokens: number;
  cached_tokens: number;
  /** Input tokens written to the prompt cache (providers that report writes). */
  cache_write_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  /** The tokens are RouterHub's estimate: the provider sent no usage (a cancelled or broken stream). */
  usage_estimated: boolean;
  /** USD. */
  cost: number;
  time_to_first_token_ms: number | null;
  duration_ms: number;
  /** The response cache's verdict when the request was cached: hit (answered from it), miss, bypass (it carried tool outputs). */
  cache?: 'hit' | 'miss' | 'bypass';
  /** Only when the operator logs bodies. */
  request_body?: string;
  output_text?: string;
}

/** XADD rh:requests MAXLEN ~ <maxEntries> * r <json>, then XTRIM rh:requests MINID ~ <minId> when minId is set. */
export interface LogAppend { maxEntries: number; minId: string; json: string }

export interface RequestFilter { account_id?: string; key_id?: string; model?: string; status?: string; before?: string; limit: number }

/** Entries scanned per page request at most: a filter that matches little cannot make one call read the whole log. */
const MAX_SCAN = 20_000;
const CHUNK = 500;

/**
 * How often one writer trims the log by age. The bound is days: trimming with every append was a
 * Redis command per response for entries that age out a few per second at most.
 */
const TRIM_EVERY_MS = 10_000;

export class RequestLog {
  private trimmedAt = 0;

  constructor(private readonly redis: Redis, private readonly opts: { maxEntries: number; maxAgeMs: number }) {}

  async append(r: Omit<RequestRecord, 'id'>): Promise<void> {
    const a = this.entry(r);
    await Promise.all([
      this.redis.xadd(REQUEST_LOG_STREAM, 'MAXLEN', '~', a.maxEntries, '*', 'r', a.json),
      a.minId && this.redis.xtrim(REQUEST_LOG_STREAM, 'MINID', '~', a.minId),
    ]);
  }

  /**
   * One record as the commands that append it, for a script that writes it with other things in
   * the same round trip (the usage ledger's); `minId` is empty except when it is time to trim by age.
   */
  entry(r: Omit<RequestRecord, 'id'>): LogAppend {
    const now = Date.now();
    const trim = now - this.trimmedAt >= Math.min(TRIM_EVERY_MS, this.opts.maxAgeMs);
    if (trim) this.trimmedAt = now;
    return { maxEntries: this.opts.maxEntries, minId: trim ? `${now - this.opts.maxAgeMs}-0` : '', json: JSON.stringify(r) };
  }

  /** Newest first; `before` is a record id (exclusive) from a previous page's `next_before`. */
  async list(f: RequestFilter): Promise<{ data: RequestRecord[]; has_more: boolean; next_before: string | null }> {
    const out: RequestRecord[] = [];
    let end = f.before ? `(${f.before}` : '+';
    let scanned = 0;
    let exhausted = false;
    while (out.length <= f.limit && scanned < MAX_SCAN) {
      const entries = await this.redis.xrevrange(REQUEST_LOG_STREAM, end, '-', 'COUNT', CHUNK);
      scanned += entries.length;
      for (const [id, fields] of entries) {
        const r = { id, ...(JSON.parse(fields[1]) as Omit<RequestRecord, 'id'>) };
        if (f.account_id && r.account_id !== f.account_id) continue;
        if (f.key_id && r.key_id !== f.key_id) continue;
        if (f.model && r.model !== f.model) continue;
        if (f.status && r.status !== f.status) continue;
        out.push(r);
        if (out.length > f.limit) break;
      }
      if (entries.length < CHUNK) {
        exhausted = true;
        break;
      }
      end = `(${entries[entries.length - 1][0]}`;
    }
    const data = out.slice(0, f.limit);
    const has_more = out.length > f.limit || (!exhausted && scanned >= MAX_SCAN);
    return { data, has_more, next_before: has_more && data.length > 0 ? data[data.length - 1].id : has_more ? end.slice(1) : null };
  }
}
