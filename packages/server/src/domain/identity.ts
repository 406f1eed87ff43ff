/**
 * Identity records as the store keeps them (the Keystone subset): column names, 0/1 flags as booleans, JSON
 * columns parsed. The services turn them into the views the API renders.
 */
export interface DomainRecord {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  created_at: string;
}

export interface ProjectRecord {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  enabled: boolean;
  /** Keystone makes a top-level project a child of its domain, so this is the domain id for those. */
  parent_id: string | null;
  is_domain: boolean;
  tags: string[];
  options: Record<string, unknown>;
  /** Attributes Keystone does not know, kept and echoed back as Keystone does. */
  extra: Record<string, unknown>;
  created_at: string;
}

export interface UserRecord {
  id: string;
  name: string;
  domain_id: string;
  default_project_id: string | null;
  /** `scrypt$N$r$p$salt$key`; null for a user without a password. */
  password_hash: string | null;
  email: string | null;
  description: string | null;
  enabled: boolean;
  options: Record<string, unknown>;
  extra: Record<string, unknown>;
  password_expires_at: string | null;
  created_at: string;
}

export interface RoleRecord {
  id: string;
  name: string;
  domain_id: string | null;
  description: string | null;
  created_at: string;
}

/** A direct grant of a role to a user on a project. */
export interface Grant {
  project_id: string;
  user_id: string;
  role_id: string;
}

/** A grant with the names of everything it refers to, as `GET /role_assignments` shows it. */
export interface GrantWithNames extends Grant {
  user_name: string;
  user_domain_id: string;
  user_domain_name: string;
  project_name: string;
  project_domain_id: string;
  project_domain_name: string;
  role_name: string;
}

/** A stored token: only its hash is kept, never the secret. */
export interface TokenRecord {
  token_hash: string;
  user_id: string;
  project_id: string | null;
  methods: string[];
  audit_id: string;
  parent_audit_id: string | null;
  issued_at: string;
  expires_at: string;
  revoked: boolean;
}

/** A user or project with its domain, read in one query when a token is validated. */
export interface InDomain {
  id: string;
  name: string;
  enabled: boolean;
  domain_id: string;
  domain_name: string;
  domain_enabled: boolean;
}

export interface UserInDomain extends InDomain {
  password_expires_at: string | null;
}

/** An insert or rename that would give two entities the same unique key (a name in a domain, say). */
export class DuplicateEntry extends Error {
  constructor(what: string) {
    super(`duplicate ${what}`);
    this.name = 'DuplicateEntry';
  }
}
