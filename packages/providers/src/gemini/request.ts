/**
 * Owns the request side of Gemini's generateContent: `contents` with roles user/model and text
 * parts, system text as `systemInstruction`, limits and sampling in `generationConfig`; and the endpoint URLs.
 */
import type { ChatRequest } from '../types.ts';

export interface GeminiRequestBody {
  contents: Array<{ role: 'user' | 'model'; parts: Array<{ text: string }> }>;
  systemInstruction?: { parts: Array<{ text: string }> };
  generationConfig?: { maxOutputTokens?: number; temperature?: number; topP?: number };
}

export function toGenerateContentBody(request: ChatRequest): GeminiRequestBody {
  const system = request.messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => ({ text: m.content }));
  const body: GeminiRequestBody = {
    contents: request.messages
      .filter((m) => m.role !== 'system' && m.role !== 'developer')
      .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })),
  };
  if (system.length > 0) body.systemInstruction = { parts: system };
  const config: NonNullable<GeminiRequestBody['generationConfig']> = {};
  if (request.maxTokens !== undefined) config.maxOutputTokens = request.maxTokens;
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.topP !== undefined) config.topP = request.topP;
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

/** `{base}/v1beta`, accepting a base that already names the API version. */
export function geminiApiRoot(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return /\/v1(beta\d*|alpha)?$/.test(base) ? base : `${base}/v1beta`;
}

/** The model resource: `models/{id}` unless the id already names a resource (tunedModels/...). */
export function modelResource(model: string): string {
  return /^(models|tunedModels)\//.test(model) ? model : `models/${model}`;
}

export function generateContentUrl(baseUrl: string, model: string, stream: boolean): string {
  const action = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  return `${geminiApiRoot(baseUrl)}/${modelResource(model)}:${action}`;
}
