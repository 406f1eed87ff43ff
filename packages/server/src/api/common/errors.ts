import type { DomainError, ErrorKind } from '../../domain/errors.js';

export type Dialect = 'cinder' | 'keystone' | 'cbr';

const CINDER_FAULT: Partial<Record<ErrorKind, string>> = {
  badRequest: 'badRequest',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  notFound: 'itemNotFound',
  badMethod: 'badMethod',
  conflict: 'conflictingRequest',
  overLimit: 'overLimit',
  badMediaType: 'badMediaType',
  notImplemented: 'notImplemented',
  serviceUnavailable: 'serviceUnavailable',
};

const KEYSTONE_TITLE: Partial<Record<ErrorKind, string>> = {
  badRequest: 'Bad Request',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  notFound: 'Not Found',
  badMethod: 'Method Not Allowed',
  notAcceptable: 'Not Acceptable',
  conflict: 'Conflict',
  overLimit: 'Request Entity Too Large',
  badMediaType: 'Unsupported Media Type',
  notImplemented: 'Not Implemented',
  serviceUnavailable: 'Service Unavailable',
  internal: 'Internal Server Error',
};

/** CBR's generic codes by kind, used when a service did not name a specific one. */
const CBR_CODE: Partial<Record<ErrorKind, string>> = {
  badRequest: 'BackupService.0001',
  unauthorized: 'BackupService.8600',
  forbidden: 'BackupService.8600',
  notFound: 'BackupService.0002',
  conflict: 'BackupService.0003',
  overLimit: 'BackupService.0004',
  internal: 'BackupService.9999',
};

export function dialectOf(url: string): Dialect {
  if (url.startsWith('/identity')) return 'keystone';
  if (url.startsWith('/cbr')) return 'cbr';
  return 'cinder';
}

export function errorBody(dialect: Dialect, err: DomainError): unknown {
  switch (dialect) {
    case 'keystone':
      return { error: { code: err.status, title: KEYSTONE_TITLE[err.kind] ?? 'Error', message: err.message } };
    case 'cbr':
      return { error_code: err.code ?? CBR_CODE[err.kind] ?? 'BackupService.9999', error_msg: err.message };
    default: {
      const fault = CINDER_FAULT[err.kind] ?? 'computeFault';
      const body: Record<string, unknown> = { code: err.status, message: err.message };
      if (err.retryAfter !== undefined) body.retryAfter = String(err.retryAfter);
      return { [fault]: body };
    }
  }
}
