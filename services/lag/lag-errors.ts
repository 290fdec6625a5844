import { StsError } from '../../runtime/errors';

/**
 * Errors of lag alerting. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** The lag alert webhook did not accept a post. Retriable: the alerter posts again next sample. */
export class AlertDeliveryError extends StsError {
  constructor(detail: string, cause?: unknown) {
    super('STS_ALERT_DELIVERY_FAILED', `lag alert webhook: ${detail}`, {
      context: { component: 'lag-alerter' },
      fix: 'check STS_ALERT_WEBHOOK_URL and that the receiver answers 2xx to a JSON POST',
      cause,
    });
  }
}
