import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import pino from 'pino';
import { buildOpsApi } from '../../../ops/api/ops-api';
import { createAppContext } from '../../../services/run/app-context';
import { loadConfig } from '../../../runtime/config';
import { useTestResources } from '../../fixtures/resources';

/**
 * The audit row of an action is in ops_audit before its answer reaches the caller: a script that
 * acts and then reads the audit trail (as ops tooling does) finds every row, every time. Each call
 * below is read back the moment it is answered, with no wait and no retry.
 */
const r = useTestResources();
const VIEWER = 'viewer-token-audit-0123456789ab';
const OPERATOR = 'operator-token-audit-0123456789';
const SELLER = 652024209997893632n;
let db: Knex;
let base: string;

beforeAll(async () => {
  const scratch = await r.database();
  db = scratch.db;
  const ctx = createAppContext({ ...loadConfig(), mysqlUrl: scratch.url }, 'ops-api-audit-order-test', { logLevel: 'warn', pool: 4 });
  const app: FastifyInstance = await buildOpsApi({ ...ctx, logger: pino({ level: 'silent' }) }, { tokens: `${VIEWER}:viewer:vera,${OPERATOR}:operator:otto` });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  r.defer(async () => (await app.close(), await ctx.close()));
}, 60_000);

test('every answered action, refused or done, has its audit row by the time the caller reads', async () => {
  const calls = [
    ...Array.from({ length: 20 }, (_, i) => ({ token: VIEWER, expected: 403, currency: `X${String.fromCharCode(65 + i)}` })),
    ...Array.from({ length: 20 }, (_, i) => ({ token: OPERATOR, expected: 400, currency: `Y${String.fromCharCode(65 + i)}` })),
  ];
  for (const c of calls) {
    // An empty body is refused by the route's validation (400) or by the role check first (403).
    const res = await fetch(`${base}/payees/${SELLER}/${c.currency}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(c.expected);
    const rows = (await db('ops_audit').where({ action: 'PUT /payees/:seller/:currency' }).whereRaw('detail LIKE ?', [`%"currency":"${c.currency}"%`])) as Array<{ status: number }>;
    expect(rows.map((row) => row.status)).toEqual([c.expected]);
  }
}, 60_000);
