import type { ChaosReport } from './chaos-run';

/** The text a person reads after `sts chaos`: the verdict first, then each check and fault. */
export function renderChaosReport(r: ChaosReport, index: number, of: number): string {
  const lines = [
    '',
    `chaos run ${index}/${of} (seed ${r.seed}): ${r.ok ? 'PASSED, no money lost or doubled' : 'FAILED'}`,
    `  flow        ${r.events} order events, ${r.uploadRows} upload rows, ${r.payouts} payouts`,
    `  faults      ${r.faults.length}: ${summarise(r.faults.map((f) => f.what))}`,
    `  processes   ${r.processes.map((p) => `${p.name} started ${p.starts}× (killed ${p.kills}, crashed ${p.crashes}${p.freezes > 0 ? `, frozen ${p.freezes}` : ''})`).join('; ')}`,
    '  checks',
    ...r.checks.map((c) => `    ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    `  timings (s) ${Object.entries(r.seconds).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  logs        ${r.dir}`,
    '',
  ];
  return lines.join('\n');
}

/** "kill -9 commission ×4, Kafka broker kill -9 and restart (5.1 s down), …" */
function summarise(whats: string[]): string {
  const counts = new Map<string, number>();
  for (const w of whats) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts].map(([w, n]) => (n > 1 ? `${w} ×${n}` : w)).join(', ');
}
