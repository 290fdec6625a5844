import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PROJECT_ROOT } from '../../../runtime/config';
import type { ErrorCode } from '../../../runtime/error-codes';

/**
 * The dashboard at `/`: static files from ops/dashboard plus uPlot from node_modules, so the page
 * needs nothing from the internet. The shell is public; every data call it makes needs a token.
 * A strict Content-Security-Policy keeps injected markup from running script.
 */
// A Map, not an object literal: `/assets/__proto__` or `/assets/constructor` must find nothing,
// where an object's lookup would return its prototype's members.
const ASSETS: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['app.js', { file: path.join(PROJECT_ROOT, 'ops', 'dashboard', 'app.js'), type: 'text/javascript; charset=utf-8' }],
  ['trace.js', { file: path.join(PROJECT_ROOT, 'ops', 'dashboard', 'trace.js'), type: 'text/javascript; charset=utf-8' }],
  ['money.js', { file: path.join(PROJECT_ROOT, 'ops', 'dashboard', 'money.js'), type: 'text/javascript; charset=utf-8' }],
  ['app.css', { file: path.join(PROJECT_ROOT, 'ops', 'dashboard', 'app.css'), type: 'text/css; charset=utf-8' }],
  ['uPlot.iife.min.js', { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
  ['uPlot.min.css', { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' }],
]);

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'";

export function dashboardRoutes(app: FastifyInstance): void {
  app.get('/', async (_req, reply) =>
    reply.header('content-security-policy', CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(fs.createReadStream(path.join(PROJECT_ROOT, 'ops', 'dashboard', 'index.html'))),
  );
  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    // A fixed table, not a path join: nothing outside it can be served.
    const asset = ASSETS.get(req.params.name);
    if (!asset) return reply.code(404).send({ error: 'STS_NOT_FOUND' satisfies ErrorCode, message: 'no such asset' });
    return reply.header('content-security-policy', CSP).type(asset.type).send(fs.createReadStream(asset.file));
  });
}
