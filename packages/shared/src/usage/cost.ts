/**
 * Owns what a call costs: from its token usage and the configured price (dollars per million
 * tokens, on the route target or the deployment), unless the vendor said what it charged
 * (OpenRouter's `usage.cost`), which wins: it knows its own discounts, caching and BYOK fees.
 * Money is counted in whole micro-dollars: Redis adds integers exactly, floats drift.
 */
import type { Price } from '../fleet-config/types.ts';

export const MICROS_PER_USD = 1_000_000;

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** What the vendor reported it charged, in dollars. */
  vendorCostUsd?: number;
}

/** Micro-dollars the call cost, or undefined when neither the vendor nor a price says. */
export function costMicros(usage: TokenUsage, price: Price | undefined): number | undefined {
  if (usage.vendorCostUsd !== undefined && Number.isFinite(usage.vendorCostUsd) && usage.vendorCostUsd >= 0) {
    return Math.round(usage.vendorCostUsd * MICROS_PER_USD);
  }
  if (!price) return undefined;
  // $ per Mtok x tokens / 1e6 = dollars, so $ per Mtok x tokens = micro-dollars.
  return Math.round(usage.promptTokens * price.inputPerMtok + usage.completionTokens * price.outputPerMtok);
}

export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

export function usdToMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}
