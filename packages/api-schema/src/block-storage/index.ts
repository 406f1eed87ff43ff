export * from './common.js';
export * from './requests.js';
export * from './responses.js';
export * from './operations.js';
export * from './admin-requests.js';
export * from './repository.js';
export * from './admin-responses.js';
