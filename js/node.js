// Node entry: read the wasm bytes next to this file and instantiate synchronously.
import { readFileSync } from 'node:fs';
import { initSync } from './salesforce_session.js';
import { installWasm } from './core.js';

initSync({ module: readFileSync(new URL('./salesforce_session_bg.wasm', import.meta.url)) });
installWasm();

export { SessionManager, SalesforceSessionError, ErrorCodes, MemoryStore } from './core.js';

/** The wasm is ready at import here; `init()` exists so portable code can always call it. */
export async function init() {}
