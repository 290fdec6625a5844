/** What `sts status` reports for each part of the local stack. */
export interface ComponentStatus {
  name: string;
  state: 'up' | 'down';
  address: string;
  version?: string;
  /** Round trip of one real request (metadata, query, PING), in milliseconds. */
  latencyMs?: number;
  /** True when this stack started the process (and `sts down` will stop it). */
  managed: boolean;
  pid?: number;
  detail?: string;
}

/** Progress lines for long steps (downloads, first start); the CLI prints them. */
export type Reporter = (line: string) => void;
