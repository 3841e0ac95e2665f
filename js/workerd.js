// Cloudflare Workers entry: the runtime hands us the compiled module as an import.
import wasmModule from './salesforce_session_bg.wasm';
import { initSync } from './salesforce_session.js';
import { installWasm } from './core.js';

initSync({ module: wasmModule });
installWasm();

export { SessionManager, SalesforceSessionError, ErrorCodes, MemoryStore } from './core.js';

/** The wasm is ready at import here; `init()` exists so portable code can always call it. */
export async function init() {}
