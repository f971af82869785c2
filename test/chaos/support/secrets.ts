/**
 * Owns the chaos suite's secrets: distinctive fake provider keys and client keys that every chaos
 * fleet runs with, and the scanner that looks for them in every log line and every response the
 * suite sees. The keys deliberately do not look like any vendor's key (no `sk-`, no `AIza`), so the
 * generic key-shaped patterns cannot hide them: only the system's real secret handling can.
 */

/** Provider keys, one per vendor the suite enables. Each ends in a unique hex tail that is also searched for alone. */
export const PROVIDER_KEYS = {
  OPENAI_API_KEY: 'chaosOpenAIProviderKey.6f1d8a2c4b9e7305a1c2d4e6',
  ANTHROPIC_API_KEY: 'chaosAnthropicProviderKey.93be04c7d1f25a8e6b40c1d7',
  GEMINI_API_KEY: 'chaosGeminiProviderKey.2c7e5f9a0b3d8164e7a9f0b2',
  OPENROUTER_API_KEY: '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',
} as const;

/** Client keys (API_KEYS): the first is what the suite's clients send. */
export const CLIENT_KEYS = ['chaosClientKeyAlpha.5e8c1b7d9f2a40361b9d', 'chaosClientKeyBravo.0a9d3e6f1c7b82547e3a'] as const;
export const CLIENT_KEY: string = CLIENT_KEYS[0];

/** Operator keys (ADMIN_API_KEYS), for the files that configure them (the secrets file does). */
export const OPERATOR_KEYS = ['chaosOperatorKeyCharlie.7b2e9c4a1d6f03852c8e'] as const;
export const OPERATOR_KEY: string = OPERATOR_KEYS[0];

/** Authorization header of the suite's clients. */
export const AUTH = { authorization: `Bearer ${CLIENT_KEY}` } as const;

interface Needle {
  name: string;
  value: string;
}

function needlesOf(name: string, key: string): Needle[] {
  const tail = /[0-9a-f]{16,}$/.exec(key)?.[0];
  return [{ name, value: key }, ...(tail && tail !== key ? [{ name: `${name} (tail)`, value: tail }] : [])];
}

const NEEDLES: Needle[] = [
  ...Object.entries(PROVIDER_KEYS).flatMap(([name, key]) => needlesOf(name, key)),
  ...CLIENT_KEYS.flatMap((key, i) => needlesOf(`client key ${i + 1}`, key)),
  ...OPERATOR_KEYS.flatMap((key, i) => needlesOf(`operator key ${i + 1}`, key)),
];

export interface Leak {
  secret: string;
  where: string;
  /** The text around the hit, with every secret replaced by its name. */
  excerpt: string;
}

export interface ScanTotals {
  logLines: number;
  responses: number;
  redisValues: number;
  bytes: number;
  leaks: number;
}

/** Counts what it scanned and keeps the first leaks (never the secret itself). */
export class SecretScanner {
  readonly totals: ScanTotals = { logLines: 0, responses: 0, redisValues: 0, bytes: 0, leaks: 0 };
  readonly leaks: Leak[] = [];

  logLine(line: string, where: string): void {
    this.totals.logLines += 1;
    this.scan(line, where);
  }

  response(text: string, where: string): void {
    this.totals.responses += 1;
    this.scan(text, where);
  }

  redisValue(text: string, where: string): void {
    this.totals.redisValues += 1;
    this.scan(text, where);
  }

  private scan(text: string, where: string): void {
    this.totals.bytes += text.length;
    for (const needle of NEEDLES) {
      const at = text.indexOf(needle.value);
      if (at === -1) continue;
      this.totals.leaks += 1;
      if (this.leaks.length < 20) {
        this.leaks.push({
          secret: needle.name,
          where: hide(where),
          excerpt: hide(text.slice(Math.max(0, at - 120), at + needle.value.length + 120)),
        });
      }
    }
  }
}

/** Replaces every secret in `text` by its name: safe to print. */
export function hide(text: string): string {
  let out = text;
  for (const needle of NEEDLES) out = out.split(needle.value).join(`<${needle.name}>`);
  return out;
}

/** The scanner of this test file (each chaos file runs in a process of its own). */
export const scanner = new SecretScanner();
