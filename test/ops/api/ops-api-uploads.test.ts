import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { loadConfig } from '../../../runtime/config';
import { useTestResources } from '../../fixtures/resources';
import { startIngestion, uploadSetup, waitForUpload, type UploadSetup } from '../../fixtures/upload-harness';

/** POST /uploads and friends over real HTTP, with real tokens, into the real pipeline. */
const r = useTestResources();
const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';
const CSV = 'external_ref,shop_user_id,region,currency,amount,item_type\napi-1,652024209997893632,SG,SGD,4.20,SUBSIDY\napi-2,652024209997893632,XX,SGD,1.00,SUBSIDY\n';
let s: UploadSetup;
let app: FastifyInstance;
let base: string;
let logged = '';

beforeAll(async () => {
  s = await uploadSetup(r);
  await startIngestion(r, s);
  const ctx = createAppContext({ ...loadConfig(), mysqlUrl: s.url, dataDir: s.dataDir }, 'ops-api-test');
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => ((logged += chunk.toString()), done()) });
  app = await buildOpsApi({ ...ctx, logger: pino({ level: 'trace' }, sink) }, { tokens: `${VIEWER}:viewer:vera,${OPERATOR}:operator:otto`, maxUploadBytes: 64 * 1024, intake: { topic: s.topic } });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
}, 60_000);

const post = (body: string | Buffer, token?: string, query = '') =>
  fetch(`${base}/uploads${query}`, { method: 'POST', body, headers: { 'content-type': 'text/csv', ...(token ? { authorization: `Bearer ${token}` } : {}) } });

test('no token gets 401, and a viewer cannot upload (403)', async () => {
  expect((await post(CSV)).status).toBe(401);
  expect((await post(CSV, 'not-a-real-token-at-all')).status).toBe(401);
  expect((await post(CSV, VIEWER)).status).toBe(403);
  expect((await fetch(`${base}/uploads/1/cancel`, { method: 'POST', headers: { authorization: `Bearer ${VIEWER}` } })).status).toBe(403);
  const [{ n }] = (await s.db('upload').count({ n: '*' })) as [Record<string, string>];
  expect(Number(n)).toBe(0);
});

test('an operator uploads a stream; status and rejects are readable by a viewer, ids as strings', async () => {
  const res = await post(CSV, OPERATOR, '?filename=../../etc/passwd');
  expect(res.status).toBe(202);
  const body = (await res.json()) as { id: string; fileName: string; totalRows: string };
  expect(body.id).toMatch(/^\d{18}$/);
  expect(body.fileName).toBe('passwd');
  expect(body.totalRows).toBe('2');
  const done = await waitForUpload(s, BigInt(body.id));
  expect([done.acceptedRows, done.rejectedRows]).toEqual([1n, 1n]);

  const status = (await (await fetch(`${base}/uploads/${body.id}`, { headers: { authorization: `Bearer ${VIEWER}` } })).json()) as Record<string, string>;
  expect(status).toMatchObject({ id: body.id, status: 'COMPLETED', acceptedRows: '1', rejectedRows: '1' });
  const rejects = await fetch(`${base}/uploads/${body.id}/rejects`, { headers: { authorization: `Bearer ${VIEWER}` } });
  expect(rejects.headers.get('content-type')).toContain('text/csv');
  expect(await rejects.text()).toContain('2,UNKNOWN_REGION');

  // The traversal-looking name was only a label: nothing was written outside the data dir.
  expect(fs.existsSync(path.join(s.dataDir, '..', '..', 'etc', 'passwd.csv'))).toBe(false);
  const stored = fs.readdirSync(path.join(s.dataDir, 'uploads')).filter((f) => f.endsWith('.csv'));
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatch(/^[0-9a-f]{64}\.csv$/);
});

test('an oversized upload is refused with 413 and nothing is written', async () => {
  const before = await s.db('upload').count({ n: '*' });
  const big = Buffer.concat([Buffer.from(CSV), Buffer.alloc(80 * 1024, 'x')]);
  expect((await post(big, OPERATOR)).status).toBe(413);
  // Without a Content-Length the limit is enforced while streaming.
  const chunked = await fetch(`${base}/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', authorization: `Bearer ${OPERATOR}` },
    body: new ReadableStream({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(8 * 1024).fill(120));
        c.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  expect(chunked.status).toBe(413);
  expect(await s.db('upload').count({ n: '*' })).toEqual(before);
  expect(fs.readdirSync(path.join(s.dataDir, 'uploads', 'incoming'))).toEqual([]);
});

test('a bad file is refused with 422 and the reason', async () => {
  const res = await post('external_ref,amount\nx,1\n', OPERATOR);
  expect(res.status).toBe(422);
  expect(await res.json()).toMatchObject({ error: 'STS_UPLOAD_REFUSED', reason: 'MISSING_COLUMNS' });
});

test('an id that is not a number is a 400, an unknown one a 404; SQL-looking input does nothing', async () => {
  const auth = { headers: { authorization: `Bearer ${VIEWER}` } };
  expect((await fetch(`${base}/uploads/1%20OR%201=1`, auth)).status).toBe(400);
  expect((await fetch(`${base}/uploads/652024209997893632`, auth)).status).toBe(404);
  const [{ n }] = (await s.db('upload').count({ n: '*' })) as [Record<string, string>];
  expect(Number(n)).toBeGreaterThan(0);
});

test('tokens never appear in the logs', () => {
  expect(logged).toContain('ops api request');
  expect(logged).not.toContain(VIEWER);
  expect(logged).not.toContain(OPERATOR);
  expect(logged).toContain('otto');
});

test('the OpenAPI document lists the routes, with bearer auth', async () => {
  const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown> } };
  expect(spec.openapi).toMatch(/^3\./);
  for (const route of ['/uploads', '/uploads/{id}', '/cycles', '/cycles/close', '/lag', '/dlq', '/recon/findings']) expect(Object.keys(spec.paths)).toContain(route);
  expect(spec.components.securitySchemes).toHaveProperty('bearer');
});
