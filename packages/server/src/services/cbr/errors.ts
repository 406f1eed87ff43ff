import { DomainError, type ErrorKind } from '../../domain/errors.js';

/** A CBR error: `code` is the number of `BackupService.NNNN` from the spec's code table. */
export function cbrError(kind: ErrorKind, code: string, message: string): DomainError {
  return new DomainError(kind, message, { code: `BackupService.${code}` });
}

export const invalid = (message: string) => cbrError('badRequest', '9900', message);
export const refused = (code: string, message: string) => cbrError('badRequest', code, message);
export const missing = (code: string, message: string) => cbrError('notFound', code, message);

export const vaultNotFound = (id: string) => missing('6105', `Vault ${id} does not exist.`);
export const policyNotFound = (id: string) => missing('6000', `Policy ${id} does not exist.`);
export const backupNotFound = (id: string) => missing('6200', `Backup ${id} does not exist.`);
export const checkpointNotFound = (id: string) => missing('6217', `Restore point ${id} does not exist.`);
export const operationLogNotFound = (id: string) => missing('6500', `Operation log ${id} does not exist.`);
export const memberNotFound = (id: string) => missing('6705', `Share member ${id} does not exist.`);
export const diskNotFound = (id: string) => missing('7000', `Disk ${id} does not exist.`);
