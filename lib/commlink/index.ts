export { CommlinkClient, type ClientOptions } from './client.js';
export { CommlinkServer } from './server.js';
export { Peer, type Body, type Handler, type Handlers, type RequestContext, type RequestOptions } from './peer.js';
export { KeyBag } from './keybag.js';
export { CommlinkError, RemoteError, Errors, defineError, isError, type ErrorDefinition } from './errors.js';
export { defaults, resolveOptions, optionsFromConfig, type CommlinkOptions, type CommlinkConfigSection } from './options.js';
export { SUITE_NAMES, DEFAULT_SUITE, type SuiteName } from './suites/index.js';
export type { Value } from './tobj/index.js';
