import { randomBytes } from 'node:crypto';
import type { IdentityStore } from '../domain/ports/identity-store.js';
import type { MetadataStore } from '../domain/ports/metadata-store.js';
import type { ServiceStore } from '../domain/ports/service-store.js';
import { storedTime, type Clock } from '../domain/time.js';
import { hashToken } from './identity/tokens.js';

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

/**
 * Peers read over the shared database. Nodes share the token table, so a token this node writes is valid on every
 * node: no secret has to be configured between them. It is scoped to the bootstrap `admin` project (the only
 * identity every cluster is known to have), lives no longer than `ttlSeconds`, and is revoked as soon as the copy
 * ends; only its hash is stored.
 */
export function peerNodes(deps: { store: MetadataStore; services: ServiceStore; identity: IdentityStore; clock: Clock; ttlSeconds?: number }): PeerNodes {
  const ttl = deps.ttlSeconds ?? 3600;
  return {
    async urlOf(node) {
      const row = await deps.services.get(deps.store.root, node, 'cinder-scheduler');
      return row?.apiUrl ?? null;
    },
    async credential(purpose) {
      const root = deps.store.root;
      const domain = await deps.identity.domains.byId(root, 'default');
      const user = domain ? await deps.identity.users.byName(root, 'default', 'admin') : null;
      const project = domain ? await deps.identity.projects.byName(root, 'default', 'admin') : null;
      if (!user?.enabled || !project?.enabled) throw new Error(`no enabled bootstrap admin user and project to authenticate ${purpose} to another node`);
      const token = randomBytes(32).toString('base64url');
      const hash = hashToken(token);
      const now = deps.clock.now();
      await deps.identity.tokens.insert(root, {
        token_hash: hash,
        user_id: user.id,
        project_id: project.id,
        methods: ['token'],
        audit_id: randomBytes(16).toString('base64url').slice(0, 22),
        parent_audit_id: null,
        issued_at: storedTime(now),
        expires_at: storedTime(new Date(now.getTime() + ttl * 1000)),
        revoked: false,
      });
      return { token, projectId: project.id, release: () => deps.identity.tokens.revoke(root, hash) };
    },
  };
}
