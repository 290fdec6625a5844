import { StsError, type ErrorContext } from '../../runtime/errors';

/**
 * Errors of the chaos run. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** The chaos run could not do what its scenario needs (a component that would not restart, a
 * flow that never went quiet). Not a verdict on the pipeline: the run's checks report those. */
export class ChaosRunError extends StsError {
  constructor(detail: string, context: ErrorContext = {}) {
    super('STS_CHAOS_RUN', detail, {
      context: { component: 'chaos', ...context },
      fix: 'read the run log under the chaos directory the report names; `sts chaos --keep` leaves the stack running to inspect',
    });
  }
}
