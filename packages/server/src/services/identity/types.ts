/** Identity entities as the services hand them to the API layer (which renders Keystone's wire format). */
export interface Domain {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
}

export interface Project {
  id: string;
  name: string;
  domainId: string;
  description: string;
  enabled: boolean;
  /** Keystone makes a top-level project a child of its domain, so this is the domain id for those. */
  parentId: string | null;
  isDomain: boolean;
  tags: string[];
  options: Record<string, unknown>;
  /** Attributes Keystone does not know, kept and echoed back as Keystone does. */
  extra: Record<string, unknown>;
}

export interface User {
  id: string;
  name: string;
  domainId: string;
  defaultProjectId: string | null;
  email: string | null;
  description: string | null;
  enabled: boolean;
  options: Record<string, unknown>;
  extra: Record<string, unknown>;
  passwordExpiresAt: string | null;
}

export interface Role {
  id: string;
  name: string;
  domainId: string | null;
  description: string | null;
}

export interface NamedRef {
  id: string;
  name: string;
}

export interface DomainRef extends NamedRef {
  domain: NamedRef;
}

export interface RoleAssignment {
  user: DomainRef;
  project: DomainRef;
  role: NamedRef;
}

/** Everything a token response body shows. `token` (the secret) is set only when it was just issued. */
export interface TokenInfo {
  token?: string;
  methods: string[];
  /** [own audit id, audit id of the token it was re-scoped from]. */
  auditIds: string[];
  issuedAt: string;
  expiresAt: string;
  user: DomainRef & { passwordExpiresAt: string | null };
  project: DomainRef | null;
  roles: NamedRef[];
}
