// Watching a background job (docs/API.md, Jobs): the start route answers 202 with the job, and
// GET /api/jobs/{id} is polled until the state is final. Shared by "Fetch now" and the import.

import { api } from './api.js';

export const FINAL_STATES = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export const isFinal = (job) => FINAL_STATES.includes(job?.state);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `job` until it ends; `onUpdate(job)` sees every answer. A few failed polls in a row (a
 * restarting server) are tolerated before giving up. Resolves with the final job.
 */
export async function watchJob(job, { onUpdate = () => {}, interval = 1000 } = {}) {
  let current = job;
  let failures = 0;
  onUpdate(current);
  // A queued job usually starts within a moment: look again sooner the first time.
  let wait = Math.min(300, interval);
  while (!isFinal(current)) {
    await sleep(wait);
    wait = interval;
    try {
      current = await api.job(current.id);
      failures = 0;
    } catch (err) {
      if (err.status === 404 || ++failures >= 5) throw err;
      continue;
    }
    onUpdate(current);
  }
  return current;
}

/** done / total between 0 and 1, or null while the total is unknown (a fetch never knows it). */
export function progressRatio(job) {
  const done = Number(job?.progress?.done);
  const total = Number(job?.progress?.total);
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0) return null;
  return Math.max(0, Math.min(1, done / total));
}
