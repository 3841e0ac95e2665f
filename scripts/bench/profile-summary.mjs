// Reads a V8 .cpuprofile and prints self time by source (the package's core.js, its wasm-bindgen
// glue, the wasm, Node's fetch, the emulator, …) and the heaviest functions of the package.
// For named wasm frames, profile a copy of the package whose .wasm kept its names (wasm-opt -g).
//   node bench/profile-summary.mjs FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

const [file, count = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function source(frame) {
  const url = frame.url ?? '';
  // The package's wasm is recognisable only with its name section kept (wasm-opt -g); Node's
  // fetch runs its HTTP parser (llhttp) as wasm too.
  if (url.includes('salesforce_session')) return url.includes('.wasm') ? 'package: wasm' : 'package: wasm-bindgen glue';
  if (url.startsWith('wasm://')) return 'wasm without names (llhttp, or the package when stripped)';
  if (url.includes('salesforce-session/core.js')) return 'package: core.js';
  if (url.includes('salesforce-session/')) return 'package: other js';
  if (url.includes('/tests/emulator/')) return 'emulator';
  if (url.includes('undici') || url.includes('internal/deps/undici')) return 'node fetch (undici)';
  if (url.startsWith('node:') || url.includes('internal/')) return 'node internals';
  if (!url) return `(${frame.functionName || 'native'})`;
  return 'other';
}

const parentOf = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
const keyOf = ({ callFrame }) => `${callFrame.functionName || '(anonymous)'}  ${callFrame.url.split('/').pop()}:${callFrame.lineNumber + 1}`;

const bySource = new Map();
const selfByFunction = new Map();
const totalByFunction = new Map();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  const src = source(node.callFrame);
  bySource.set(src, (bySource.get(src) ?? 0) + us);
  if (src.startsWith('package')) selfByFunction.set(keyOf(node), (selfByFunction.get(keyOf(node)) ?? 0) + us);
  // Total (inclusive) time: each package function on this sample's stack, once.
  const seen = new Set();
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const frame = byId.get(at);
    if (!source(frame.callFrame).startsWith('package')) continue;
    const key = keyOf(frame);
    if (seen.has(key)) continue;
    seen.add(key);
    totalByFunction.set(key, (totalByFunction.get(key) ?? 0) + us);
  }
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const top = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n\nself time by source:`);
for (const [src, us] of top(bySource)) console.log(`${pct(us)}  ${src}`);
console.log('\nthe package, by function, self time:');
for (const [fn, us] of top(selfByFunction)) console.log(`${pct(us)}  ${fn}`);
console.log('\nthe package, by function, total time (with callees):');
for (const [fn, us] of top(totalByFunction)) console.log(`${pct(us)}  ${fn}`);
