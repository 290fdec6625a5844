import { StsError } from '../errors';

/**
 * Errors of the topology declaration. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** The topology declaration contradicts itself (a topic without a schema or DLQ, say). */
export class TopologyError extends StsError {
  constructor(problems: string[]) {
    super('STS_TOPOLOGY_INVALID', `topology is invalid:\n  - ${problems.join('\n  - ')}`, {
      context: { problems },
      fix: 'edit topologies/ so every topic has a schema and a DLQ, and every input is declared',
    });
  }
}
