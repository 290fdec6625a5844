import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../runtime/errors';

/**
 * The /_sim route each simulator takes fault patches on (PUT on the gateway, POST on the bank).
 * A fault plan validates a patch as a whole, so a bad one changes nothing and answers 400
 * INVALID_FAULTS with the plan's message; a good one answers with the settings now in force.
 */
export function faultPatchRoute(faults: { update(patch: unknown): unknown }) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      return reply.code(200).send(faults.update(req.body));
    } catch (err) {
      if (err instanceof ConfigError)
        return reply.code(400).send({ error: 'INVALID_FAULTS', message: err.message });
      throw err;
    }
  };
}
