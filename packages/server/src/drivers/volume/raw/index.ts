export { createRawVolumeDriver, RawVolumeDriver, type RawVolumeDriverOptions } from './raw-driver.js';
