import type { Command } from 'commander';
import { registerBackup } from './backup.js';
import { registerBlockStorageParity } from './block-storage-parity.js';
import { registerCompletion } from './completion.js';
import { registerVaultExtra } from './vault-extra.js';
import { registerCbr } from './cbr.js';
import { registerCbrReplication } from './cbr-replication.js';
import { registerIdentity } from './identity.js';
import { registerRepo } from './repo.js';
import { registerSnapshot } from './snapshot.js';
import { registerVolume } from './volume.js';
import { registerVolumeAttachment } from './volume-attachment.js';
import { registerQuota } from './quota.js';
import { registerVolumeMessage } from './volume-message.js';
import { registerVolumeService } from './volume-service.js';
import { registerVolumeQos } from './volume-qos.js';
import { registerVolumeTransfer } from './volume-transfer.js';
import { registerVolumeGroup } from './volume-group.js';
import { registerVolumeType } from './volume-type.js';

/**
 * The client commands (python-openstackclient's shape) and the root options they share. Credentials come
 * from `--os-cloud`/`OS_CLOUD` and clouds.yaml (`OS_CLIENT_CONFIG_FILE`), or the `OS_*` variables; the
 * `--os-*` flags override the matching variables.
 */
export function registerClientCommands(program: Command): void {
  program
    .option('--os-cloud <name>', 'cloud in clouds.yaml (env OS_CLOUD)')
    .option('--os-region-name <region>', 'region (env OS_REGION_NAME)')
    .option('--os-auth-url <url>', 'Keystone URL (env OS_AUTH_URL)')
    .option('--os-username <name>', 'user name (env OS_USERNAME)')
    .option('--os-password <password>', 'password (env OS_PASSWORD)')
    .option('--os-project-name <name>', 'project name (env OS_PROJECT_NAME)')
    .option('--os-project-id <id>', 'project ID (env OS_PROJECT_ID)')
    .option('--os-user-domain-name <name>', 'user domain (env OS_USER_DOMAIN_NAME)')
    .option('--os-project-domain-name <name>', 'project domain (env OS_PROJECT_DOMAIN_NAME)')
    .option('--os-interface <interface>', 'endpoint interface (env OS_INTERFACE)')
    .option(
      '--os-volume-api-version <version>',
      'pin a block-storage microversion, e.g. 3.50 (env OS_VOLUME_API_VERSION)',
    )
    .option('--debug', 'log every HTTP request to stderr (credentials masked)')
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 API or configuration error, 2 usage error, 3 --wait failure or timeout.',
    );
  registerVolume(program);
  registerVolumeTransfer(program);
  registerVolumeAttachment(program);
  registerVolumeGroup(program);
  registerVolumeMessage(program);
  registerVolumeQos(program);
  registerVolumeType(program);
  registerVolumeService(program);
  registerQuota(program);
  registerSnapshot(program);
  registerBackup(program);
  registerBlockStorageParity(program);
  registerIdentity(program);
  registerCbr(program);
  registerVaultExtra(program);
  registerCbrReplication(program);
  registerRepo(program);
  registerCompletion(program);
}
