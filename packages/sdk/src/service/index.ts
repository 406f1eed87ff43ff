/**
 * Service clients: endpoint, discovery, microversions.
 * @packageDocumentation
 */
export { type VersionEntry, parseVersions, pickVersion, splitVersionedUrl } from './discovery.js';
export {
  ServiceClient,
  type ServiceClientOptions,
  type ServiceInfo,
  type ServiceRequestOptions,
  substituteProject,
} from './service-client.js';
