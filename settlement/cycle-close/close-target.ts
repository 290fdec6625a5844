import { cycleBounds, cycleIdFor } from '../../runtime/billing/cycle-calendar';
import { CloseRefusedError } from './close-errors';
import { regionInfo } from '../../runtime/money/regions';

/**
 * Which cycle a close (or its preview) is about: the region's cycle that ends at `cutoff`, by
 * default the latest that has ended. One function for both, so a preview is always of the cycle
 * the same close would close.
 *
 *   failures STS_CLOSE_REFUSED (unknown region, a cutoff that is no cycle boundary, a cycle that
 *            has not ended)
 */
export interface CloseTarget {
  region: string;
  cycleId: bigint;
  cutoff: Date;
}

export function closeTarget(
  regionName: string,
  cutoffOpt: Date | undefined,
  now: Date,
): CloseTarget {
  const region = regionName.toUpperCase();
  if (!regionInfo(region))
    throw new CloseRefusedError(
      `unknown region ${regionName}`,
      'use one of SG, MY, TH, VN, ID, PH, TW, BR',
    );
  const cutoff = cutoffOpt ?? cycleBounds(region, cycleIdFor(region, now)).startsAt;
  const cycleId = cycleIdFor(region, new Date(cutoff.getTime() - 1));
  const bounds = cycleBounds(region, cycleId);
  if (bounds.cutoffAt.getTime() !== cutoff.getTime()) {
    throw new CloseRefusedError(
      `${cutoff.toISOString()} is not a cycle cutoff in ${region}`,
      `cutoffs are Monday 00:00 local; the nearest earlier one is ${bounds.startsAt.toISOString()}`,
      { region },
    );
  }
  if (cutoff.getTime() > now.getTime()) {
    throw new CloseRefusedError(
      `cycle ${cycleId} of ${region} runs until ${cutoff.toISOString()}; it cannot close before it ends`,
      'close it after the cutoff, or give an earlier --cutoff',
      { region },
    );
  }
  return { region, cycleId, cutoff };
}
