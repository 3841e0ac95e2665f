// Placeholder demo (to be replaced by the real walkthrough): starts the Salesforce emulator if it exists
// and shows what the installed package exports. Runs from .scratch/consumer/ against the packed package.
import { existsSync } from 'node:fs';

const pkg = await import('salesforce-session');
console.log('salesforce-session exports:', Object.keys(pkg).sort().join(', '));
if (typeof pkg.version === 'function') console.log('salesforce-session version():', pkg.version());

const emulatorUrl = new URL('./tests/emulator/index.mjs', import.meta.url);
if (!existsSync(emulatorUrl)) {
  console.log('emulator: tests/emulator/index.mjs not written yet');
} else {
  const emulator = await import(emulatorUrl);
  console.log('emulator exports:', Object.keys(emulator).sort().join(', '));
  const start = emulator.startEmulator ?? emulator.start;
  if (typeof start === 'function') {
    const running = await start();
    console.log('emulator login host:', running?.loginUrl, 'instance:', running?.instanceUrl);
    await (running?.close ?? running?.stop)?.call(running);
  }
}
