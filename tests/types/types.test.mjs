// The package's types as a TypeScript user meets them: tsc --noEmit --strict over a consumer of the
// whole public interface, with nodenext and with bundler resolution, against the packed package in
// the scratch consumer; and a file with deliberate type errors that tsc must refuse.
// Run from the scratch consumer: node --test tests/types/types.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const here = path.dirname(fileURLToPath(import.meta.url));
const installedTypes = path.dirname(require.resolve('salesforce-session/package.json'));
const TSC_TIMEOUT_MS = 60_000;

const RESOLUTIONS = [
  ['nodenext', ['--module', 'nodenext', '--moduleResolution', 'nodenext']],
  ['bundler', ['--module', 'esnext', '--moduleResolution', 'bundler']],
];

/** Runs tsc on one file; returns { status, output, files } (files: every file the program read). */
function typeCheck(file, resolutionArgs) {
  const run = spawnSync(process.execPath, [
    tsc, '--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022,dom', '--listFiles', '--pretty', 'false',
    ...resolutionArgs, path.join(here, file),
  ], { cwd: here, encoding: 'utf8', timeout: TSC_TIMEOUT_MS });
  assert.equal(run.error, undefined, `tsc did not run: ${run.error?.message}`);
  const output = `${run.stdout}${run.stderr}`;
  const files = output.split('\n').map((line) => line.trim()).filter((line) => line.endsWith('.ts'));
  return { status: run.status, output, files };
}

for (const [name, args] of RESOLUTIONS) {
  test(`the whole public interface type-checks under --strict (${name} resolution, packed package)`, () => {
    const { status, output, files } = typeCheck('consumer.ts', args);
    assert.equal(status, 0, output);
    // The declarations came from the installed tarball, entry and subpaths alike.
    for (const declaration of ['index.d.ts', 'stores/chrome.d.ts', 'stores/memory.d.ts', 'stores/redis.d.ts', 'stores/durable-object.d.ts']) {
      const expected = path.join(installedTypes, declaration);
      assert.ok(files.includes(expected), `${expected} not among the files tsc read:\n${files.join('\n')}`);
    }
  });

  test(`a file with deliberate type errors fails the check (${name} resolution)`, () => {
    const { status, output } = typeCheck('type-error.ts', args);
    assert.notEqual(status, 0, 'tsc accepted a file with type errors');
    const errors = output.split('\n').filter((line) => /error TS\d+/.test(line));
    assert.doesNotMatch(output, /TS2307/, 'the package resolved (the errors are the deliberate ones)');
    // Each deliberate error, at its line (type-error.ts names them in comments).
    for (const [line, code] of [[9, 'TS2345'], [11, 'TS2322'], [13, 'TS2551'], [15, 'TS2345'], [17, 'TS2322'], [19, 'TS2353'], [21, 'TS2345'], [23, 'TS2322'], [25, 'TS2741']]) {
      assert.ok(errors.some((e) => e.includes(`type-error.ts(${line},`) && e.includes(`error ${code}:`)), `${code} at line ${line} in:\n${errors.join('\n')}`);
    }
    assert.equal(errors.length, 9, errors.join('\n'));
  });
}
