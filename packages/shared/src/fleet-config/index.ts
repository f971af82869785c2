/** The fleet config (CONTRACT.md, "Routes and deployments"): its types, file, hash, public view and hot reload. */
export { fleetConfigHash } from './hash.ts';
export { implicitFleetConfig } from './implicit.ts';
export { fleetConfigPath, loadFleetConfig, readFleetConfigFile } from './load.ts';
export { FleetConfigError, type ParseOptions, parseFleetConfig } from './parse.ts';
export { type RedactedDeployment, type RedactedFleetConfig, type RedactedRoute, redactFleetConfig } from './redact.ts';
export { type FleetConfigChange, FleetConfigSource, type FleetConfigSourceOptions, type ReloadOutcome } from './source.ts';
export * from './types.ts';
