// The installed package as a user meets it: its exports, its manifest, its files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
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
  for (const name of ['connect', 'fetch', 'connection', 'info', 'refresh', 'diagnose', 'disconnect', 'reauthRequired', 'evidence', 'mintedBy', 'onEvent', 'allowInsecureLoopback']) {
    assert.match(types, new RegExp(`\\b${name}\\b`), name);
  }
});
