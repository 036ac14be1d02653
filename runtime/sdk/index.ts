// The recoverable component SDK (paper §3.5–3.6, §7.1): what a global
// application imports. See docs/sdk.md.
export { McsComponent, Recovering, Unrecoverable, Tx, type ComponentOptions, type RecoveryContext, type RecoveryStatus } from './component';
export { globalSpace, localSpace, type Area, type ComponentSpace, type Region } from './space';
export { LocalMutex, type Lockable } from './local-mutex';
export { LocalMemory, type Memory } from './memory';
