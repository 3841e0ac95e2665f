// The two places the emulator runs for the load figures: in the bench's own process (client and
// server share one event loop) and in a child process of its own (node tests/emulator/cli.mjs).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../tests/emulator/index.mjs';

export const CLIENT_ID = 'test-client';
export const LIMITS_PATH = '/services/data/v62.0/limits';

const CLI = fileURLToPath(new URL('../tests/emulator/cli.mjs', import.meta.url));

/** { loginUrl, instanceUrl, tokens, clearLog(), close() } with the emulator in this process. */
export async function inProcessEmulator() {
  const emu = await startEmulator({ clientId: CLIENT_ID });
  return {
    where: 'in-process',
    loginUrl: emu.loginUrl,
    instanceUrl: emu.instanceUrl,
    tokens: await emu.mintTokenResponse(),
    // The log keeps every request; the load rounds would otherwise grow it without bound.
    clearLog: () => emu.clearLog(),
    close: () => emu.close(),
  };
}

/** The same, with the emulator in a child process, stopped by its pid. */
export async function childProcessEmulator() {
  const child = spawn(process.execPath, [CLI, '--client-id', CLIENT_ID], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = await new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      try {
        resolve(JSON.parse(buffered.slice(0, newline)));
      } catch (err) {
        reject(err);
      }
    };
    const onExit = (code, signal) => reject(new Error(`emulator process exited (${code ?? signal}) before it started`));
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    where: 'own process',
    pid: child.pid,
    loginUrl: started.loginUrl,
    instanceUrl: started.instanceUrl,
    tokens: started.tokenResponse,
    clearLog: () => {},
    close: async () => {
      process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}
