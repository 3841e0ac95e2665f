// The installed package as a user meets it: its exports (every subpath resolves, imports in Node and
// ships its .d.ts in the tarball), its manifest, its files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as pkg from 'salesforce-session';
import { MemoryStore as MemoryStoreFromSubpath } from 'salesforce-session/stores/memory';

const require = createRequire(import.meta.url);
const manifestPath = require.resolve('salesforce-session/package.json');
const root = path.dirname(manifestPath);
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));

test('the entry exports the stable names', async () => {
  for (const name of ['SessionManager', 'MemoryStore', 'SalesforceSessionError', 'init']) {
    assert.equal(typeof pkg[name], 'function', name);
  }
  assert.equal(pkg.ErrorCodes.IP_LOCKED, 'IP_LOCKED');
  // MISSION.md's codes, every one of them (the list's one source is Rust's ErrorCode::ALL).
  assert.deepEqual(Object.keys(pkg.ErrorCodes), [
    'SESSION_EXPIRED', 'WRONG_INSTANCE_URL', 'IP_LOCKED', 'API_CLIENT_CONTROL', 'SESSION_REVOKED', 'ORG_READ_ONLY',
    'REFRESH_FAILED', 'RATE_LIMITED', 'API_DISABLED', 'UNKNOWN_CONNECTION', 'INVALID_TOKEN_RESPONSE', 'INVALID_CONFIG',
    'STORE_FAILED', 'REFRESH_IP_RESTRICTED', 'SALESFORCE_UNAVAILABLE',
  ]);
  await pkg.init();
  assert.ok(new pkg.SalesforceSessionError({ code: 'SESSION_EXPIRED', message: 'x' }) instanceof Error);
  assert.equal(MemoryStoreFromSubpath, pkg.MemoryStore);
});

test('the exports map loads the wasm the right way per runtime, with types first', () => {
  const main = manifest.exports['.'];
  assert.deepEqual(Object.keys(main), ['types', 'workerd', 'node', 'default']);
  for (const file of Object.values(main)) assert.ok(existsSync(path.join(root, file)), file);
  assert.equal(manifest.type, 'module');
  assert.ok(existsSync(path.join(root, 'salesforce_session_bg.wasm')));
  assert.match(readFileSync(path.join(root, main.workerd), 'utf8'), /import wasmModule from '\.\/salesforce_session_bg\.wasm'/);
  assert.equal(manifest.bin['salesforce-session'], './cli.js');
});

test('the type declarations name every public method', () => {
  const types = readFileSync(path.join(root, manifest.types), 'utf8');
  for (const name of ['connect', 'fetch', 'connection', 'info', 'refresh', 'diagnose', 'disconnect', 'reauthRequired', 'evidence', 'mintedBy', 'onEvent', 'allowInsecureLoopback', 'authorizeUrl', 'exchangeCode', 'connectJwt', 'connectClientCredentials', 'encryptionKey']) {
    assert.match(types, new RegExp(`\\b${name}\\b`), name);
  }
});

// What each subpath of the exports map is for a user: the specifier, the values it exports (the
// names its .d.ts declares, every one of them there at run time), and where `./stores/*` leads.
const STORE_MODULES = ['chrome', 'durable-object', 'memory', 'redis'];
const EXPECTED_VALUES = {
  'salesforce-session': ['ErrorCodes', 'MemoryStore', 'SalesforceSessionError', 'SessionManager', 'init'],
  'salesforce-session/stores/chrome': ['ChromeStorageStore'],
  'salesforce-session/stores/durable-object': ['DEFAULT_OBJECT_NAME', 'DurableObjectStore', 'SessionStoreObject'],
  'salesforce-session/stores/memory': ['MemoryStore'],
  'salesforce-session/stores/redis': ['RedisStore'],
};
// Exported by the runtime entries (they re-export core.js) for their own wiring; not part of the typed interface.

