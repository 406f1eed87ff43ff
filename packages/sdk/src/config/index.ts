/**
 * Configuration loading (clouds.yaml, secure.yaml, clouds-public.yaml, OS_* variables).
 * @packageDocumentation
 */
export type { CloudConfig, ServiceConfig } from './cloud-config.js';
export { cloudFromEnv } from './env.js';
export {
  type LoadCloudConfigOptions,
  SERVICE_KEY_PREFIXES,
  authOptionsFromConfig,
  loadCloudConfig,
  loadFirstFile,
  serviceKey,
} from './loader.js';
export { normalizeCloud } from './normalize.js';
export { type SearchPathOptions, configCandidates, configSearchDirs } from './paths.js';
