import crypto from 'node:crypto';
import { ConfigError } from '../../runtime/errors';

/**
 * Ops API tokens from STS_OPS_TOKENS: `token:role[:name]`, comma-separated. Tokens are kept only as
 * SHA-256 digests, so a heap dump or a log of this map never shows one, and lookups compare
 * digests rather than the secrets themselves.
 */
export type OpsRole = 'viewer' | 'operator' | 'admin';

export const ROLE_RANK: Readonly<Record<OpsRole, number>> = { viewer: 1, operator: 2, admin: 3 };

export interface OpsPrincipal {
  name: string;
  role: OpsRole;
}

export class OpsTokens {
  private constructor(private readonly byDigest: Map<string, OpsPrincipal>) {}

  static parse(spec: string): OpsTokens {
    const map = new Map<string, OpsPrincipal>();
    spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .forEach((entry, i) => {
        const [token, role, name] = entry.split(':');
        if (!token || token.length < 16) throw new ConfigError(`STS_OPS_TOKENS entry ${i + 1}: a token must be at least 16 characters`, 'generate one with: openssl rand -hex 24');
        if (role !== 'viewer' && role !== 'operator' && role !== 'admin') throw new ConfigError(`STS_OPS_TOKENS entry ${i + 1}: role must be viewer, operator or admin`, 'write entries as token:role[:name]');
        map.set(digest(token), { role, name: name || `${role}-${i + 1}` });
      });
    return new OpsTokens(map);
  }

  get size(): number {
    return this.byDigest.size;
  }

  resolve(token: string): OpsPrincipal | undefined {
    return this.byDigest.get(digest(token));
  }
}

const digest = (token: string) => crypto.createHash('sha256').update(token).digest('hex');
