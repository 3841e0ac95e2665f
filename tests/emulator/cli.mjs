#!/usr/bin/env node
// Starts one emulator for manual use and prints, as one line of JSON, its URLs and a freshly
// minted token response. Stays up until SIGTERM/SIGINT.
//
//   node tests/emulator/cli.mjs [--client-id ID] [--client-secret S] [--org-id 00D…]
//                               [--login-port N] [--instance-port N] [--policy '{"ipLock":true}']
import { parseArgs } from 'node:util';
import { startEmulator } from './index.mjs';

const { values } = parseArgs({
  options: {
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'org-id': { type: 'string' },
    'login-port': { type: 'string' },
    'instance-port': { type: 'string' },
    policy: { type: 'string' },
  },
});

const emu = await startEmulator({
  clientId: values['client-id'],
  clientSecret: values['client-secret'],
  orgId: values['org-id'],
  loginPort: Number(values['login-port'] ?? 0),
  instancePort: Number(values['instance-port'] ?? 0),
});
Object.assign(emu.policy, values.policy ? JSON.parse(values.policy) : {});

process.stdout.write(`${JSON.stringify({
  loginUrl: emu.loginUrl,
  instanceUrl: emu.instanceUrl,
  clientId: emu.clientId,
  orgId: emu.orgId,
  defaultUserId: emu.defaultUserId,
  policy: emu.policy,
  tokenResponse: await emu.mintTokenResponse(),
})}\n`);

async function shutdown() {
  await emu.close();
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
