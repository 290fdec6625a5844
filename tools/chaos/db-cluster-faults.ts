import fs from 'node:fs';
import type { Connection } from 'mysql2/promise';
import { galeraNodePaths } from '../../infra/paths';
import type { ChaosStack } from './chaos-stack';
import { waitUntil } from './wait-until';

/**
 * The database's faults when the chaos stack runs a Galera cluster behind HAProxy
 * (`sts chaos --db-cluster`):
 *   - kill -9 of the node HAProxy routes to, while the pipeline writes through it: every open
 *     connection dies with it, HAProxy sends new ones to the next Synced node, and each process
 *     must retry what was in flight there (a commit whose answer was lost included);
 *   - that node started again by `sts up`, which rejoins it by state transfer (IST from a peer's
 *     cache, or a full copy); once it is Synced HAProxy moves the writes back to it and cuts the
 *     sessions on the standby: a second failover, under load;
 *   - kill -9 of a node HAProxy does not route to, then its restart: the cluster carries on with
 *     two of three and the node catches up.
 * Each is noted for the report as it happens. A node is only killed when all are Synced: two down
 * at once would leave no majority, which is an outage, not a failover.
 */
export class DbClusterFaults {
  /** Where each killed node's error log stood at the kill, to read how it rejoined. */
  private readonly logFrom = new Map<number, number>();
  /** Nodes that HAProxy routed to when killed: their restart moves the writes back. */
  private readonly routedAtKill = new Set<number>();

  constructor(
    private readonly stack: ChaosStack,
    private readonly deadline: number,
    private readonly note: (what: string) => void,
  ) {}

  /** kill -9 of the node HAProxy routes to; resolves once HAProxy routes to another one. */
  async killRoutedNode(): Promise<number> {
    await this.allSynced();
    const victim = await this.routed();
    this.routedAtKill.add(victim);
    const killed = Date.now();
    await this.kill(victim);
    const next = await waitUntil('HAProxy to route to another database node', this.deadline, async () => {
      const now = await this.stack.routedDbNode();
      return now !== undefined && now !== victim ? now : undefined;
    }, 100);
    this.note(`MariaDB node-${victim} (HAProxy routes to it) kill -9; HAProxy routes to node-${next} ${secondsSince(killed)} s after`);
    return victim;
  }

  /** kill -9 of a Synced node HAProxy does not route to: the cluster goes on with two. */
  async killStandbyNode(): Promise<number> {
    await this.allSynced();
    const routed = await this.routed();
    // HAProxy's next in line: a later failover would have to pass over it.
    const victim = this.stack.dbNodes.find((id) => id !== routed)!;
    await this.kill(victim);
    this.note(`MariaDB node-${victim} (a standby, HAProxy routes to node-${routed}) kill -9; the cluster goes on with two nodes`);
    return victim;
  }

  /**
   * `sts up` starts what is missing; the fault is over once every node is Synced again. Another
   * fault's `sts up` (a Kafka node's restart) may have started the node already: the note says
   * how it rejoined all the same, read from its own log.
   */
  async restart(id: number): Promise<void> {
    const started = Date.now();
    await this.stack.up();
    await this.allSynced();
    const log = fs.readFileSync(galeraNodePaths(this.stack.dir, id).log, 'utf8').slice(this.logFrom.get(id) ?? 0);
    const how = /IST received/.test(log) ? 'IST' : /SST succeeded|SST received/.test(log) ? 'a full state transfer (SST)' : 'state transfer';
    let back = '';
    if (this.routedAtKill.delete(id)) {
      await waitUntil(`HAProxy to route to node-${id} again`, this.deadline, async () => ((await this.stack.routedDbNode()) === id ? true : undefined), 100);
      back = `; HAProxy routes to it again, cutting the standby's sessions`;
    }
    this.note(`MariaDB node-${id} restarted and rejoined by ${how}, every node Synced ${secondsSince(started)} s after${back}`);
  }

  private async kill(id: number): Promise<void> {
    const log = galeraNodePaths(this.stack.dir, id).log;
    this.logFrom.set(id, fs.existsSync(log) ? fs.statSync(log).size : 0);
    await this.stack.killDbNode(id);
  }

  private routed(): Promise<number> {
    return waitUntil('HAProxy to route to a database node', this.deadline, () => this.stack.routedDbNode());
  }

  /** Every node Synced in a primary component of the full size, asked on its own port. */
  private allSynced(): Promise<true> {
    const nodes = this.stack.dbNodes;
    return waitUntil('every database node Synced', this.deadline, async () => {
      const states = await Promise.all(nodes.map((id) => this.stack.onDbNode(id, nodeState)));
      return states.every((s) => s.synced && s.size === nodes.length) ? true : undefined;
    });
  }
}

/** How a Galera node stands, from its own status variables. */
export async function nodeState(conn: Connection): Promise<{ synced: boolean; state: string; size: number }> {
  const [rows] = (await conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_status')")) as unknown as [Array<{ Variable_name: string; Value: string }>];
  const s = Object.fromEntries(rows.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
  return { synced: s.wsrep_local_state === '4' && s.wsrep_cluster_status === 'Primary', state: s.wsrep_local_state_comment ?? 'unknown', size: Number(s.wsrep_cluster_size ?? 0) };
}

const secondsSince = (t: number) => ((Date.now() - t) / 1000).toFixed(1);
