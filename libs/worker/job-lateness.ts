// How late a worker takes a copy of a job. An overloaded worker reads jobs seconds after they were
// published; by then the ingress may have answered 503 (no worker accepted in time), and taking the
// copy would call a provider for a response nobody reads (a fleet bench saw 28% of a saturated
// worker's jobs end that way). The ingress stamps each copy with its own clock (`sentAt`); hosts'
// clocks differ, so a copy's lateness is its delay beyond the least delay seen lately from the same
// ingress (skew and transit cancel out). A worker late for long keeps its lag in that floor and
// drops fewer copies, never more.

/** The floor is the least of the current and the previous window. */
const WINDOW_MS = 30_000;

interface Floor { current: number; previous: number; since: number }

export class JobLateness {
  private readonly floors = new Map<string, Floor>();

  /** Ms this copy waited beyond the least delay seen lately from `ingressId` (0 when as fast as ever). */
  of(ingressId: string, sentAt: number, now = Date.now()): number {
    const delay = now - sentAt;
    let floor = this.floors.get(ingressId);
    if (!floor) {
      // An ingress that restarted has a new id: forget the ones not heard from for two windows.
      for (const [id, f] of this.floors) if (now - f.since > 2 * WINDOW_MS) this.floors.delete(id);
      floor = { current: delay, previous: delay, since: now };
      this.floors.set(ingressId, floor);
    } else if (now - floor.since > WINDOW_MS) {
      floor.previous = floor.current;
      floor.current = delay;
      floor.since = now;
    } else {
      floor.current = Math.min(floor.current, delay);
    }
    return Math.max(0, delay - Math.min(floor.current, floor.previous));
  }
}
