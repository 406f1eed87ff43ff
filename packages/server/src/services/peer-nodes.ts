import { DomainError } from '../domain/errors.js';
import type { MetadataStore } from '../domain/ports/metadata-store.js';
import type { ServiceStore } from '../domain/ports/service-store.js';
import type { TokenService } from './identity/tokens.js';

/** A credential for one call into another node's API, withdrawn once the call is done. */
export interface PeerCredential {
  token: string;
  /** The project the token is scoped to (the URL's project). */
  projectId: string;
  release(): Promise<void>;
}

/** How one node reaches another's API (issue #17: a node-local volume's bytes are read through its own node). */
export interface PeerNodes {
  /** The URL node `node` recorded at its start; null when it never did (an older node, or never started). */
  urlOf(node: string): Promise<string | null>;
  /** A short-lived admin token for reading a volume's bytes through a peer's data API. */
  credential(purpose: string): Promise<PeerCredential>;
}

/** What peers need of the token service (services/identity/tokens.ts). */
export type PeerTokens = Pick<TokenService, 'issueServiceToken' | 'revoke'>;

/**
 * Peers read over the shared database. The credential is a service token of the token service (the bootstrap admin
 * scoped to its `admin` project, valid on every node since nodes share the token table), lives no longer than
 * `ttlSeconds`, and is revoked through the token service as soon as the copy ends, so this process's token cache
 * forgets it at once too.
 */
export function peerNodes(deps: { store: MetadataStore; services: ServiceStore; tokens: PeerTokens; ttlSeconds?: number }): PeerNodes {
  const ttl = deps.ttlSeconds ?? 3600;
  return {
    async urlOf(node) {
      const row = await deps.services.get(deps.store.root, node, 'cinder-scheduler');
      return row?.apiUrl ?? null;
    },
    async credential(purpose) {
      const { token, projectId, auth } = await deps.tokens.issueServiceToken(purpose, ttl);
      return {
        token,
        projectId,
        async release() {
          try {
            await deps.tokens.revoke(auth, token);
          } catch (e) {
            // Already expired or revoked (a user or project change revokes its tokens): nothing is left to withdraw.
            if (!(e instanceof DomainError && e.status === 404)) throw e;
          }
        },
      };
    },
  };
}
