/**
 * Owns Azure OpenAI's error vocabulary: OpenAI's codes where Azure relays them (context_length_exceeded,
 * content_filter, ...), Azure's own (`DeploymentNotFound`, `OperationNotSupported`, `PermissionDenied`,
 * ...), the inner error `ResponsibleAIPolicyViolation` of a content-filter refusal (spelt `inner_error`
 * in the published reference, `innererror` in answers), and codes that are the status as a string
 * ("401", "429"). Pure.
 */
import type { ErrorClass } from '@switchyard/shared';
import { classForStatus } from '../classify/status.ts';
import { fallbackMessage, pick, pickString, type VendorFailure, type VendorVerdict } from '../classify/vendor.ts';
import { classifyOpenAIError } from '../openai/errors.ts';

export const AZURE_CODE_TABLE: Readonly<Record<string, ErrorClass>> = {
  DeploymentNotFound: 'model_not_found',
  // The deployment's model cannot do chat (an embeddings deployment): another target may.
  OperationNotSupported: 'model_not_found',
  ResponsibleAIPolicyViolation: 'content_policy',
  content_filter: 'content_policy',
  PermissionDenied: 'forbidden',
  AuthenticationTypeDisabled: 'forbidden',
  SubscriptionDisabled: 'forbidden',
};

export function classifyAzureOpenAIError(failure: VendorFailure): VendorVerdict {
  const error = pick(failure.body, 'error') ?? failure.body;
  const message = pickString(error, 'message') ?? fallbackMessage(failure.body, failure.status);
  const inner = pick(error, 'inner_error') ?? pick(error, 'innererror');
  for (const code of [pickString(error, 'code'), pickString(inner, 'code')]) {
    const errorClass = code === undefined ? undefined : AZURE_CODE_TABLE[code];
    if (errorClass) return { errorClass, message };
  }
  const code = pickString(error, 'code');
  if (failure.status === undefined && code !== undefined && /^[45]\d\d$/.test(code)) {
    return { errorClass: classForStatus(Number(code)), message };
  }
  return classifyOpenAIError(failure);
}
