export { loadConfig, type ServerConfig, type ConfigInput } from './config/config.js';
export { startServer, type RunningServer, type StartOptions } from './main.js';
