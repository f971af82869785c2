/**
 * Owns who may see a job. Every job carries its owner: a digest of the client key that submitted it
 * (never the key, and not the short client id that appears in logs), or ANONYMOUS_OWNER when the API
 * runs without API_KEYS. A request sees a job when it is the job's owner, or when it comes with an
 * operator key (ADMIN_API_KEYS), which sees every job. To anyone else a job is answered exactly
 * like an id that does not exist: the same 404, status and body (jobNotFound).
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../plugins/errors.ts';

/** The one client of an API without API_KEYS; also the owner of jobs stored before owners were. */
export const ANONYMOUS_OWNER = 'anonymous';

/** Which jobs a request may see: its own (by owner digest), or every job for an operator key. */
export interface JobViewer {
  owner: string;
  everyJob: boolean;
  /** The client its submissions' usage and spend are counted under (usage/client-directory.ts); absent: `anonymous`. */
  client?: string;
}

/** The anonymous client: every request of an API without API_KEYS, unless it carries an operator key. */
export const ANONYMOUS_VIEWER: JobViewer = { owner: ANONYMOUS_OWNER, everyJob: false };

/** The API's own reads (waits, rechecks, a facade request's own job): every job. */
export const EVERY_JOB: JobViewer = { owner: '', everyJob: true };

/** The owner digest a key's jobs are stored with; domain-separated from every other digest of the key. */
export function ownerOf(key: string): string {
  return createHash('sha256').update(`switchyard-job-owner\0${key}`).digest('hex');
}

/** Whether `viewer` may see a job stored with `owner` (undefined: a job stored before owners existed). */
export function maySee(viewer: JobViewer, owner: string | undefined): boolean {
  return viewer.everyJob || (owner ?? ANONYMOUS_OWNER) === viewer.owner;
}

/** The one 404 for a job id: unknown, expired, and someone else's all read the same. */
export function jobNotFound(id: string): ApiError {
  return new ApiError(404, 'not_found_error', `No job with id "${id}". Jobs are kept for RESULT_TTL_S after they finish.`);
}
