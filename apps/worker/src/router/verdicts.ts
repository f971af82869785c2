/**
 * Owns what a decided job says: the JobResult of a win, and the RouterError of each way a job can
 * fail (a class that forbids fallback, a broken committed stream, the budget or a cancel, every
 * candidate failed or skipped), with the queue-retry verdict (`permanent`) for each.
 * Pure functions; the Hedger decides when, this module decides what.
 */
import type { ChatResult } from '@switchyard/providers';
import { type Attempt, CLASS_POLICY, costMicros, type ErrorClass, type JobResult, microsToUsd } from '@switchyard/shared';
import type { BudgetAbort } from './budget.ts';
import { permanentFor, type RouterErrorInit } from './router-error.ts';
import type { Candidate, SkipReason } from './types.ts';

export interface Failure {
  candidate: Candidate;
  errorClass: ErrorClass;
  message: string;
}

export interface Skip {
  candidate: Candidate;
  reason: SkipReason;
}

/** The verdict without the attempts, which the Hedger adds when it settles. */
export type Verdict = Omit<RouterErrorInit, 'attempts'>;

export function successResult(candidate: Candidate, result: ChatResult, latencyMs: number, attempts: Attempt[]): JobResult {
  const cost = costMicros(
    {
      promptTokens: result.usage.promptTokens,
      completionTokens: result.usage.completionTokens,
      ...(result.usage.costUsd !== undefined ? { vendorCostUsd: result.usage.costUsd } : {}),
    },
    candidate.price,
  );
  return {
    provider: candidate.provider,
    deployment: candidate.deployment,
    ...(candidate.route !== undefined ? { route: candidate.route } : {}),
    model: result.model || candidate.model,
    content: result.content,
    finish_reason: result.finishReason,
    usage: {
      prompt_tokens: result.usage.promptTokens,
      completion_tokens: result.usage.completionTokens,
      total_tokens: result.usage.totalTokens,
      ...(cost !== undefined ? { cost_usd: microsToUsd(cost) } : {}),
    },
    latency_ms: Math.round(latencyMs),
    attempts,
  };
}

/** bad_request, content_policy: the request itself is at fault, no other candidate would do better. */
export function refused(failure: Failure): Verdict {
  const { candidate, errorClass, message } = failure;
  return {
    errorClass,
    reason: 'failed',
    message: `${candidate.ref}: ${errorClass}: ${message}`,
    provider: candidate.provider,
    permanent: CLASS_POLICY[errorClass].permanent,
  };
}

export function streamBroken(failure: Failure): Verdict {
  const { candidate, errorClass, message } = failure;
  return {
    errorClass,
    reason: 'failed',
    message: `${candidate.ref}: stream failed after the first token: ${errorClass}: ${message}`,
    provider: candidate.provider,
    // Tokens already reached the client: a queue-level retry would stream a second answer.
    permanent: true,
  };
}

/**
 * The budget ran out (`budget_exhausted`: a user reading `aborted` thinks they cancelled it) or the
 * job was cancelled (`aborted`); never retried by the queue.
 */
export function budgetEnded(reason: BudgetAbort, abortedCalls: number, lastFailure: Failure | undefined, committed?: Candidate): Verdict {
  const last = reason.kind === 'budget' && lastFailure ? `; last failure ${lastFailure.candidate.ref}: ${lastFailure.errorClass}` : '';
  return {
    errorClass: reason.kind === 'budget' ? 'budget_exhausted' : 'aborted',
    reason: reason.kind,
    message: `${reason.message}; ${abortedCalls} call(s) aborted${last}`,
    ...(committed ? { provider: committed.provider } : {}),
    permanent: true,
    cause: reason.externalReason,
  };
}

/**
 * No lane left. Nothing was called: `no_provider_available` (retryable: circuits close, cooldowns
 * end), or a permanent `model_not_found` when no candidate's provider is enabled here. Otherwise
 * the last failure's class, permanent only when every failure was and no candidate was merely
 * waiting out a circuit or cooldown.
 */
export function exhausted(failures: readonly Failure[], skips: readonly Skip[]): Verdict {
  const skipped = skips.map((s) => `${s.candidate.ref}: ${describeSkip(s.reason)}`);
  const last = failures.at(-1);
  if (!last) {
    const allUnconfigured = skips.length > 0 && skips.every((s) => s.reason === 'not_configured');
    return {
      errorClass: allUnconfigured ? 'model_not_found' : 'no_provider_available',
      reason: allUnconfigured ? 'invalid_job' : 'no_provider',
      message: `no provider available: ${skipped.join('; ')}`,
      permanent: allUnconfigured,
    };
  }
  const failed = failures.map((f) => `${f.candidate.ref}: ${f.errorClass}`);
  // `aborted` here is an adapter's spontaneous abort, not a verdict on the request.
  const classes = failures.map((f) => f.errorClass).filter((c) => c !== 'aborted');
  const anyWaiting = skips.some((s) => s.reason !== 'not_configured');
  return {
    errorClass: last.errorClass,
    reason: 'failed',
    message: `every candidate failed: ${[...failed, ...skipped].join('; ')}; last: ${last.message}`,
    provider: last.candidate.provider,
    permanent: !anyWaiting && permanentFor(classes),
  };
}

function describeSkip(reason: SkipReason): string {
  switch (reason) {
    case 'circuit_open':
      return 'circuit open';
    case 'cooldown':
      return 'cooling down after 429';
    case 'not_configured':
      return 'provider not enabled on this worker';
  }
}
