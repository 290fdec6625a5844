import type { FastifyInstance } from 'fastify';
import { StsError } from '../../../runtime/errors';
import { DlqReplayRefusedError } from '../../../services/dlq/dlq-errors';
import { settlementTopology } from '../../../topologies/settlement';
import { DLQ_LIST_DEFAULTS, dlqTopicsFor, listDeadLetters } from '../../../services/dlq/dlq-letters';
import { replayDeadLetters } from '../../../services/dlq/dlq-replay';
import type { AppContext } from '../../../services/run/app-context';

/**
 * GET /dlq?topic=T&limit=N (viewer): dead letters, as `sts dlq list --json` prints them.
 * POST /dlq/replay (operator) with `{ topic, partition, offset }` or `{ topic, all: true }`:
 * `{ replayed, skipped }`, as `sts dlq replay --json`. Offsets are decimal strings both ways.
 */
export function dlqRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: { topic?: string; limit?: number } }>(
    '/dlq',
    { config: { minRole: 'viewer' }, schema: listQuery },
    async (req) =>
      listDeadLetters(
        ctx,
        dlqTopicsFor(settlementTopology, req.query.topic),
        req.query.limit ?? DLQ_LIST_DEFAULTS.limit,
      ),
  );

  app.post<{ Body: { topic: string; partition?: number; offset?: string; all?: boolean } }>(
    '/dlq/replay',
    { config: { minRole: 'operator' }, schema: replayBody },
    async (req, reply) => {
      const [dlqTopic] = dlqTopicsFor(settlementTopology, req.body.topic);
      try {
        return await replayDeadLetters(ctx, {
          dlqTopic: dlqTopic!,
          partition: req.body.partition,
          offset: req.body.offset === undefined ? undefined : BigInt(req.body.offset),
          all: req.body.all,
          actor: `api:${req.principal!.name}`,
        });
      } catch (err) {
        if (err instanceof DlqReplayRefusedError)
          return reply.code(422).send({ error: err.code, message: err.message, fix: err.fix });
        if (err instanceof StsError && err.code === 'STS_CONFIG_INVALID')
          return reply.code(400).send({ error: err.code, message: err.message, fix: err.fix });
        throw err;
      }
    },
  );
}

const topic = { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,249}$' } as const;

const listQuery = {
  querystring: {
    type: 'object',
    properties: { topic, limit: { type: 'integer', minimum: 1, maximum: 10000 } },
    additionalProperties: false,
  },
} as const;

const replayBody = {
  body: {
    type: 'object',
    required: ['topic'],
    additionalProperties: false,
    properties: {
      topic,
      partition: { type: 'integer', minimum: 0 },
      offset: { type: 'string', pattern: '^[0-9]{1,19}$' },
      all: { type: 'boolean' },
    },
  },
} as const;
