/**
 * Counters the bank simulator exposes on GET /_sim/stats. They start at zero with each process;
 * GET /_sim/stats adds the journal's totals, which survive restarts, and
 * maxExecutionsPerEndToEndId, which must never exceed 1.
 */
export class SimStats {
  /** Files taken out of the OUTBOUND folder (and the received/ files recovered at start). */
  filesReceived = 0;
  filesAccepted = 0;
  /** Files refused as a whole: duplicates, malformed files and injected file rejections. */
  filesRejected = 0;
  /** Files refused because their MsgId was received before (AM05). */
  duplicatesRefused = 0;
  /** Files refused as malformed or with NbOfTxs/CtrlSum not matching (FF01). */
  malformedFiles = 0;
  transfersExecuted = 0;
  /** Transfers refused one by one (TxSts RJCT) in accepted files. */
  transfersRejected = 0;
  /** Files written to the INBOUND folder, copies included. */
  reportsWritten = 0;
  /** TxInfAndSts lines for EndToEndIds that were never sent (fault unknownEndToEndIds). */
  unknownLinesReported = 0;
  /** Poll rounds or report writes that failed and will be retried. */
  errors = 0;
  lastError: string | null = null;
}
