/** @switchyard/cli as a library: the HTTP client and the command line's entry function. */

export { HELP, main } from './cli.ts';
export { ApiError, NetworkError, type Submitted, SwitchyardClient } from './client.ts';
