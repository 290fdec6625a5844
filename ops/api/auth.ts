import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../runtime/error-codes';
import { ROLE_RANK, type OpsPrincipal, type OpsRole, type OpsTokens } from './ops-tokens';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: OpsPrincipal;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; routes without one are public (health, the dashboard shell). */
    minRole?: OpsRole;
  }
}

/**
 * Bearer-token auth for every route that declares a `minRole`: 401 without a known token, 403 when
 * the token's role ranks below the route's. The token itself is never logged or echoed.
 */
export function installAuth(app: FastifyInstance, tokens: OpsTokens): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const minRole = req.routeOptions.config?.minRole;
    if (!minRole) return;
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const principal = token ? tokens.resolve(token) : undefined;
    if (!principal) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'STS_UNAUTHORIZED' satisfies ErrorCode, message: 'a valid bearer token is required' });
    if (ROLE_RANK[principal.role] < ROLE_RANK[minRole]) {
      return reply.code(403).send({ error: 'STS_FORBIDDEN' satisfies ErrorCode, message: `this needs the ${minRole} role; ${principal.name} is a ${principal.role}` });
    }
    req.principal = principal;
  });
}
