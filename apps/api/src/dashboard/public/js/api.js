// Owns talking to the API from the page: the API key (this tab's sessionStorage only, sent as a
// Bearer header), authorized fetches, and the live stream: Server-Sent Events read over fetch
// (EventSource cannot send headers), reconnecting with backoff.

const KEY_NAME = 'switchyard.apiKey';

/** The key was refused (401), or is a client key where an operator key is needed (403); the message says which. */
export class Unauthorized extends Error {
  constructor(message) {
    super(message);
    this.name = 'Unauthorized';
  }
}

export function authRequired() {
  return document.querySelector('meta[name="switchyard-auth"]')?.getAttribute('content') === 'required';
}

export function getKey() {
  return sessionStorage.getItem(KEY_NAME) ?? '';
}

export function setKey(key) {
  sessionStorage.setItem(KEY_NAME, key.trim());
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
}

/** fetch() with the Bearer header when a key is stored; a 401 or 403 throws Unauthorized. */
export async function apiFetch(path, init = {}) {
  const headers = new Headers(init.headers);
  const key = getKey();
  if (key) headers.set('authorization', `Bearer ${key}`);
  const res = await fetch(path, { ...init, headers, cache: 'no-store' });
  if (res.status === 401) throw new Unauthorized('That key was not accepted.');
  if (res.status === 403) throw new Unauthorized('That is a client key: the dashboard needs an operator key (ADMIN_API_KEYS).');
  return res;
}

export async function apiJson(path, init = {}) {
  const res = await apiFetch(path, init);
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `${path} answered ${res.status}`);
  return body;
}

/** Parses an SSE byte stream into {event, data} and hands each to onEvent. */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let boundary = buffer.indexOf('\n\n');
    while (boundary !== -1) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      boundary = buffer.indexOf('\n\n');
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
      if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')));
    }
  }
}

/**
 * Opens the stream and keeps it open: on a drop, reconnects after 1 s, 2 s, 4 s... (at most 10 s).
 * onStatus gets 'connecting' | 'live' | 'reconnecting' | 'unauthorized' (then it stops, with the reason).
 */
export function openStream(path, onEvent, onStatus) {
  const controller = new AbortController();
  let delay = 1000;
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const res = await apiFetch(path, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        onStatus('live');
        delay = 1000;
        await readEvents(res.body, onEvent);
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof Unauthorized) {
          onStatus('unauthorized', err.message);
          return;
        }
      }
      if (controller.signal.aborted) return;
      onStatus('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  onStatus('connecting');
  run();
  return { close: () => controller.abort() };
}
