/**
 * Owns reading a Server-Sent Events body: bytes to events with eventsource-parser (multi-line data,
 * CRLF, buffering). Comment lines (`: OPENROUTER PROCESSING`) are keep-alives and never reach the
 * caller. The generator ends when the body ends; a body that ends inside an event drops that partial
 * event, so the wire format's own terminator check (`[DONE]`, `message_stop`, ...) catches the cut.
 * Leaving the loop early cancels the body, which closes the upstream connection.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export type SseEvent = EventSourceMessage;

/** One event larger than this is not a chat chunk; refusing it bounds memory on a hostile stream. */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const queue: SseEvent[] = [];
  let parseError: Error | undefined;
  const parser = createParser({
    maxBufferSize: MAX_EVENT_CHARS,
    onEvent: (event) => queue.push(event),
    onError: (err) => {
      // Unknown fields are legal SSE noise; only a buffer overflow means the stream is unusable.
      if (err.type === 'max-buffer-size-exceeded') parseError = new SyntaxError(`SSE event over ${MAX_EVENT_CHARS} characters`);
    },
  });
  let finished = false;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) {
        parser.feed(decoder.decode());
        while (queue.length > 0) yield queue.shift()!;
        finished = true;
        return;
      }
      parser.feed(decoder.decode(value, { stream: true }));
      if (parseError) throw parseError;
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    if (!finished) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
