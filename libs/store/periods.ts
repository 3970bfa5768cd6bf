// Spend-limit periods, calendar-aligned in UTC: a day from 00:00, a week from Monday 00:00, a month
// from the 1st. Spend is counted per period under a field named after its start, so a new period
// starts at zero without anything having to reset it.
export const LIMIT_RESETS = ['daily', 'weekly', 'monthly'] as const;
export type LimitReset = (typeof LIMIT_RESETS)[number];

/** The spend-hash field of each period that contains one instant. */
export interface Periods { day: string; week: string; month: string }

const DAY_MS = 86_400_000;

/** The periods of the last day asked for: admission and the ledger ask once per request. */
let lastDay: { index: number; periods: Readonly<Periods> } | null = null;

export function periodsAt(ms: number): Readonly<Periods> {
  const index = Math.floor(ms / DAY_MS);
  if (lastDay?.index === index) return lastDay.periods;
  const d = new Date(ms);
  const day = d.toISOString().slice(0, 10);
  const monday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - ((d.getUTCDay() + 6) % 7) * DAY_MS);
  const periods = Object.freeze({ day: `d:${day}`, week: `w:${monday.toISOString().slice(0, 10)}`, month: `m:${day.slice(0, 7)}` });
  lastDay = { index, periods };
  return periods;
}

/** The field counting spend toward a limit with this reset ('all' for a limit that never resets). */
export function periodField(reset: LimitReset | null, p: Periods): string {
  if (reset === 'daily') return p.day;
  if (reset === 'weekly') return p.week;
  if (reset === 'monthly') return p.month;
  return 'all';
}

/** When the period containing `ms` ends (epoch ms), or null for a limit that never resets. */
export function nextReset(reset: LimitReset | null, ms: number): number | null {
  const d = new Date(ms);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (reset === 'daily') return midnight + DAY_MS;
  if (reset === 'weekly') return midnight + (7 - ((d.getUTCDay() + 6) % 7)) * DAY_MS;
  if (reset === 'monthly') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return null;
}

/** UTC days from `from` to `to` inclusive (YYYY-MM-DD). */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export function isLimitReset(v: unknown): v is LimitReset {
  return typeof v === 'string' && (LIMIT_RESETS as readonly string[]).includes(v);
}
