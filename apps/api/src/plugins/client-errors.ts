/**
 * Owns answers to requests Node's HTTP parser rejects before Fastify sees them (a malformed
 * request line, a bad header, headers over the size limit, broken chunked framing, a request not
 * received within the server's deadlines): the same error envelope as every other error, with the
 * right status, then the connection is closed. Wired as Fastify's `clientErrorHandler`.
 *
 * Like Node's own default, it only writes when no byte of a response is on the wire yet, since an
 * answer spliced into a response would corrupt what the client reads.
 */
import { maxHeaderSize as nodeMaxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type ApiErrorType, errorBody } from './errors.ts';

/**
 * How long a closing connection keeps reading (and discarding) what the client still sends: the
 * "lingering close" of RFC 9112 section 9.6. Closing a socket with unread input sends a reset,
 * and a reset can make the client's TCP stack drop our answer before the client reads it; the
 * typical case is headers over the limit, which the client goes on sending.
 */
export const LINGER_MS = 1_000;

interface Answer {
  status: number;
  type: ApiErrorType;
  code: string;
  message: string;
}

/** Parser errors carry a fixed description from llhttp (never the client's bytes); kept if it looks like one. */
function parserReason(err: NodeJS.ErrnoException & { reason?: unknown }): string {
  const reason = typeof err.reason === 'string' ? err.reason : '';
  return /^[A-Za-z0-9 ,.'()_-]{1,100}$/.test(reason) ? `: ${reason}` : '';
}

export function answerFor(err: NodeJS.ErrnoException, maxHeaderBytes: number): Answer {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        type: 'timeout_error',
        code: 'request_timeout',
        message: 'The request was not received in full within the time limit. Fix: send the whole request without pausing.',
      };
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        type: 'request_too_large',
        code: 'headers_too_large',
        message: `Request headers are larger than ${maxHeaderBytes} bytes. Fix: send fewer or shorter headers.`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        type: 'request_too_large',
        code: 'chunk_extensions_too_large',
        message: 'Chunk extensions in the request body are too large. Fix: send the body without chunk extensions.',
      };
    default:
      return {
        status: 400,
        type: 'invalid_request_error',
        code: 'malformed_request',
        message: `Malformed HTTP request (${err.code ?? 'parse error'}${parserReason(err)}). Fix: send a well-formed HTTP/1.1 request.`,
      };
  }
}

function rawResponse(answer: Answer): string {
  const body = JSON.stringify(errorBody(answer.type, answer.message, { code: answer.code }));
  return (
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** Sockets already answered: the parser stays in error and reports again for every later chunk. */
const answered = new WeakSet<Socket>();

export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (answered.has(socket)) return;
  answered.add(socket);

  const answer = answerFor(err, (this.server as { maxHeaderSize?: number }).maxHeaderSize ?? nodeMaxHeaderSize);
  this.log.debug({ code: err.code, status: answer.status, remoteAddress: socket.remoteAddress }, 'client error');

  // Node's own test (lib/_http_server.js, socketOnError): the response in flight on this socket, if any.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  if (inFlight?.req.complete) {
    // The bad bytes follow a complete (pipelined) request whose answer is still being prepared. An
    // answer now would read as that request's: let its response go out, then close the connection.
    inFlight.shouldKeepAlive = false;
    return;
  }
  socket.end(rawResponse(answer));
  // Drain what the client still sends, then close for good (see LINGER_MS).
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}
