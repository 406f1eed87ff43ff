/**
 * Configuration loading (clouds.yaml, secure.yaml, clouds-public.yaml, OS_* variables).
 * @packageDocumentation
 */
export type { CloudConfig, ServiceConfig } from './cloud-config.js';
export { cloudFromEnv } from './env.js';
export {
  authOptionsFromConfig,
  type LoadCloudConfigOptions,
  loadCloudConfig,
  loadFirstFile,
  SERVICE_KEY_PREFIXES,
  serviceKey,
} from './loader.js';
export { normalizeCloud } from './normalize.js';
export { configCandidates, configSearchDirs, type SearchPathOptions } from './paths.js';
