export { FsObjectStore, type FsObjectStoreOptions, type FsStoreCounters } from './fs-object-store.js';
