/**
 * Owns watching the commands a Redis server runs, for tests that count round trips (MONITOR).
 *
 * Why not ioredis's `redis.monitor()`: it marks the connection as monitoring only in a promise
 * callback after MONITOR's `+OK`, so a monitor line that arrives in the same TCP read as that `+OK`
 * (any other client busy on the server, e.g. a test file running beside this one) is taken for a
 * command reply, and ioredis throws "Command queue state error" out of its socket handler, where no
 * test can catch it. Lines still buffered after `disconnect()` hit the same path. This watcher
 * speaks MONITOR on a plain socket: every line after `+OK` is a command, whenever it arrives.
 *
 * `settle()` makes counts deterministic instead of timed: Redis feeds monitors in execution order,
 * so once a marker sent after the awaited commands comes back through the monitor, every command
 * those awaits completed has been seen too.
 */
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

export interface WatchedCommand {
  /** Lower-case command name, e.g. `evalsha`, `hgetall`. */
  name: string;
  /** The command's arguments, unescaped (without the name). */
  args: string[];
  /** `lua` for commands a script ran, else the client's address. */
  source: string;
}

export interface RedisCommandWatch {
  /** Commands seen so far that passed the filter, in the order Redis ran them. */
  readonly commands: WatchedCommand[];
  /** Resolves once every command Redis ran before this call has been seen. */
  settle(timeoutMs?: number): Promise<void>;
  /** Closes the monitor connection; nothing is recorded after it. */
  stop(): void;
}

/** Starts MONITOR on its own connection; resolves once Redis has acknowledged it. */
export async function watchRedisCommands(
  url: string,
  keep: (command: WatchedCommand) => boolean = () => true,
  connectTimeoutMs = 5_000,
): Promise<RedisCommandWatch> {
  const monitor = await openMonitor(url, connectTimeoutMs);
  const commands: WatchedCommand[] = [];
  const markers = new Map<string, () => void>();
  let stopped = false;

  monitor.onLine((line) => {
    if (stopped) return;
    const command = parseMonitorLine(line);
    if (!command) return;
    if (command.name === 'echo' && command.args[0] !== undefined && markers.has(command.args[0])) {
      markers.get(command.args[0])?.();
      markers.delete(command.args[0]);
      return;
    }
    if (keep(command)) commands.push(command);
  });

  return {
    commands,
    async settle(timeoutMs = 10_000) {
      const marker = `sy-watch-marker-${randomBytes(6).toString('hex')}`;
      const seen = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          markers.delete(marker);
          reject(new Error(`the Redis monitor did not see its marker within ${timeoutMs} ms`));
        }, timeoutMs);
        markers.set(marker, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await sendOnce(url, ['ECHO', marker], connectTimeoutMs);
      await seen;
    },
    stop() {
      stopped = true;
      monitor.close();
    },
  };
}

interface MonitorConnection {
  onLine(listener: (line: string) => void): void;
  close(): void;
}

function openSocket(url: string): Socket {
  const parsed = new URL(url);
  const port = Number(parsed.port || 6379);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return parsed.protocol === 'rediss:' ? connectTls({ host, port, servername: host }) : connectTcp({ host, port });
}

function authCommands(url: string): string[][] {
  const parsed = new URL(url);
  if (!parsed.password) return [];
  const password = decodeURIComponent(parsed.password);
  return [parsed.username ? ['AUTH', decodeURIComponent(parsed.username), password] : ['AUTH', password]];
}

function encode(command: string[]): string {
  return `*${command.length}\r\n${command.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
}

/** Splits a socket's data into RESP lines; the first `okCount` `+OK` replies resolve `ready`. */
function lineReader(socket: Socket, okCount: number, onReady: () => void, onError: (err: Error) => void) {
  let buffered = '';
  let oks = 0;
  let listener: (line: string) => void = () => {};
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end = buffered.indexOf('\r\n');
    while (end >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (oks < okCount) {
        if (line === '+OK') {
          oks++;
          if (oks === okCount) onReady();
        } else onError(new Error(`Redis refused MONITOR: ${line.slice(0, 200)}`));
      } else listener(line);
      end = buffered.indexOf('\r\n');
    }
  });
  return { setListener: (l: (line: string) => void) => (listener = l) };
}

function openMonitor(url: string, timeoutMs: number): Promise<MonitorConnection> {
  return new Promise((resolve, reject) => {
    const socket = openSocket(url);
    const auth = authCommands(url);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no MONITOR acknowledgement from Redis within ${timeoutMs} ms`)), timeoutMs);
    const reader = lineReader(
      socket,
      auth.length + 1,
      () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.on('error', () => {}); // a monitor torn down with its server is not a test failure
        resolve({ onLine: (l) => reader.setListener(l), close: () => socket.destroy() });
      },
      fail,
    );
    socket.once('error', fail);
    socket.write([...auth, ['MONITOR']].map(encode).join(''));
  });
}

/** Sends one command on a short-lived connection and waits for its reply line. */
function sendOnce(url: string, command: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = openSocket(url);
    const auth = authCommands(url);
    let replies = 0;
    const timer = setTimeout(() => done(new Error(`Redis did not answer ${command[0]} within ${timeoutMs} ms`)), timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setEncoding('utf8');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      // ECHO answers with a bulk string (two lines), AUTH with +OK: count header lines only.
      for (const line of buffered.split('\r\n').slice(0, -1)) {
        if (line.startsWith('-')) return done(new Error(`Redis refused ${command[0]}: ${line.slice(0, 200)}`));
        if (/^[+$:]/.test(line)) replies++;
      }
      buffered = buffered.slice(buffered.lastIndexOf('\r\n') + 2);
      if (replies >= auth.length + 1) done();
    });
    socket.once('error', (err) => done(err));
    socket.write([...auth, command].map(encode).join(''));
  });
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };

/**
 * `+1700000000.123456 [0 127.0.0.1:5000] "evalsha" "abc" "2" "k1"` -> name, args, source.
 * Redis quotes every argument and escapes `"`, `\`, control characters and non-printables (`\xNN`).
 */
export function parseMonitorLine(line: string): WatchedCommand | undefined {
  const open = line.indexOf('[');
  const close = line.indexOf(']', open);
  if (!line.startsWith('+') || open < 0 || close < 0) return undefined;
  const sourceField = line.slice(open + 1, close);
  const source = sourceField.slice(sourceField.indexOf(' ') + 1);
  const args: string[] = [];
  let i = close + 1;
  while (i < line.length) {
    if (line[i] !== '"') {
      i++;
      continue;
    }
    let value = '';
    i++;
    while (i < line.length && line[i] !== '"') {
      if (line[i] === '\\' && i + 1 < line.length) {
        const next = line[i + 1] as string;
        if (next === 'x') {
          value += String.fromCharCode(Number.parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
        } else {
          value += ESCAPES[next] ?? next;
          i += 2;
        }
      } else value += line[i++];
    }
    args.push(value);
    i++;
  }
  const [name, ...rest] = args;
  if (name === undefined) return undefined;
  return { name: name.toLowerCase(), args: rest, source };
}
