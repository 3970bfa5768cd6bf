// Small summary statistics for the bench: exact percentiles of per-request samples, and a
// log-bucketed histogram for samples too many to keep (inter-delta gaps).

export interface Summary { n: number; min: number; p50: number; p90: number; p99: number; max: number; mean: number }

export function summarize(values: number[]): Summary {
  if (values.length === 0) return { n: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const s = Float64Array.from(values).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, min: s[0], p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1], mean: sum / s.length };
}

/** Milliseconds in buckets of ~5% width from 1 µs to ~100 s. */
export class Histogram {
  static readonly BUCKETS = 400;
  private static readonly BASE = Math.log(1.05);
  counts: number[] = new Array<number>(Histogram.BUCKETS).fill(0);
  n = 0;
  max = 0;
  sum = 0;

  add(ms: number): void {
    const i = ms <= 0.001 ? 0 : Math.min(Histogram.BUCKETS - 1, Math.ceil(Math.log(ms / 0.001) / Histogram.BASE));
    this.counts[i]++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  quantile(q: number): number {
    let seen = 0;
    const want = q * this.n;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= want && this.counts[i] > 0) return Math.min(this.max, 0.001 * Math.pow(1.05, i));
    }
    return this.max;
  }

  summary(): Summary {
    return { n: this.n, min: this.quantile(0), p50: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99), max: this.max, mean: this.n ? this.sum / this.n : 0 };
  }
}
