import type { StoredFinding } from './recon-types';

/**
 * Posts new CRITICAL findings to STS_ALERT_WEBHOOK_URL as one JSON document per run. A failed
 * post throws; the runner logs it and leaves the findings unalerted, so the next run posts them
 * again (a receiver may see one twice, never zero times).
 */
export interface ReconAlert {
  source: 'sts-recon';
  text: string;
  findings: Array<{
    rule: string;
    severity: string;
    entity: string;
    detail: string;
    fix?: string;
    firstSeen: string;
  }>;
}

export function alertBody(findings: StoredFinding[]): ReconAlert {
  return {
    source: 'sts-recon',
    text: `${findings.length} new CRITICAL reconciliation finding(s): ${findings
      .slice(0, 5)
      .map((f) => `${f.rule} ${f.entity}`)
      .join(', ')}${findings.length > 5 ? ', …' : ''}`,
    findings: findings.map((f) => ({
      rule: f.rule,
      severity: f.severity,
      entity: f.entity,
      detail: f.detail,
      ...(f.fix ? { fix: f.fix } : {}),
      firstSeen: f.firstSeen.toISOString(),
    })),
  };
}

export async function postAlert(
  url: string,
  findings: StoredFinding[],
  timeoutMs: number,
): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alertBody(findings)),
    signal: AbortSignal.timeout(timeoutMs),
  });
  // Drain the body so the keep-alive connection goes back to the pool.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`alert webhook answered HTTP ${res.status}`);
}
