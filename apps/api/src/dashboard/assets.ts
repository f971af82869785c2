/**
 * Owns the dashboard's static files: the page shell at /dashboard, the hand-written modules and
 * stylesheet from ./public at /dashboard/assets/*, and uPlot's dist files from node_modules at
 * /dashboard/vendor/* (no CDN: the dashboard works offline). Files are read once at start-up and
 * served from memory with an ETag; the shell is public, its data comes from /dashboard/api.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../plugins/errors.ts';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** Everything the page loads comes from this origin; uPlot styles its canvas through the CSSOM only. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const PUBLIC_DIR = join(import.meta.dirname, 'public');
const VENDOR_FILES = ['uPlot.esm.js', 'uPlot.min.css'];

function asset(body: Buffer, name: string): Asset {
  return {
    body,
    type: TYPES[extname(name)] ?? 'application/octet-stream',
    etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`,
  };
}

async function readTree(root: string, dir = root, assets = new Map<string, Asset>()): Promise<Map<string, Asset>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await readTree(root, full, assets);
    else if (entry.isFile()) assets.set(relative(root, full).split(sep).join('/'), asset(await readFile(full), entry.name));
  }
  return assets;
}

async function readVendor(): Promise<Map<string, Asset>> {
  const require = createRequire(import.meta.url);
  const dist = join(dirname(require.resolve('uplot/package.json')), 'dist');
  const vendor = new Map<string, Asset>();
  for (const name of VENDOR_FILES) vendor.set(name, asset(await readFile(join(dist, name)), name));
  return vendor;
}

function send(request: FastifyRequest, reply: FastifyReply, file: Asset | undefined, extraHeaders: Record<string, string> = {}) {
  if (!file) return reply.code(404).send(errorBody('not_found_error', 'No such dashboard file.'));
  reply.headers({ etag: file.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...extraHeaders });
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.type(file.type).send(file.body);
}

/** `authRequired` tells the page (a meta tag) to ask for a key before its first data request. */
export async function registerAssets(app: FastifyInstance, options: { authRequired: boolean }): Promise<void> {
  const [files, vendor] = await Promise.all([readTree(PUBLIC_DIR), readVendor()]);
  const shell = files.get('index.html');
  if (!shell) throw new Error(`dashboard page missing: ${join(PUBLIC_DIR, 'index.html')}`);
  files.delete('index.html');
  const page = asset(
    Buffer.from(shell.body.toString('utf8').replace('__SWITCHYARD_AUTH__', options.authRequired ? 'required' : 'open')),
    'index.html',
  );

  app.get('/dashboard', { schema: { hide: true } }, (request, reply) => send(request, reply, page, PAGE_HEADERS));
  app.get<{ Params: { '*': string } }>('/dashboard/assets/*', { schema: { hide: true } }, (request, reply) =>
    send(request, reply, files.get(request.params['*'])),
  );
  app.get<{ Params: { name: string } }>('/dashboard/vendor/:name', { schema: { hide: true } }, (request, reply) =>
    send(request, reply, vendor.get(request.params.name)),
  );
}
