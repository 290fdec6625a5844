import crypto from 'node:crypto';
import { addRule } from '../../processors/commission/rule-store';
import { commissionSourceRef, ITEM_PARTS, type ItemPart } from '../../processors/commission/commission-source-ref';
import { useTestResources } from '../fixtures/resources';
import { ORDER_BASE, commissionItems, commissionSetup, drain, produce, request } from '../fixtures/commission-setup';

/**
 * A commission item's key keeps the request id readable when it fits and hashes it when it is
 * too long: `sha256:<hex>:<part>`. A request id that itself reads `sha256:<64 hex>` used to stay
 * readable, and its key was exactly the hashed key of the long id with that digest: the second
 * order's fee was then judged against the first order's item (a conflict, or a silently skipped
 * duplicate when the fees matched). Both forms are now distinct by construction.
 */
const r = useTestResources();

test('every derived commission key fits source_ref, and a digest-shaped request id never takes a long id\'s key', () => {
  const long = `evt-${'😀'.repeat(124)}`;
  const lookalike = `sha256:${crypto.createHash('sha256').update(long, 'utf8').digest('hex')}`;
  for (const part of Object.keys(ITEM_PARTS) as ItemPart[]) {
    expect(commissionSourceRef(long, part)).not.toBe(commissionSourceRef(lookalike, part));
    expect(commissionSourceRef(long, part).length).toBeLessThanOrEqual(128);
    expect(commissionSourceRef(lookalike, part).length).toBeLessThanOrEqual(128);
  }
  // Readable ids keep their readable key, so existing items are found again after this change.
  expect(commissionSourceRef('evt-c1', 'FEE')).toBe('evt-c1:FEE');
  expect(commissionSourceRef('sha256:not-a-digest', 'FEE')).toBe('sha256:not-a-digest:FEE');
});

test('a long request id and its digest-shaped twin are charged as two orders through the real processor', async () => {
  const env = await commissionSetup(r, 1);
  await addRule(env.db, { region: 'SG', category: '*', rateBps: 250, effectiveFrom: new Date('2026-01-01T00:00:00Z') }, 'test');
  const long = `evt-${'L'.repeat(124)}`;
  const lookalike = `sha256:${crypto.createHash('sha256').update(long, 'utf8').digest('hex')}`;
  await produce(r, env, [request({ request_id: long, order_id: ORDER_BASE + 1n }), request({ request_id: lookalike, order_id: ORDER_BASE + 2n })]);
  await drain(r, env);
  const items = await commissionItems(env.db);
  expect(items.map((i) => [i.order_id, i.item_type, i.amount_minor])).toEqual([
    [(ORDER_BASE + 1n).toString(), 'COMMISSION_FEE', '-250'],
    [(ORDER_BASE + 2n).toString(), 'COMMISSION_FEE', '-250'],
  ]);
  expect(new Set(items.map((i) => i.source_ref)).size).toBe(2);
});
