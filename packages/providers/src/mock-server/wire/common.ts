/**
 * Owns what all mock wire formats share: ids, timestamps, word chunking, token estimates, message
 * text extraction and masked key echoes.
 */
import { randomBytes } from 'node:crypto';
import type { Rendered } from './types.ts';

export function json(status: number, value: unknown, headers?: Record<string, string>): Rendered {
  return { status, body: JSON.stringify(value), contentType: 'application/json', ...(headers ? { headers } : {}) };
}

export function randomId(prefix: string, bytes = 12): string {
  return `${prefix}${randomBytes(bytes).toString('hex')}`;
}

export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Splits text into word chunks that keep their trailing space: "a b" -> ["a ", "b"]. */
export function wordChunks(text: string): string[] {
  if (!text) return [];
  return text.split(/(?<=\s)(?=\S)/);
}

/** A crude token estimate (words), enough for usage fields that tests can reason about. */
export function countTokens(text: string): number {
  const words = text.trim().split(/\s+/).filter(Boolean).length;
  return Math.max(1, words);
}

/** Text of an OpenAI/Anthropic/Ollama-style content field: a string or an array of text parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part) => (part && typeof part === 'object' && typeof part.text === 'string' ? part.text : '')).join('');
  }
  return '';
}

/** How vendors echo a key in a 401 message: first few and last four characters. */
export function maskKey(key: string | undefined): string {
  if (!key) return '<none>';
  if (key.length <= 12) return '****';
  return `${key.slice(0, 8)}${'*'.repeat(Math.min(40, key.length - 12))}${key.slice(-4)}`;
}

export function bearer(authorization: string | string[] | undefined): string | undefined {
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  const match = /^Bearer\s+(\S+)$/i.exec(value ?? '');
  return match?.[1];
}

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export const LOREM =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');
