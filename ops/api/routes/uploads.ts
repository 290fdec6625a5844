import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import type { ErrorCode } from '../../../runtime/error-codes';
import { UploadRefusedError } from '../../../services/uploads/upload-errors';
import type { AppContext } from '../../../services/run/app-context';
import { intakeUpload, type INTAKE_DEFAULTS } from '../../../services/uploads/upload-intake';
import { rejectsCsv } from '../../../services/uploads/upload-rejects';
import { listUploads, readUploadStatus } from '../../../services/uploads/upload-status';
import { cancelUpload } from '../../../services/uploads/upload-cancel';
import { confirmUpload } from '../../../services/uploads/upload-confirm';

/**
 * POST /uploads streams the request body straight into intake (text/csv or
 * application/octet-stream; never buffered). The file name comes from `?filename=` and is only a
 * label: intake stores the bytes under their SHA-256, so "../../etc/passwd" is just a name.
 * An upload its checks hold answers 202 with status AWAITING_CONFIRMATION and its warnings;
 * POST /uploads/:id/confirm (or `?confirmWarnings=true` up front) lets it proceed, recorded in
 * ops_audit with the warnings; confirming one that is not held is 409 STS_UPLOAD_ACTION_REFUSED.
 */
export function uploadRoutes(app: FastifyInstance, ctx: AppContext, tuning: Partial<typeof INTAKE_DEFAULTS>): void {
  for (const type of ['text/csv', 'application/octet-stream']) {
    app.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
  }

  app.post<{ Querystring: { filename?: string; force?: string; confirmWarnings?: string } }>('/uploads', { config: { minRole: 'operator' } }, async (req, reply) => {
    if (!(req.body instanceof Readable)) return reply.code(415).send({ error: 'STS_UNSUPPORTED_MEDIA' satisfies ErrorCode, message: 'send the CSV as text/csv or application/octet-stream' });
    const declared = Number(req.headers['content-length'] ?? 0);
    const limit = tuning.maxFileBytes;
    if (limit !== undefined && declared > limit) {
      return reply.code(413).header('connection', 'close').send({ error: 'STS_UPLOAD_REFUSED' satisfies ErrorCode, reason: 'TOO_LARGE', message: `the file is larger than ${limit} bytes` });
    }
    try {
      const result = await intakeUpload(
        await intakeDeps(),
        req.body,
        {
          fileName: displayName(req.query.filename),
          actor: `api:${req.principal!.name}`,
          force: req.query.force === 'true',
          checks: ctx.config.uploadChecks,
          confirmWarnings: req.query.confirmWarnings === 'true',
        },
        tuning,
      );
      return reply.code(result.existing ? 200 : 202).send({ ...(await readUploadStatus(ctx.db, result.uploadId)), existing: result.existing });
    } catch (err) {
      if (err instanceof UploadRefusedError) {
        // The rest of an oversized body is never read; closing the connection stops the client
        // from sending it and keeps the socket out of the keep-alive pool.
        if (err.reason === 'TOO_LARGE') reply.code(413).header('connection', 'close');
        else reply.code(422);
        return reply.send({ error: err.code, reason: err.reason, message: err.message, fix: err.fix });
      }
      throw err;
    }
  });

  app.get('/uploads', { config: { minRole: 'viewer' } }, async () => listUploads(ctx.db));
  app.get<{ Params: { id: string } }>('/uploads/:id', { config: { minRole: 'viewer' }, schema: idParam }, async (req) => readUploadStatus(ctx.db, BigInt(req.params.id)));
  app.get<{ Params: { id: string } }>('/uploads/:id/rejects', { config: { minRole: 'viewer' }, schema: idParam }, async (req, reply) => {
    const id = BigInt(req.params.id);
    await readUploadStatus(ctx.db, id);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="upload-${id}-rejects.csv"`)
      .send(Readable.from(rejectsCsv(ctx.db, id)));
  });
  app.post<{ Params: { id: string } }>('/uploads/:id/cancel', { config: { minRole: 'operator' }, schema: idParam }, async (req) => cancelUpload(ctx.db, BigInt(req.params.id)));
  app.post<{ Params: { id: string } }>('/uploads/:id/confirm', { config: { minRole: 'operator' }, schema: idParam }, async (req) => {
    const id = BigInt(req.params.id);
    await confirmUpload(await intakeDeps(), id, `api:${req.principal!.name}`, { tuning });
    return readUploadStatus(ctx.db, id);
  });

  async function intakeDeps() {
    return { db: ctx.db, kafka: ctx.kafka, codec: ctx.codec, registry: ctx.registry, ids: await ctx.ids(), dataDir: ctx.config.dataDir, logger: ctx.logger };
  }
}

const idParam = { params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,19}$' } }, required: ['id'] } } as const;

/** The last path segment, without control characters, at most 255 characters. */
function displayName(name: string | undefined): string {
  const base = (name ?? 'upload.csv').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255);
  return clean || 'upload.csv';
}
