import type { ReconRule } from '../recon-types';
import { bankRail } from './bank-rail';
import { closedCycleBalance } from './closed-cycle-balance';
import { cycleAnomaly } from './cycle-anomaly';
import { dailyAvgPayout } from './daily-avg-payout';
import { dailyTakeRate } from './daily-take-rate';
import { duplicates } from './duplicates';
import { gatewayReport } from './gateway-report';
import { openCycleAccount } from './open-cycle-account';
import { outboxStuck } from './outbox-stuck';
import { paymentLedger } from './payment-ledger';
import { payoutSla } from './payout-sla';
import { uploadCounts } from './upload-counts';

/** Every rule, in the order a run checks them (and `sts recon run` lists them). */
export const RECON_RULES: readonly ReconRule[] = [
  closedCycleBalance,
  openCycleAccount,
  duplicates,
  payoutSla,
  gatewayReport,
  bankRail,
  paymentLedger,
  uploadCounts,
  outboxStuck,
  cycleAnomaly,
  dailyTakeRate,
  dailyAvgPayout,
];
