import { z } from 'zod';
import { ConfigError } from '../../runtime/errors';

/**
 * Fault injection for the bank simulator: the answers a real bank gives that the marketplace's
 * bank-file ingestion must survive. Set at start (--faults, STS_BANK_FAULTS) and changed at run
 * time with POST /_sim/faults; POST /_sim/faults/reset restores the defaults. Faults live in
 * memory only: a restarted simulator starts from its flags again. What a fault decided for a file
 * is written to the journal with the file's decision, so a report rewritten after a crash says
 * the same thing.
 *
 *   rejectEndToEndIds   those transactions are refused (TxSts RJCT) with the given reason code,
 *                       e.g. AC01 (wrong account number), AM04 (insufficient funds); kept until
 *                       removed (a patch value of null removes one) or reset
 *   rejectNextFiles     the next n files that would be accepted are refused as a whole (GrpSts
 *                       RJCT, fileRejectCode); counts down, one per file
 *   reportDelayMs       time between a file's decision (and its ACCP report) and its final
 *                       pain.002 and camt.054, fixed per file when it is decided
 *   duplicateReports    every final pain.002 and camt.054 is written twice, the second time as
 *                       <MsgId>-copy.xml under the same report MsgId (a bank re-delivering)
 *   unknownEndToEndIds  the next accepted file's final pain.002 gets n extra TxInfAndSts, TxSts
 *                       ACSC, for EndToEndIds that were never sent; counts down to 0 at once
 */

export const FAULT_DEFAULTS = {
  /** EndToEndId -> ExternalStatusReason1Code. Default none. */
  rejectEndToEndIds: {} as Record<string, string>,
  /** Files still to refuse as a whole. Default 0. */
  rejectNextFiles: 0,
  /** The group reason code of those refusals. Default FF01 (invalid file format). */
  fileRejectCode: 'FF01',
  /** Delay before the final pain.002 and the camt.054, in ms. Default 0. */
  reportDelayMs: 0,
  /** Write every final report twice. Default false. */
  duplicateReports: false,
  /** Extra ACSC lines for unknown EndToEndIds in the next accepted file's final report. Default 0. */
  unknownEndToEndIds: 0,
};

export type FaultSettings = typeof FAULT_DEFAULTS;

/** ExternalStatusReason1Code: 1 to 4 characters; ISO's codes are 4 upper-case letters or digits. */
const reasonCode = z
  .string()
  .regex(/^[A-Z0-9]{4}$/, 'a reason code is 4 upper-case letters or digits');

const patchSchema = z
  .object({
    rejectEndToEndIds: z.record(z.string().min(1).max(35), reasonCode.nullable()),
    rejectNextFiles: z.number().int().min(0).max(1_000_000),
    fileRejectCode: reasonCode,
    reportDelayMs: z.number().int().min(0).max(3_600_000),
    duplicateReports: z.boolean(),
    unknownEndToEndIds: z.number().int().min(0).max(10_000),
  })
  .partial()
  .strict();

export type FaultPatch = z.input<typeof patchSchema>;

/** What the next file's decision takes from the plan; counters are consumed by taking. */
export interface FileFaults {
  /** Set when the file is to be refused as a whole: the group reason code. */
  fileReject?: string;
  duplicateReports: boolean;
  reportDelayMs: number;
}

export class FaultPlan {
  private settings: FaultSettings = cloneDefaults();

  constructor(initial: FaultPatch = {}) {
    this.update(initial);
  }

  /**
   * Applies a patch, validated as a whole so a bad field changes nothing. rejectEndToEndIds is
   * merged into the current map (null removes an id); every other field replaces its value.
   */
  update(patch: unknown): FaultSettings {
    const parsed = patchSchema.safeParse(patch ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || 'faults';
      throw new ConfigError(
        `bank simulator faults ${field}: ${issue?.message ?? 'invalid'}`,
        `fix ${field} in the fault settings`,
      );
    }
    const { rejectEndToEndIds, ...rest } = parsed.data;
    const map = { ...this.settings.rejectEndToEndIds };
    for (const [id, code] of Object.entries(rejectEndToEndIds ?? {})) {
      if (code === null) delete map[id];
      else map[id] = code;
    }
    this.settings = { ...this.settings, ...rest, rejectEndToEndIds: map };
    return this.snapshot();
  }

  reset(): FaultSettings {
    this.settings = cloneDefaults();
    return this.snapshot();
  }

  snapshot(): FaultSettings {
    return { ...this.settings, rejectEndToEndIds: { ...this.settings.rejectEndToEndIds } };
  }

  /** The faults for a file about to be decided; `acceptable` says whether it would be accepted. */
  takeForFile(acceptable: boolean): FileFaults {
    let fileReject: string | undefined;
    if (acceptable && this.settings.rejectNextFiles > 0) {
      this.settings.rejectNextFiles -= 1;
      fileReject = this.settings.fileRejectCode;
    }
    return {
      fileReject,
      duplicateReports: this.settings.duplicateReports,
      reportDelayMs: this.settings.reportDelayMs,
    };
  }

  /** The reason an EndToEndId is to be refused with, if any. */
  rejectCodeFor(endToEndId: string): string | undefined {
    return Object.hasOwn(this.settings.rejectEndToEndIds, endToEndId)
      ? this.settings.rejectEndToEndIds[endToEndId]
      : undefined;
  }

  /** How many unknown EndToEndIds the next accepted file's final report gets; resets it to 0. */
  takeUnknownEndToEndIds(): number {
    const n = this.settings.unknownEndToEndIds;
    this.settings.unknownEndToEndIds = 0;
    return n;
  }
}

function cloneDefaults(): FaultSettings {
  return { ...FAULT_DEFAULTS, rejectEndToEndIds: {} };
}
