/**
 * Owns reading a newline-delimited JSON body (Ollama's streaming format): one JSON value per line.
 * A line that is not JSON throws a SyntaxError (classified invalid_response); a final line without
 * its newline is still parsed when complete JSON, since servers may omit the last newline. Leaving
 * the loop early cancels the body, which closes the upstream connection.
 */

const MAX_LINE_CHARS = 8 * 1024 * 1024;

export async function* readNdjson(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let finished = false;
  try {
    while (true) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) yield JSON.parse(line) as unknown;
        newline = buffer.indexOf('\n');
      }
      if (buffer.length > MAX_LINE_CHARS) throw new SyntaxError(`NDJSON line over ${MAX_LINE_CHARS} characters`);
      if (done) {
        if (buffer.trim()) yield JSON.parse(buffer) as unknown;
        finished = true;
        return;
      }
    }
  } finally {
    if (!finished) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
