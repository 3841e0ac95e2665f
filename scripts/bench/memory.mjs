// Memory for many connections in one instance, each library in a fresh process of its own
// (memory-probe.mjs), so that nothing another section allocated moves the figures.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url));
const CONSUMER_DIR = fileURLToPath(new URL('../', import.meta.url));

export function measureMemory(count) {
  const out = {};
  for (const kind of ['package', 'package-read', 'jsforce']) {
    const run = spawnSync(process.execPath, ['--expose-gc', PROBE, kind, String(count)], { cwd: CONSUMER_DIR, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`memory probe (${kind}) failed: ${run.stderr.trim().split('\n').at(-1)}`);
    out[kind] = JSON.parse(run.stdout.trim().split('\n')[0]);
  }
  return out;
}
