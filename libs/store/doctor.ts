// The last `npm run doctor` run, kept in Redis for the dashboard's Models page (one JSON value: each
// run replaces the one before; its size is one small record per deployment of the catalog).
import type { DoctorRun } from '../doctor/report';
import type { Redis } from './redis';

const LAST_RUN = 'rh:doctor:last';

export async function saveDoctorRun(redis: Redis, run: DoctorRun): Promise<void> {
  await redis.set(LAST_RUN, JSON.stringify(run));
}

export async function lastDoctorRun(redis: Redis): Promise<DoctorRun | null> {
  const text = await redis.get(LAST_RUN);
  return text ? (JSON.parse(text) as DoctorRun) : null;
}
