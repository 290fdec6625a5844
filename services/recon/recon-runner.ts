import type { Kafka } from 'kafkajs';
import { register as defaultRegistry, type Registry } from 'prom-client';
import type { StsConfig } from '../../runtime/config';
import { Lease, type LeaseOptions } from '../../runtime/db/lease';
import type { Knex } from '../../runtime/db/knex';
import { asStsError, ConfigError, NotFoundError } from '../../runtime/errors';
import { LockUnavailableError } from '../../runtime/db/db-errors';
import { ReconFixRefusedError } from './recon-errors';
import type { Logger } from '../../runtime/logger';
import {
  assertFindingTable,
  listFindings,
  markAlerted,
  openCounts,
  openFindingsOf,
  saveRuleFindings,
  unalertedCritical,
} from './finding-store';
import { GatewayReportReader } from './gateway-report-reader';
import { postAlert } from './recon-alert';
import { RECON_FIXES } from './recon-fixes';
import { reconMetrics, type ReconMetrics } from './recon-metrics';
import {
  parseReconOptions,
  reconOptionsFromConfig,
  type Finding,
  type ReconOptions,
  type ReconRule,
  type StoredFinding,
} from './recon-types';
import { RECON_RULES } from './rules';

/**
 * Runs the rules and keeps their findings (finding-store.ts). One run at a time per database, the
 * holder of the `sts.recon` lease (runtime/db/lease.ts): two runs saving at once could each
 * resolve what the other just found. Each rule's findings are saved in one transaction fenced by
 * the lease, so a run that lost it (frozen while another run took over) saves nothing more.
 *
 * A rule that throws (the gateway is down, say) leaves its findings exactly as they were, neither
 * kept nor resolved, because "could not look" is not evidence; the run records a WARNING finding
 * `recon/rule-error` for that rule instead, resolved by its next successful run.
 */
export interface ReconDeps {
  db: Knex;
  logger: Logger;
  /** prom-client registry; the global one by default. */
  metrics?: Registry;
  /** The run lease's settings (runtime/db/lease.ts LEASE_DEFAULTS: a TTL of 10 s). */
  lease?: Omit<LeaseOptions, 'onLost'>;
}

export interface RuleReport {
  rule: string;
  ok: boolean;
  found: number;
  opened: number;
  resolved: number;
  ms: number;
  error?: string;
  /** What the rule skipped and why (a day with too little volume or history); absent if none. */
  notes?: string[];
}

export interface ReconRunResult {
  startedAt: Date;
  finishedAt: Date;
  rules: RuleReport[];
  /** Every open finding after the run, most severe first. */
  open: StoredFinding[];
  critical: number;
  alerted: number;
}

export interface FixResult {
  fix: string;
  rule: string;
  entity: string;
  summary: string;
  /** The finding is resolved by the rule's re-check right after the fix. */
  resolved: boolean;
  finding?: StoredFinding;
}

export class ReconRunner {
  readonly options: ReconOptions;
  private readonly gateway: GatewayReportReader;
  private readonly metrics: ReconMetrics;

  constructor(
    private readonly deps: ReconDeps,
    opts: Partial<ReconOptions> = {},
    private readonly rules: readonly ReconRule[] = RECON_RULES,
  ) {
    this.options = parseReconOptions(opts);
    this.gateway = new GatewayReportReader(this.options.gatewayUrl);
    this.metrics = reconMetrics(deps.metrics ?? defaultRegistry);
  }

  static fromConfig(
    config: StsConfig,
    deps: ReconDeps,
    extra: Partial<ReconOptions> = {},
  ): ReconRunner {
    return new ReconRunner(deps, reconOptionsFromConfig(config, extra));
  }

  get ruleNames(): string[] {
    return this.rules.map((r) => r.name);
  }

  async run(opts: { rules?: string[]; now?: Date } = {}): Promise<ReconRunResult> {
    const selected = opts.rules
      ? this.rules.filter((r) => opts.rules!.includes(r.name))
      : this.rules;
    const unknown = (opts.rules ?? []).filter((n) => !this.ruleNames.includes(n));
    if (unknown.length > 0)
      throw new ConfigError(
        `unknown recon rule(s): ${unknown.join(', ')}`,
        `choose from: ${this.ruleNames.join(', ')}`,
      );
    await assertFindingTable(this.deps.db);
    const lease = await this.acquire();
    try {
      return await this.runLeased(selected, opts.now ?? new Date(), lease);
    } finally {
      await lease.release();
    }
  }

  /** Applies the documented fix of an open finding, then re-runs its rule to show the result. */
  async fix(
    rule: string,
    entity: string,
    opts: { kafka?: Kafka; actor?: string } = {},
  ): Promise<FixResult> {
    const finding = (await listFindings(this.deps.db, { rule, entity, limit: 1 }))[0];
    if (!finding) throw new NotFoundError('open recon finding', `${rule} ${entity}`);
    const fix = finding.fix ? RECON_FIXES[finding.fix] : undefined;
    if (!finding.fix || !fix || fix.rule !== rule) {
      throw new ReconFixRefusedError(
        `${rule} has no automatic fix for ${entity}: ${finding.detail}`,
        { rule, entity },
        'investigate by hand; the detail says what differs and where',
      );
    }
    this.deps.logger.info(
      { rule, entity, fix: finding.fix, actor: opts.actor },
      'recon fix requested',
    );
    const summary = await fix.apply(
      { db: this.deps.db, logger: this.deps.logger, kafka: opts.kafka },
      entity,
    );
    await this.run({ rules: [rule] });
    const after = (await listFindings(this.deps.db, { rule, entity, limit: 1 }))[0];
    return {
      fix: finding.fix,
      rule,
      entity,
      summary,
      resolved: !after,
      ...(after ? { finding: after } : {}),
    };
  }

