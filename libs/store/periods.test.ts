// Spend periods in UTC: the day, the week from Monday and the month of an instant, whatever was asked before.
import t from 'tap';
import { nextReset, periodsAt } from './periods';

t.test('day, week (from Monday) and month of an instant, across day, week, month and year ends', async (t) => {
  const at = (iso: string) => periodsAt(Date.parse(iso));
  // Asked in this order, each answer follows one for another day (the last day's answer is kept).
  t.same(at('2026-12-07T23:59:59.999Z'), { day: 'd:2026-12-07', week: 'w:2026-12-07', month: 'm:2026-12' }, 'a Monday');
  t.same(at('2026-12-07T00:00:00.000Z'), { day: 'd:2026-12-07', week: 'w:2026-12-07', month: 'm:2026-12' }, 'the same day, again');
  t.same(at('2026-12-06T23:59:59.999Z'), { day: 'd:2026-12-06', week: 'w:2026-11-30', month: 'm:2026-12' }, 'the Sunday before: the week before');
  t.same(at('2026-12-08T00:00:00.000Z'), { day: 'd:2026-12-08', week: 'w:2026-12-07', month: 'm:2026-12' });
  t.same(at('2027-01-01T12:00:00.000Z'), { day: 'd:2027-01-01', week: 'w:2026-12-28', month: 'm:2027-01' }, 'a week across the year end');
  t.same(at('2026-12-31T23:59:59.999Z'), { day: 'd:2026-12-31', week: 'w:2026-12-28', month: 'm:2026-12' });
  t.throws(() => {
    (periodsAt(0) as { day: string }).day = 'x';
  }, 'a kept answer cannot be changed by a caller');
});

t.test('when a period ends', async (t) => {
  const ms = Date.parse('2026-12-09T10:00:00Z'); // a Wednesday
  t.equal(nextReset('daily', ms), Date.parse('2026-12-10T00:00:00Z'));
  t.equal(nextReset('weekly', ms), Date.parse('2026-12-14T00:00:00Z'));
  t.equal(nextReset('monthly', ms), Date.parse('2027-01-01T00:00:00Z'));
  t.equal(nextReset(null, ms), null);
});
