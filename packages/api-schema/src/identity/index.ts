export * from './requests.js';
export * from './operations.js';
