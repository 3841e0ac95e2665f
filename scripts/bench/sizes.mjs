// Sizes a user downloads: the installed .wasm (raw and gzip -9) and the packed tarball.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';

const require = createRequire(import.meta.url);

/** BENCH_TARBALL_DIR is set by scripts/bench.sh; from the consumer the build folder is ../../build. */
export function measureSizes() {
  const wasmPath = path.join(path.dirname(require.resolve('salesforce-session/package.json')), 'salesforce_session_bg.wasm');
  const wasm = readFileSync(wasmPath);
  const buildDir = process.env.BENCH_TARBALL_DIR ?? fileURLToPath(new URL('../../../build/', import.meta.url));
  let tarball = null;
  try {
    const name = readdirSync(buildDir).find((f) => f.endsWith('.tgz'));
    if (name) tarball = { name, bytes: statSync(path.join(buildDir, name)).size };
  } catch {
    // No build folder: the bench runs from somewhere else; the tarball figure is left out.
  }
  // The size budget (npm test) is measured with the gzip program; node's zlib packs the same
  // module a few hundred bytes larger, so both are shown.
  let wasmGzipCliBytes = null;
  try {
    wasmGzipCliBytes = execFileSync('gzip', ['-9', '-c', wasmPath], { maxBuffer: 64 << 20 }).length;
  } catch {
    // No gzip program: only zlib's figure.
  }
  return { wasmRawBytes: wasm.length, wasmGzipBytes: gzipSync(wasm, { level: 9 }).length, wasmGzipCliBytes, tarball };
}