/** Every file in the tarball pack.sh installed (build/ of the repository), without the `package/` prefix. */
function tarballFiles() {
  const buildDir = path.resolve(root, '../../../../build');
  const tarballs = readdirSync(buildDir).filter((name) => /^salesforce-session-.*\.tgz$/.test(name));
  assert.equal(tarballs.length, 1, `one packed tarball in ${buildDir}: ${tarballs.join(', ')}`);
  const listing = spawnSync('tar', ['-tzf', path.join(buildDir, tarballs[0])], { encoding: 'utf8' });
  assert.equal(listing.status, 0, listing.stderr);
  return new Set(listing.stdout.split('\n').filter(Boolean).map((entry) => entry.replace(/^package\//, '')));
}

/** The names of values (classes, consts, functions, value re-exports) a declaration file exports. */
function declaredValues(file) {
  const text = readFileSync(file, 'utf8');
  const names = [...text.matchAll(/^export declare (?:class|const|function) (\w+)/gm)].map((m) => m[1]);
  for (const [, list] of text.matchAll(/^export \{([^}]+)\} from/gm)) {
    names.push(...list.split(',').map((name) => name.trim()).filter(Boolean));
  }
  return names.sort();
}

/** `./stores/*` expanded over the store modules, plus `.`: [specifier, exports entry (conditions)]. */
function moduleSubpaths() {
  const subpaths = [];
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (subpath === './package.json') continue;
    if (subpath.includes('*')) {
      for (const store of STORE_MODULES) {
        const expand = (value) => value.replace('*', store);
        subpaths.push([`salesforce-session${expand(subpath.slice(1))}`, Object.fromEntries(Object.entries(target).map(([k, v]) => [k, expand(v)]))]);
      }
    } else {
      subpaths.push([`salesforce-session${subpath.slice(1)}`, target]);
    }
  }
  return subpaths;
}

test('the exports map has exactly the entry, the four stores and package.json', () => {
  assert.deepEqual(Object.keys(manifest.exports), ['.', './stores/*', './package.json']);
  assert.deepEqual(Object.keys(manifest.exports['./stores/*']), ['types', 'default']);
  assert.deepEqual(moduleSubpaths().map(([specifier]) => specifier).sort(), Object.keys(EXPECTED_VALUES));
  // Every store module the package ships is one of them (none without its place in this test).
  const shippedStores = readdirSync(path.join(root, 'stores')).filter((name) => name.endsWith('.js')).map((name) => name.slice(0, -3));
  assert.deepEqual(shippedStores.sort(), STORE_MODULES);
  assert.equal(import.meta.resolve('salesforce-session/package.json'), pathToFileURL(manifestPath).href);
});

for (const [specifier, target] of moduleSubpaths()) {
  test(`${specifier} resolves, imports in Node and ships its .d.ts`, async () => {
    // Node picks `node` for the entry, `default` for the stores.
    const runtimeFile = target.node ?? target.default;
    const resolved = import.meta.resolve(specifier);
    assert.equal(resolved, pathToFileURL(path.join(root, runtimeFile)).href);
    const module = await import(specifier);
    const values = Object.keys(module).sort();
    const expected = EXPECTED_VALUES[specifier];
    // Exactly the public names: the entries' own wiring (installWasm, setLazyInit) stays inside.
    assert.deepEqual(values, expected);
    for (const name of expected) assert.notEqual(module[name], undefined, `${specifier} exports ${name}`);
    // The declarations ship in the tarball, and declare exactly the values the module exports.
    const files = tarballFiles();
    assert.ok(files.has(target.types.replace(/^\.\//, '')), `${target.types} is in the tarball`);
    assert.ok(files.has(runtimeFile.replace(/^\.\//, '')), `${runtimeFile} is in the tarball`);
    assert.deepEqual(declaredValues(path.join(root, target.types)), expected);
  });
}

test('the Durable Object store loads in Node and checks its namespace there as in workerd', async () => {
  const { DurableObjectStore } = await import('salesforce-session/stores/durable-object');
  assert.throws(() => new DurableObjectStore({ get() {} }), (err) => err instanceof pkg.SalesforceSessionError && err.code === 'INVALID_CONFIG');
  assert.throws(() => new DurableObjectStore(null), (err) => err instanceof pkg.SalesforceSessionError && err.code === 'INVALID_CONFIG');
});
