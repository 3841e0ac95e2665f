// Placeholder core; replaced by the SessionManager wrapper.
import * as wasm from './salesforce_session.js';
let installed = false;
let lazyInit = null;
export function installWasm() { installed = true; }
export function setLazyInit(fn) { lazyInit = fn; }
export function version() { return wasm.version(); }
