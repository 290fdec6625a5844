import type { Knex } from '../../runtime/db/knex';
import { intList } from '../../runtime/db/int-list';
import { SchemaBehindError } from '../../runtime/db/db-errors';
import { existingTables } from './recon-sql';
import { SEVERITY_RANK, type Finding, type Severity, type StoredFinding } from './recon-types';

/**
 * recon_finding (migration 0007): one row per (rule, entity). A run saves each rule's findings:
 *   - a finding already open keeps its first_seen; last_seen, severity, detail and fix follow
 *     the latest run;
 *   - a new finding, or one that was resolved and is back, gets first_seen = now (it is a new
 *     occurrence, and alerts again);
 *   - an open finding the rule no longer produces gets resolved_at = now.
 * alerted_at is cleared when a finding reopens or becomes CRITICAL, so each occurrence of a
 * CRITICAL finding is alerted once.
 */

const CHUNK = 500;
const COLUMNS =
  'id, rule, severity, entity, detail, fix, first_seen, last_seen, resolved_at, alerted_at';

interface Row {
  id: string;
  rule: string;
  severity: Severity;
  entity: string;
  detail: string;
  fix: string | null;
  first_seen: Date;
  last_seen: Date;
  resolved_at: Date | null;
  alerted_at: Date | null;
}

const toStored = (r: Row): StoredFinding => ({
  id: BigInt(r.id),
  rule: r.rule,
  severity: r.severity,
  entity: r.entity,
  detail: r.detail,
  ...(r.fix ? { fix: r.fix } : {}),
  firstSeen: new Date(r.first_seen),
  lastSeen: new Date(r.last_seen),
  resolvedAt: r.resolved_at ? new Date(r.resolved_at) : null,
  alertedAt: r.alerted_at ? new Date(r.alerted_at) : null,
});

/** Fails with a clear cause and fix when the database predates migration 0007 (no recon_finding). */
export async function assertFindingTable(db: Knex): Promise<void> {
  if ((await existingTables(db, ['recon_finding'])).has('recon_finding')) return;
  throw new SchemaBehindError('recon_finding', '0007_recon_findings');
}

/** A rule's open findings, by entity. */
export async function openFindingsOf(db: Knex, rule: string): Promise<Map<string, StoredFinding>> {
  const found = (await db('recon_finding')
    .select(db.raw(COLUMNS))
    .where({ rule })
    .whereNull('resolved_at')) as Row[];
  return new Map(found.map((r) => [r.entity, toStored(r)]));
}

export interface SaveResult {
  /** New, or back after being resolved. */
  opened: Finding[];
  resolved: StoredFinding[];
}

/**
 * Upserts what a rule produced and, with `resolveMissing`, resolves its open findings that were
 * not produced. `open` is the rule's open findings as read before the rule ran. Run-level
 * serialisation (one run at a time, recon-runner.ts) makes that read still true here.
 */
export async function saveRuleFindings(
  db: Knex,
  produced: Finding[],
  open: ReadonlyMap<string, StoredFinding>,
  now: Date,
  resolveMissing: boolean,
): Promise<SaveResult> {
  const unique = dedupe(produced);
  for (let i = 0; i < unique.length; i += CHUNK) {
    const chunk = unique.slice(i, i + CHUNK);
    // MySQL applies ON DUPLICATE KEY assignments left to right: first_seen and alerted_at read the
    // old resolved_at and severity before the later assignments overwrite them.
    await db.raw(
      `INSERT INTO recon_finding (rule, severity, entity, detail, fix, first_seen, last_seen) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}
       ON DUPLICATE KEY UPDATE
         first_seen = IF(resolved_at IS NULL, first_seen, VALUES(first_seen)),
         alerted_at = IF(resolved_at IS NULL AND (severity = 'CRITICAL' OR VALUES(severity) <> 'CRITICAL'), alerted_at, NULL),
         resolved_at = NULL,
         severity = VALUES(severity), detail = VALUES(detail), fix = VALUES(fix), last_seen = VALUES(last_seen)`,
      chunk.flatMap((f) => [
        f.rule,
        f.severity,
        f.entity.slice(0, 255),
        f.detail.slice(0, 1024),
        f.fix ?? null,
        now,
        now,
      ]),
    );
  }
  const producedKeys = new Set(unique.map((f) => f.entity.slice(0, 255)));
  const opened = unique.filter((f) => !open.has(f.entity.slice(0, 255)));
  const resolved = resolveMissing
    ? [...open.values()].filter((f) => !producedKeys.has(f.entity))
    : [];
  for (let i = 0; i < resolved.length; i += CHUNK) {
    const ids = intList(resolved.slice(i, i + CHUNK).map((f) => f.id));
    await db.raw(
      `UPDATE recon_finding SET resolved_at = ? WHERE id IN (${ids}) AND resolved_at IS NULL`,
      [now],
    );
  }
  return { opened, resolved };
}

/** One finding per entity; where a rule produced two, the more severe wins. */
function dedupe(findings: Finding[]): Finding[] {
  const byEntity = new Map<string, Finding>();
  for (const f of findings) {
    const prior = byEntity.get(f.entity);
    if (!prior || SEVERITY_RANK[f.severity] > SEVERITY_RANK[prior.severity])
      byEntity.set(f.entity, f);
  }
  return [...byEntity.values()];
}

export interface ListFilter {
  /** Include resolved findings. */
  all?: boolean;
  rule?: string;
  severity?: Severity;
  entity?: string;
  limit?: number;
}

/** Findings, most severe first, then oldest first. Every filter is a bound parameter. */
export async function listFindings(db: Knex, filter: ListFilter = {}): Promise<StoredFinding[]> {
  const q = db('recon_finding').select(db.raw(COLUMNS));
  if (!filter.all) q.whereNull('resolved_at');
  if (filter.rule !== undefined) q.where('rule', filter.rule);
  if (filter.severity !== undefined) q.where('severity', filter.severity);
  if (filter.entity !== undefined) q.where('entity', filter.entity);
  q.orderByRaw(
    `resolved_at IS NOT NULL, FIELD(severity, 'CRITICAL', 'WARNING', 'INFO'), first_seen, id`,
  ).limit(filter.limit ?? 1000);
  return ((await q) as Row[]).map(toStored);
}

/** Open CRITICAL findings no webhook has taken yet. */
export async function unalertedCritical(db: Knex): Promise<StoredFinding[]> {
  const found = (await db('recon_finding')
    .select(db.raw(COLUMNS))
    .whereNull('resolved_at')
    .where({ severity: 'CRITICAL' })
    .whereNull('alerted_at')
    .orderBy('id')
    .limit(1000)) as Row[];
  return found.map(toStored);
}

export async function markAlerted(db: Knex, ids: bigint[], at: Date): Promise<void> {
  if (ids.length > 0)
    await db.raw(`UPDATE recon_finding SET alerted_at = ? WHERE id IN (${intList(ids)})`, [at]);
}

/** Open findings per rule and severity, for the gauge. */
export async function openCounts(
  db: Knex,
): Promise<Array<{ rule: string; severity: Severity; n: number }>> {
  const found = (await db('recon_finding')
    .select('rule', 'severity')
    .count({ n: '*' })
    .whereNull('resolved_at')
    .groupBy('rule', 'severity')) as Array<{
    rule: string;
    severity: Severity;
    n: string | number;
  }>;
  return found.map((f) => ({ rule: f.rule, severity: f.severity, n: Number(f.n) }));
}
