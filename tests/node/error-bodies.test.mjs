// Error bodies are classified from a bounded prefix: a huge or never-ending body neither
// holds the call nor fills memory, and the caller still gets the whole original body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmu, makeManager, connectNew, API } from './helpers.mjs';

/** The real fetch, with the answer to `path` replaced by a 500 whose body is `body`. */
function answering(path, makeBody) {
  return async (url, init) => {
    const real = await fetch(url, init);
    if (!new URL(url).pathname.startsWith(path)) return real;
    return new Response(makeBody(), { status: 500, headers: { 'content-type': 'text/html' } });
  };
}

test('a 500 whose body never ends still comes back to the caller as a Response', async (t) => {
  const emu = await startEmu(t);
  let pulls = 0;
  const endless = () =>
    new ReadableStream({
      pull(controller) {
        pulls += 1;
        controller.enqueue(new TextEncoder().encode('<html>still going '));
        return new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
  const { sm } = makeManager(emu, { fetch: answering(`${API}/limits`, endless) });
  await connectNew(sm, emu);
  const res = await sm.fetch('acme', `${API}/limits`);
  assert.equal(res.status, 500);
  const reader = res.body.getReader();
  const first = await reader.read();
  assert.ok(new TextDecoder().decode(first.value).startsWith('<html>'), 'the caller reads the body from its start');
  await reader.cancel();
  assert.ok(pulls > 0);
});

test('a 50 MiB error body is handed back whole, and only its beginning is read to classify it', async (t) => {
  const emu = await startEmu(t);
  const size = 50 * 1024 * 1024;
  const chunk = new Uint8Array(1024 * 1024).fill(0x3c); // '<'
  let served = 0;
  const huge = () =>
    new ReadableStream({
      pull(controller) {
        if (served >= size) return controller.close();
        served += chunk.length;
        controller.enqueue(chunk);
      },
    });
  const { sm } = makeManager(emu, { fetch: answering(`${API}/limits`, huge) });
  await connectNew(sm, emu);
  const before = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  const res = await sm.fetch('acme', `${API}/limits`);
  const classified = performance.now() - started;
  const pulled = served;
  assert.equal(res.status, 500);
  assert.ok(pulled < size, `classifying pulled ${pulled} of ${size} bytes`);
  const whole = await res.arrayBuffer();
  assert.equal(whole.byteLength, size, 'the caller gets every byte');
  console.log(`# 50 MiB 500: classified in ${classified.toFixed(1)} ms after ${pulled} bytes pulled; arrayBuffers +${((process.memoryUsage().arrayBuffers - before) / 1048576).toFixed(1)} MiB (the caller's own copy included)`);
});
