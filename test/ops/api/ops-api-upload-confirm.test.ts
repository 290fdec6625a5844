import type { FastifyInstance } from 'fastify';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { loadConfig } from '../../../runtime/config';
import { createAppContext } from '../../../services/run/app-context';
import { useTestResources } from '../../fixtures/resources';
import { startIngestion, uploadSetup, waitForUpload, type UploadSetup } from '../../fixtures/upload-harness';

/**
 * An upload held by its checks over HTTP: POST /uploads answers AWAITING_CONFIRMATION with the
 * warnings, only an operator confirms it (POST /uploads/:id/confirm), the confirmation is in
 * ops_audit with the caller and the warnings, and a second confirm is a 409.
 */
const r = useTestResources();
const VIEWER = 'viewer-token-confirm-0123456789';
const OPERATOR = 'operator-token-confirm-0123456789';
let s: UploadSetup;
let base: string;

beforeAll(async () => {
  s = await uploadSetup(r);
  await startIngestion(r, s);
  const config = loadConfig();
  const ctx = createAppContext({ ...config, mysqlUrl: s.url, dataDir: s.dataDir, uploadChecks: { ...config.uploadChecks, maxSellers: 1 } }, 'ops-api-confirm-test', { logLevel: 'warn' });
  const app: FastifyInstance = await buildOpsApi(ctx, { tokens: `${VIEWER}:viewer:vera,${OPERATOR}:operator:otto`, intake: { topic: s.topic } });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
}, 60_000);

const twoSellers = (ref: string) =>
  `external_ref,shop_user_id,region,currency,amount,item_type\n${ref}-1,652024209997893632,SG,SGD,4.20,SUBSIDY\n${ref}-2,652024209997893639,SG,SGD,2.00,SUBSIDY\n`;
const call = (method: string, url: string, token: string, body?: string) =>
  fetch(`${base}${url}`, { method, body, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'text/csv' } : {}) } });

test('a held upload waits with its warnings; an operator confirms it and the audit names them', async () => {
  const res = await call('POST', '/uploads?filename=two.csv', OPERATOR, twoSellers(r.unique('api')));
  expect(res.status).toBe(202);
  const held = (await res.json()) as { id: string; status: string; chunkCount: number; warnings: Array<{ code: string; message: string; count: string; boundMinor: string }> };
  expect(held).toMatchObject({ status: 'AWAITING_CONFIRMATION', chunkCount: 0 });
  expect(held.warnings).toEqual([expect.objectContaining({ code: 'TOO_MANY_SELLERS', count: '2', boundMinor: '1', message: 'the file touches 2 sellers, above the bound of 1 (STS_UPLOAD_MAX_SELLERS)' })]);

  expect((await call('POST', `/uploads/${held.id}/confirm`, VIEWER)).status).toBe(403);
  const [{ n }] = (await s.db('billing_item').count({ n: '*' })) as [Record<string, string>];
  expect(Number(n)).toBe(0);

  const confirmed = await call('POST', `/uploads/${held.id}/confirm`, OPERATOR);
  expect(confirmed.status).toBe(200);
  expect(await confirmed.json()).toMatchObject({ id: held.id, confirmedBy: 'api:otto' });
  expect(await waitForUpload(s, BigInt(held.id))).toMatchObject({ status: 'COMPLETED', acceptedRows: 2n });

  const again = await call('POST', `/uploads/${held.id}/confirm`, OPERATOR);
  expect(again.status).toBe(409);
  expect(await again.json()).toMatchObject({ error: 'STS_UPLOAD_ACTION_REFUSED' });

  const audit = (await s.db('ops_audit').where({ target: held.id }).orderBy('id')) as Array<{ actor: string; action: string; detail: string; status: number | null }>;
  const confirmation = audit.filter((a) => a.action === 'upload.confirm');
  expect(confirmation).toHaveLength(1);
  expect(confirmation[0]!.actor).toBe('api:otto');
  expect(JSON.parse(confirmation[0]!.detail)).toEqual({ how: 'confirm', warningCount: 1, warnings: [`TOO_MANY_SELLERS: ${held.warnings[0]!.message}`] });
  expect(audit.filter((a) => a.action === 'POST /uploads/:id/confirm').map((a) => a.status)).toEqual([403, 200, 409]);
}, 60_000);

test('?confirmWarnings=true confirms up front: the upload is not held, and the confirmation is audited', async () => {
  const res = await call('POST', '/uploads?filename=two.csv&confirmWarnings=true', OPERATOR, twoSellers(r.unique('api')));
  expect(res.status).toBe(202);
  const body = (await res.json()) as { id: string; status: string; confirmedBy: string; warnings: unknown[] };
  expect(body.status).not.toBe('AWAITING_CONFIRMATION');
  expect(body).toMatchObject({ confirmedBy: 'api:otto', warnings: [expect.objectContaining({ code: 'TOO_MANY_SELLERS' })] });
  expect(await waitForUpload(s, BigInt(body.id))).toMatchObject({ status: 'COMPLETED', acceptedRows: 2n });
  const [audit] = (await s.db('ops_audit').where({ action: 'upload.confirm', target: body.id })) as Array<{ actor: string; detail: string }>;
  expect(audit!.actor).toBe('api:otto');
  expect(JSON.parse(audit!.detail)).toMatchObject({ how: 'confirm-warnings', warningCount: 1 });
}, 60_000);

test('confirming an unknown upload is a 404', async () => {
  expect((await call('POST', '/uploads/652024209997893632/confirm', OPERATOR)).status).toBe(404);
});
