// Helpers for the root-cause suites: fetches bound to a source address (workers behind different
// egress IPs), a webhook receiver, and checks every event and error must pass.
import assert from 'node:assert/strict';
import http from 'node:http';
import { Agent, fetch as undiciFetch } from 'undici';
import { collectSecrets, findLeaks } from './helpers.mjs';

/**
 * A fetch whose connections leave from `localAddress` (e.g. 127.0.0.2), so the emulator sees the
 * worker's own IP. The agent is closed when the test ends.
 * (undici 6 takes localAddress as a top-level Agent option; `connect: { localAddress }` is ignored.)
 */
export function fetchFrom(t, localAddress) {
  const { fetch, close } = fetchFromAddress(localAddress);
  t.after(close);
  return fetch;
}

/** The same outside a test (a fleet process): `{ fetch, close() }`, closing being the caller's. */
export function fetchFromAddress(localAddress) {
  const agent = new Agent({ localAddress });
  return {
    fetch: (input, init = {}) => undiciFetch(input, { ...init, dispatcher: agent }),
    close: () => agent.close(),
  };
}

/**
 * A loopback HTTP server that records every request with its raw body and answers `status`.
 * Closed when the test ends.
 */
export async function startWebhookReceiver(t, status = 200) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { url: `http://127.0.0.1:${server.address().port}`, requests };
}

/** Every event carries type, connectionId, orgId, userId and at (epoch ms from the configured clock). */
export function assertEventShapes(events, emu, { startedAt = 0 } = {}) {
  assert.ok(events.length > 0, 'some events were emitted');
  for (const e of events) {
    const where = JSON.stringify(e);
    assert.equal(typeof e, 'object', where);
    assert.equal(typeof e.type, 'string', where);
    assert.ok(e.type.length > 0, where);
    assert.equal(typeof e.connectionId, 'string', where);
    assert.ok(e.connectionId.length > 0, where);
    assert.equal(e.orgId, emu.orgId, where);
    assert.match(e.userId, /^005[A-Za-z0-9]{15}$/, where);
    assert.equal(typeof e.at, 'number', where);
    assert.ok(Number.isFinite(e.at) && e.at >= startedAt && e.at <= emu.now(), `at is on the configured clock: ${where}`);
  }
}

/** What every thrown SalesforceSessionError must carry besides its code. */
export function assertExplained(err) {
  assert.ok(Array.isArray(err.evidence) && err.evidence.length > 0, `${err.code}: evidence is non-empty`);
  for (const line of err.evidence) {
    assert.equal(typeof line, 'string');
    assert.ok(line.trim().length > 0, `${err.code}: no blank evidence line`);
  }
  assert.equal(typeof err.fix, 'string');
  assert.ok(err.fix.trim().length > 10, `${err.code}: the fix is a sentence, got ${JSON.stringify(err.fix)}`);
  assert.equal(typeof err.retryable, 'boolean');
  assert.equal(typeof err.reauthRequired, 'boolean');
}

/** A diagnosis ({cause, confidence, evidence, fix}) naming `cause`. */
export function assertDiagnosis(d, cause) {
  assert.equal(d.cause, cause, JSON.stringify(d));
  assert.ok(['high', 'medium', 'low'].includes(d.confidence), JSON.stringify(d));
  assert.ok(Array.isArray(d.evidence) && d.evidence.length > 0, `evidence is non-empty: ${JSON.stringify(d)}`);
  assert.ok(d.evidence.every((l) => typeof l === 'string' && l.trim().length > 0), JSON.stringify(d));
  assert.equal(typeof d.fix, 'string');
  assert.ok(d.fix.trim().length > 10, `the fix is a sentence: ${JSON.stringify(d)}`);
}

/** No token or secret the emulator handed out (plus `extra`) in any of the labelled values. */
export function assertNoLeaks(emu, labelled, extra = []) {
  const leaks = findLeaks(collectSecrets(emu, extra), labelled);
  assert.deepEqual(leaks, [], `secrets found in: ${leaks.map((l) => l.where).join(', ')}`);
}

/** The emulator's view of a token: the address the session was minted from, or null. */
export function sourceOf(emu, accessToken) {
  return emu.sessions().find((s) => s.accessToken === accessToken)?.sourceAddress ?? null;
}
