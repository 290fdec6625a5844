import type { CheckResult } from './chaos-checks';
import type { ChaosStack } from './chaos-stack';
import { nodeState } from './db-cluster-faults';

/**
 * After a chaos run on a Galera cluster: every node is back, Synced, in one cluster of full size,
 * and holds the same money. A cheap fingerprint per table (rows and the sum of its amounts), read
 * on each node's own port with causal reads, so a node that came back by state transfer and
 * missed or doubled a write set shows up here even when the node HAProxy routes to is right.
 */
const MONEY_TABLES: Array<{ table: string; sums: string[] }> = [
  { table: 'billing_item', sums: ['amount_minor'] },
  { table: 'settlement_account', sums: ['balance_minor'] },
  { table: 'payout', sums: ['amount_minor'] },
  { table: 'fund_movement', sums: ['amount_minor'] },
  { table: 'ledger_account', sums: ['debit_total', 'credit_total'] },
];

export async function dbClusterCheck(stack: ChaosStack): Promise<CheckResult> {
  const nodes = stack.dbNodes;
  const problems: string[] = [];
  const prints: string[][] = [];
  for (const id of nodes) {
    try {
      const state = await stack.onDbNode(id, nodeState);
      if (!state.synced || state.size !== nodes.length) problems.push(`node-${id} is ${state.state} in a cluster of ${state.size}`);
      prints.push(await stack.onDbNode(id, async (conn) => {
        const out: string[] = [];
        for (const t of MONEY_TABLES) {
          const sums = t.sums.map((c) => `CAST(COALESCE(SUM(${c}), 0) AS CHAR)`).join(", '/', ");
          const [rows] = (await conn.query(`SELECT CONCAT(COUNT(*), ' rows, sum ', ${sums}) AS f FROM ${t.table}`)) as unknown as [Array<{ f: string }>];
          out.push(`${t.table} ${rows[0]?.f ?? '?'}`);
        }
        return out;
      }));
    } catch (err) {
      problems.push(`node-${id} unreadable: ${(err as Error).message}`);
      prints.push([]);
    }
  }
  const first = prints[0] ?? [];
  prints.forEach((p, i) => {
    MONEY_TABLES.forEach((t, k) => {
      if (i > 0 && p.length > 0 && p[k] !== first[k]) problems.push(`node-${nodes[i]} ${p[k]}, node-${nodes[0]} ${first[k]}`);
    });
  });
  return {
    name: `the database cluster: ${nodes.length} nodes Synced, the same money tables on every node`,
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${nodes.length} nodes Synced, each with ${first.join('; ')}` : `${problems.length} problem(s): ${problems.slice(0, 5).join('; ')}`,
  };
}
