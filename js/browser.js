// Browser and extension service worker entry: the wasm is fetched lazily on first use,
// or eagerly with `await init()` (service workers cannot use top-level await).
import initWasm from './salesforce_session.js';
import { installWasm, setLazyInit } from './core.js';

let ready;
/** Loads the wasm module; safe to call more than once. */
export function init(input) {
  ready ??= initWasm(input === undefined ? undefined : { module_or_path: input }).then(() => installWasm());
  return ready;
}
setLazyInit(init);

export { SessionManager, SalesforceSessionError, ErrorCodes, MemoryStore } from './core.js';
