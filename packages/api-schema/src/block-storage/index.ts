export * from './common.js';
export * from './requests.js';
