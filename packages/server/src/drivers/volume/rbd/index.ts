export { createRbdVolumeDriver, RbdVolumeDriver, type RbdVolumeDriverOptions } from './rbd-driver.js';
