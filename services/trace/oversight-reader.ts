import type { Knex } from '../../runtime/db/knex';
import type { AuditEntry, FindingEntry, TraceAccountKey, TraceEntry } from './trace-types';
import { big, dateOrNull, IN_LIST_MAX, marks, slices } from './trace-sql';

/**
 * Step 5: reconciliation findings and operator actions that touch what was traced. A finding is
 * found by its entity (ix_recon_finding_entity), so the entities are built here the way the rules
 * name them (docs/RECON.md, "Rules"); an action by its target (ix_ops_audit_target), which is the
 * payout, seller or upload id the route or command acted on.
 */

export interface OversightKeys {
  accounts: readonly TraceAccountKey[];
  payouts: ReadonlyArray<{ id: bigint; region: string; cycleId: bigint }>;
  orders: ReadonlyArray<{ region: string; orderId: bigint }>;
  uploadIds: readonly bigint[];
  /** Entities a payment step already knows (a bank report issue's, for instance). */
  extraEntities?: readonly string[];
}

/** The entities reconciliation rules give to findings about these things. */
export function findingEntities(k: OversightKeys): string[] {
  const out = new Set<string>(k.extraEntities ?? []);
  for (const a of k.accounts) {
    // open-cycle-account and closed-cycle-balance; the latter's carry-forward check too.
    out.add(`${a.region}/${a.cycleId}/${a.shopUserId}/${a.currency}`);
    out.add(`${a.region}/${a.cycleId}/${a.shopUserId}/${a.currency}/carry-forward`);
  }
  for (const p of k.payouts) {
    out.add(`${p.region}/${p.cycleId}/payout/${p.id}`); // payout-sla, gateway-report
    out.add(`ledger/tx/${p.id}`); // payment-ledger
    out.add(`gateway/${p.id}`); // gateway-report: an execution keyed by the payout id
    out.add(`bank/both-rails/${p.id}`); // bank-rail
    out.add(`bank/debit/${p.id}`);
    out.add(`id/${p.id}`); // duplicates: an id in two tables
  }
  for (const o of k.orders) out.add(`${o.region}/order/${o.orderId}`); // duplicates
  for (const u of k.uploadIds) out.add(`upload/${u}`); // upload-counts
  return [...out];
}

interface FindingRow {
  id: string;
  rule: string;
  severity: string;
  entity: string;
  detail: string;
  first_seen: Date;
  last_seen: Date;
  resolved_at: Date | null;
}

interface AuditRow {
  id: string;
  at: Date;
  actor: string;
  role: string | null;
  action: string;
  target: string | null;
  detail: string | null;
  status: number | null;
}

export async function oversightOf(db: Knex, k: OversightKeys): Promise<TraceEntry[]> {
  const out: TraceEntry[] = [];
  for (const part of slices(findingEntities(k), IN_LIST_MAX)) {
    const [rows] = (await db.raw(
      `SELECT id, rule, severity, entity, detail, first_seen, last_seen, resolved_at FROM recon_finding FORCE INDEX (ix_recon_finding_entity) WHERE entity IN (${marks(part.length)})`,
      part,
    )) as [FindingRow[]];
    for (const f of rows) out.push(findingEntry(f));
  }
  const targets = new Set<string>();
  for (const p of k.payouts) targets.add(p.id.toString());
  for (const a of k.accounts) targets.add(a.shopUserId.toString());
  for (const u of k.uploadIds) targets.add(u.toString());
  for (const part of slices([...targets], IN_LIST_MAX)) {
    const [rows] = (await db.raw(
      `SELECT id, at, actor, role, action, target, detail, status FROM ops_audit FORCE INDEX (ix_ops_audit_target) WHERE target IN (${marks(part.length)})`,
      part,
    )) as [AuditRow[]];
    for (const a of rows) out.push(auditEntry(a));
  }
  return out;
}

function findingEntry(f: FindingRow): FindingEntry {
  return {
    kind: 'FINDING',
    at: new Date(f.first_seen),
    findingId: big(f.id),
    rule: f.rule,
    severity: f.severity,
    entity: f.entity,
    detail: f.detail,
    lastSeen: new Date(f.last_seen),
    resolvedAt: dateOrNull(f.resolved_at),
  };
}

function auditEntry(a: AuditRow): AuditEntry {
  return {
    kind: 'AUDIT',
    at: new Date(a.at),
    auditId: big(a.id),
    actor: a.actor,
    role: a.role,
    action: a.action,
    target: a.target,
    status: a.status === null ? null : Number(a.status),
    detail: a.detail,
  };
}