  close(): void {
    this.gateway.close();
  }

  private async runLeased(
    selected: readonly ReconRule[],
    now: Date,
    lease: Lease,
  ): Promise<ReconRunResult> {
    const { db, logger } = this.deps;
    const startedAt = new Date();
    const reports: RuleReport[] = [];
    const save = (
      produced: Finding[],
      open: ReadonlyMap<string, StoredFinding>,
      resolveMissing: boolean,
    ) =>
      db.transaction(async (trx) => {
        const saved = await saveRuleFindings(trx, produced, open, now, resolveMissing);
        await lease.fence(trx);
        return saved;
      });
    for (const rule of selected) {
      // A run that lost its lease stops here rather than checking rules it may not save.
      await lease.assertHeld();
      const t0 = Date.now();
      const open = await openFindingsOf(db, rule.name);
      const notes: string[] = [];
      const note = (text: string) => void notes.push(text);
      try {
        const produced = (
          await rule.check({ db, now, options: this.options, gateway: this.gateway, open, note })
        ).filter((f) => f.rule === rule.name);
        const saved = await save(produced, open, true);
        reports.push({
          rule: rule.name,
          ok: true,
          found: produced.length,
          opened: saved.opened.length,
          resolved: saved.resolved.length,
          ms: Date.now() - t0,
          ...(notes.length > 0 ? { notes } : {}),
        });
      } catch (err) {
        // Not the rule's failure: another run holds the lease now, and its findings stand.
        if (err instanceof LockUnavailableError) throw err;
        const e = asStsError(err, { component: 'recon', rule: rule.name });
        this.metrics.ruleErrors.inc({ rule: rule.name });
        logger.error(
          { err: e, rule: rule.name },
          'recon rule failed; its findings are left as they were',
        );
        const failure: Finding = {
          rule: rule.name,
          severity: 'WARNING',
          entity: 'recon/rule-error',
          detail: `the rule could not run: [${e.code}] ${e.message}`.slice(0, 1024),
        };
        const saved = await save([failure], open, false);
        reports.push({
          rule: rule.name,
          ok: false,
          found: 0,
          opened: saved.opened.length,
          resolved: 0,
          ms: Date.now() - t0,
          error: `[${e.code}] ${e.message}`,
        });
      }
    }
    const alerted = await this.alert(now, lease);
    await this.publishMetrics();
    const openAfter = await listFindings(db, { limit: 10_000 });
    const result = {
      startedAt,
      finishedAt: new Date(),
      rules: reports,
      open: openAfter,
      critical: openAfter.filter((f) => f.severity === 'CRITICAL').length,
      alerted,
    };
    logger.info(
      {
        open: openAfter.length,
        critical: result.critical,
        failedRules: reports.filter((r) => !r.ok).map((r) => r.rule),
      },
      'recon run finished',
    );
    return result;
  }

  /** Posts unalerted CRITICAL findings; a failed post is retried by the next run. */
  private async alert(now: Date, lease: Lease): Promise<number> {
    if (!this.options.alertWebhookUrl) return 0;
    const pending = await unalertedCritical(this.deps.db);
    if (pending.length === 0) return 0;
    // The post leaves the database, where no fence reaches: confirm the lease first.
    await lease.assertHeld();
    try {
      await postAlert(this.options.alertWebhookUrl, pending, this.options.alertTimeoutMs);
      await this.deps.db.transaction(async (trx) => {
        await markAlerted(
          trx,
          pending.map((f) => f.id),
          now,
        );
        await lease.fence(trx);
      });
      return pending.length;
    } catch (err) {
      if (err instanceof LockUnavailableError) throw err;
      this.deps.logger.warn(
        { err, findings: pending.length },
        'recon alert webhook failed; the next run posts these again',
      );
      return 0;
    }
  }

  private async publishMetrics(): Promise<void> {
    const counts = await openCounts(this.deps.db);
    this.metrics.findings.reset();
    for (const c of counts) this.metrics.findings.set({ rule: c.rule, severity: c.severity }, c.n);
    this.metrics.lastRun.set(Date.now() / 1000);
  }

  /**
   * Waits up to lockWaitMs for a run in another process (the scheduler, an operator) to finish; a
   * run that crashed holds the lease until it expires.
   */
  private async acquire(): Promise<Lease> {
    const lease = new Lease(this.deps.db, 'sts.recon', {
      ...this.deps.lease,
      onLost: (err) =>
        this.deps.logger.warn({ err }, 'reconciliation run lost its lease; it stops and saves nothing more'),
    });
    const deadline = Date.now() + this.options.lockWaitMs;
    for (;;) {
      if (await lease.tryAcquire()) return lease;
      if (Date.now() >= deadline)
        throw new LockUnavailableError(
          lease.name,
          `another reconciliation run did not finish within ${this.options.lockWaitMs} ms`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
