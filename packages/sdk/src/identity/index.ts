/**
 * Identity (Keystone v3): projects, users, roles, role assignments, domains.
 * @packageDocumentation
 */
export { IdentityV3, type IdentityDeleteOptions, type RoleAssignmentQuery } from './proxy.js';
export {
  Domain,
  type DomainAttributes,
  Project,
  type ProjectAttributes,
  Role,
  type RoleAssignmentAttributes,
  RoleAssignment,
  type RoleAttributes,
  User,
  type UserAttributes,
} from './resources.js';
