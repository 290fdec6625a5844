import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { Logger } from '../../runtime/logger';

/**
 * The audit trail of operator actions (issue 7): every call that changes something (any method
 * but GET/HEAD on a route that needs a role) is recorded in ops_audit as it is answered, with
 * the caller's name and role, the route, the target id, its JSON input and the status. Uploads are
 * recorded by name, never by content; tokens never reach this table (auth keeps only digests).
 * The row is written in onSend, once the status is known and before the answer leaves: a caller
 * who has the answer can find the row (onResponse would race the caller's next read).
 * A failed audit write is logged, not thrown: the action already happened.
 */
export function installAudit(app: FastifyInstance, db: Knex, logger: Logger): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method === 'GET' || req.method === 'HEAD' || !req.routeOptions.config?.minRole) return payload;
    const params = (req.params ?? {}) as Record<string, string>;
    const body = req.body !== null && typeof req.body === 'object' && !('pipe' in (req.body as object)) ? req.body : undefined;
    // The path names what was acted on (a payee change is PUT /payees/:seller/:currency).
    const detail = JSON.stringify({ params, query: req.query, body }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).slice(0, 8000);
    try {
      await db('ops_audit').insert({
        actor: (req.principal ? `api:${req.principal.name}` : 'api:anonymous').slice(0, 64),
        role: req.principal?.role ?? null,
        action: `${req.method} ${req.routeOptions.url ?? req.url}`.slice(0, 64),
        target: (params.id ?? params.seller ?? null)?.slice(0, 255) ?? null,
        detail,
        status: reply.statusCode,
      });
    } catch (err) {
      logger.error({ err, route: req.routeOptions.url }, 'audit write failed');
    }
    return payload;
  });
}

/** For CLI actions, which have no HTTP request around them. */
export async function auditCli(db: Knex, action: string, target: string | null, detail: unknown): Promise<void> {
  await auditAs(db, `cli:${process.env.USER ?? 'unknown'}`, null, action, target, detail);
}

/**
 * An audit row written by the code that acts, where the row must commit with the action (pass the
 * action's transaction) or name what the action decided, such as the warnings an operator confirmed.
 */
export async function auditAs(db: Knex, actor: string, role: string | null, action: string, target: string | null, detail: unknown): Promise<void> {
  await db('ops_audit').insert({
    actor: actor.slice(0, 64),
    role,
    action,
    target,
    detail: JSON.stringify(detail, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).slice(0, 8000),
    status: null,
  });
}
