import type { CbrStores } from '../../domain/ports/cbr-store.js';
import { cbrBackupRepository } from './cbr-backups.js';
import { cbrCheckpointRepository } from './cbr-checkpoints.js';
import { cbrMemberRepository } from './cbr-members.js';
import { cbrOperationLogRepository } from './cbr-operation-logs.js';
import { cbrPolicyRepository } from './cbr-policies.js';
import { cbrVaultRepository } from './cbr-vaults.js';


/** CBR's repositories; each method takes the scope (store or transaction) it runs in. */
export function cbrStores(): CbrStores {
  return {
    vaults: cbrVaultRepository(),
    policies: cbrPolicyRepository(),
    checkpoints: cbrCheckpointRepository(),
    backups: cbrBackupRepository(),
    members: cbrMemberRepository(),
    operationLogs: cbrOperationLogRepository(),
  };
}
