import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildOpsApi } from '../../ops/api/ops-api';
import { createAppContext, type AppContext } from '../../services/run/app-context';
import { loadConfig } from '../../runtime/config';
import { useTestResources } from '../fixtures/resources';
import { fuzzParams } from './fuzz-runs';

/**
 * The ops API against whatever a client can send: any method, path, query, body, content type and
 * token, on a real database and broker. The invariant is the API's promise at its edge: every
 * request gets an answer below 500 (a client's mistake is a 4xx with a stable error body), in
 * bounded time, and the process stays up for the next one.
 */
const r = useTestResources();
const TOKENS = { viewer: 'fuzz-viewer-0123456789abcdef', operator: 'fuzz-operator-0123456789abcdef', admin: 'fuzz-admin-0123456789abcdef' };
let app: FastifyInstance;
let ctx: AppContext;
let base: string;

beforeAll(async () => {
  const { url } = await r.database();
  const topic = await r.topic('fuzz-intake', 1);
  ctx = createAppContext({ ...loadConfig(), mysqlUrl: url, dataDir: `${r.config.dataDir}/fuzz-${r.unique('api')}` }, 'ops-api-fuzz');
  app = await buildOpsApi(
    { ...ctx, logger: pino({ level: 'silent' }) },
    { tokens: `${TOKENS.viewer}:viewer:vic,${TOKENS.operator}:operator:oda,${TOKENS.admin}:admin:ada`, maxUploadBytes: 64 * 1024, intake: { topic } },
  );
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
}, 60_000);

/** Every route with the method it serves; the generator mostly sends that method, sometimes another. */
const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ['GET', '/'], ['GET', '/health'], ['GET', '/metrics'], ['GET', '/lag'], ['GET', '/openapi.json'], ['POST', '/uploads'], ['GET', '/uploads'],
  ['GET', '/uploads/{id}'], ['GET', '/uploads/{id}/rejects'], ['POST', '/uploads/{id}/cancel'], ['GET', '/cycles'], ['POST', '/cycles/close'],
  ['GET', '/payouts'], ['GET', '/payout-files/verify'], ['GET', '/dlq'], ['POST', '/dlq/replay'], ['GET', '/recon/findings'], ['POST', '/recon/run'],
  ['POST', '/recon/fix'], ['GET', '/assets/{name}'], ['GET', '/{name}'], ['GET', '/{name}/{id}'],
  ['POST', '/uploads/{id}/confirm'], ['GET', '/rules'], ['POST', '/rules'], ['GET', '/cycles/{name}/{id}/preview'],
  ['GET', '/trace/payout/{id}'], ['GET', '/trace/seller/{id}'], ['GET', '/trace/order/{id}'], ['GET', '/trace/ref/{name}'],
];

/** Values that have broken HTTP edges before: prototype keys, huge and negative numbers, encodings. */
const NASTY = [
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', '..', '%2e%2e', '%00', '%ff', '%', '0', '-1', '00000000000000000001',
  '9223372036854775807', '9223372036854775808', '99999999999999999999999', '1e3', '0x10', ' ', '', 'null', 'true', 'SG', 'sg', 'ZZ',
  '20261130', 'app.js', 'uPlot.min.css', "'; DROP TABLE payout; --", '\u0130', '😀', 'a'.repeat(300),
];
const nasty = fc.constantFrom(...NASTY);
const text = fc.oneof(nasty, fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String));
const segment = fc.oneof(nasty, text).map((s) => (s.startsWith('%') ? s : encodeURIComponent(s)));
const KEYS = ['region', 'cycle', 'status', 'limit', 'topic', 'all', 'rule', 'severity', 'currency', 'filename', 'force', 'partition', 'offset', 'entity', 'cutoff', 'drain', 'confirm', 'confirmWarnings', 'rateBps', 'effectiveFrom', 'category'];
const key = fc.oneof(fc.constantFrom(...KEYS), nasty, fc.string({ maxLength: 10 }));
const jsonValue = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 }), fc.dictionary(key, text, { maxKeys: 3 }));

const request = fc.record({
  route: fc.constantFrom(...ROUTES),
  otherMethod: fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), { freq: 4 }),
  id: segment,
  name: segment,
  query: fc.dictionary(key, text, { maxKeys: 4 }),
  body: fc.oneof(
    fc.constant(undefined),
    fc.dictionary(key, jsonValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
    jsonValue.map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  ),
  contentType: fc.constantFrom(undefined, 'application/json', 'text/csv', 'text/plain', 'application/octet-stream', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', '\u00e9/\u00e9'),
  auth: fc.constantFrom(undefined, 'garbage', 'Bearer ', 'Bearer nope', `Bearer ${TOKENS.viewer}`, `Bearer ${TOKENS.operator}`, `Bearer ${TOKENS.admin}`),
});

interface Sent {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

/** Sends one request; fails on a 5xx, and on a 4xx without a stable `error` code in its body. */
async function send(req: Sent): Promise<void> {
  const qs = new URLSearchParams(Object.entries(req.query ?? {})).toString();
  const hasBody = req.body !== undefined && !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
  const res = await fetch(`${base}${req.path}${qs ? `?${qs}` : ''}`, {
    method: req.method,
    headers: req.headers,
    body: hasBody ? req.body : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const body = await res.text();
  if (res.status >= 500) throw new Error(`${req.method} ${req.path}?${qs} answered ${res.status}: ${body.slice(0, 500)}`);
  if (res.status >= 400 && req.method !== 'HEAD') {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error !== 'string') throw new Error(`${req.method} ${req.path} answered ${res.status} without an error code: ${body.slice(0, 300)}`);
  }
}

test('every route answers every hostile path segment below 500, with each role', async () => {
  for (const [method, route] of ROUTES) {
    if (!route.includes('{')) continue;
    for (const value of NASTY) {
      const seg = value.startsWith('%') ? value : encodeURIComponent(value);
      for (const auth of [undefined, `Bearer ${TOKENS.viewer}`, `Bearer ${TOKENS.admin}`]) {
        await send({ method, path: route.replace('{id}', seg).replace('{name}', seg), headers: auth ? { authorization: auth } : {} });
      }
    }
  }
}, 600_000);

test('no request a client can send gets a 5xx, and every refusal has a stable error body', async () => {
  await fc.assert(
    fc.asyncProperty(request, async (req) => {
      const headers: Record<string, string> = {};
      if (req.contentType && /^[\x20-\x7e]*$/.test(req.contentType)) headers['content-type'] = req.contentType;
      if (req.auth) headers.authorization = req.auth;
      await send({ method: req.otherMethod ?? req.route[0], path: req.route[1].replace('{id}', req.id).replace('{name}', req.name), query: req.query, headers, body: req.body });
    }),
    fuzzParams('ops-api', 4),
  );
  // Still serving after everything above.
  expect((await fetch(`${base}/health`)).status).toBe(200);
}, 600_000);
