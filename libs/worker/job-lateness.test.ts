import t from 'tap';
import { JobLateness } from './job-lateness';

t.test("a copy's lateness is its delay beyond the least seen from its ingress: clock skew cancels out", (t) => {
  const l = new JobLateness();
  const now = 1_000_000;
  // This ingress's clock is 5 s behind the worker's: every delay reads 5 s more than it is.
  t.equal(l.of('i1', now - 5002, now), 0, 'the first copy sets the floor');
  t.equal(l.of('i1', now + 100 - 5001, now + 100), 0, 'a faster one lowers it');
  t.equal(l.of('i1', now + 200 - 5001 - 2500, now + 200), 2500, 'a copy read 2.5 s late');
  // Another ingress, 3 s ahead of the worker: negative delays.
  t.equal(l.of('i2', now + 3001, now), 0);
  t.equal(l.of('i2', now + 50 + 3001 - 900, now + 50), 900);
  t.end();
});

t.test('the floor follows the clocks: a window later, only recent delays count', (t) => {
  const l = new JobLateness();
  let now = 0;
  t.equal(l.of('i', now - 10, now), 0);
  // The ingress's clock stepped 1 s: after two windows, the old floor is gone.
  for (const step of [31_000, 62_000]) {
    now = step;
    l.of('i', now - 1010, now);
  }
  t.equal(l.of('i', now + 1 - 1010, now + 1), 0, 'the stepped clock is the new floor');
  t.equal(l.of('i', now + 2 - 1510, now + 2), 500);
  t.end();
});

t.test('an ingress not heard from for two windows is forgotten when another appears', (t) => {
  const l = new JobLateness();
  l.of('old', -5, 0);
  l.of('new', 70_000 - 5, 70_000);
  t.equal(l.of('old', 70_001 - 3005, 70_001), 0, 'the old id starts afresh (its floor was dropped)');
  t.end();
});
