/** The raw driver against the manage conformance suite. */
import { runManageConformance } from '../manage-conformance.js';
import { createRawVolumeDriver } from './raw-driver.js';

runManageConformance('raw', (directory) => createRawVolumeDriver({ name: 'raw', directory }));
