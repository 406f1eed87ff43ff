export * from './generate.js';
export * from './html.js';
