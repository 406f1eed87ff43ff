/** Who is calling: resolved from a token by the identity service, consumed by every API family. */
export interface AuthContext {
  userId: string;
  userName: string;
  userDomainId: string;
  /** Null for an unscoped token; block-storage and CBR calls need a project. */
  projectId: string | null;
  projectName: string | null;
  projectDomainId: string | null;
  roles: { id: string; name: string }[];
  /** Cinder's `context_is_admin`: the caller holds role `admin` (in any project). */
  isAdmin: boolean;
  /** Role names, for policy checks. */
  roleNames: ReadonlySet<string>;
  expiresAt: Date;
}

export interface TokenValidator {
  /** Resolves a token; returns null when it is unknown, expired or revoked. Cached: no store query on a hit. */
  validate(token: string): Promise<AuthContext | null>;
  /**
   * The context of a token already validated and cached, or null (then `validate` decides): lets the request
   * path skip a promise per request. Same revocation semantics as `validate`.
   */
  cached?(token: string): AuthContext | null;
}
