/**
 * Service clients: endpoint, discovery, microversions.
 * @packageDocumentation
 */
export { parseVersions, pickVersion, splitVersionedUrl, type VersionEntry } from './discovery.js';
export {
  ServiceClient,
  type ServiceClientOptions,
  type ServiceInfo,
  type ServiceRequestOptions,
  substituteProject,
} from './service-client.js';
