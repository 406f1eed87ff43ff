export { createQcow2VolumeDriver, Qcow2VolumeDriver, type Qcow2VolumeDriverOptions } from './qcow2-driver.js';
export { probeQemuImg } from './qemu.js';
