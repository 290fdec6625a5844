import { SCHEMAS_DIR } from '../../contracts/contract';
import type { ComponentStatus, Reporter } from '../../infra/component';
import { stackUp } from '../../infra/stack';
import type { StsConfig } from '../../runtime/config';
import { applyTopology } from '../../runtime/topology/apply';
import { assertTopology } from '../../runtime/topology/validate';
import { settlementTopology } from '../../topologies/settlement';

/**
 * `sts up` for this pipeline: the local stack's services (infra/), then the settlement topology
 * applied to them (migrations, topics, DLQs, schemas), under the stack's lock. The topology is
 * checked first, so a broken declaration fails before anything starts.
 */
export async function pipelineUp(config: StsConfig, report: Reporter): Promise<ComponentStatus[]> {
  assertTopology(settlementTopology, SCHEMAS_DIR);
  return stackUp(config, report, () => applyTopology(config, settlementTopology, SCHEMAS_DIR, report));
}
