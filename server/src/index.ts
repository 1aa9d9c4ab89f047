export { createServer, type TabswarmServer, type ServerDeps } from './create-server.ts';
export { DEFAULT_CONFIG, resolveConfig, ConfigError, type ServerConfig } from './config.ts';
