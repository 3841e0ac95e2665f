#!/usr/bin/env node
// `npx salesforce-session doctor`: diagnoses a real org's connection from environment
// variables and prints the root cause and its fix. Never prints a token or a secret.
import { SessionManager, SalesforceSessionError } from './node.js';

const USAGE = `usage: salesforce-session doctor

Environment:
  SF_CLIENT_ID                  the connected app's consumer key (required)
  SF_CLIENT_SECRET              its consumer secret (optional; enables introspection)
  SF_LOGIN_URL                  default https://login.salesforce.com (test.salesforce.com or a My Domain)
  SF_REFRESH_TOKEN              a refresh token of the connection to check, or
  SF_TOKEN_RESPONSE             the token endpoint's JSON for it
  SF_SESSION_TIMEOUT_SECONDS    the org's session timeout (default 7200)
  SF_API_VERSION                REST API version for the probes (default 62.0)
  SF_ALLOW_INSECURE_LOOPBACK=1  allow http://127.0.0.1 hosts (emulators)

Exit status: 0 when the connection works, 1 when a root cause was found, 2 on bad usage.`;

const env = process.env;

function fail(message) {
  console.error(`salesforce-session doctor: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function printReport(report) {
  console.log(`cause:      ${report.cause} (confidence ${report.confidence})`);
  for (const check of report.checks ?? []) console.log(`check:      ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
  for (const line of report.evidence) console.log(`evidence:   ${line}`);
  console.log(`fix:        ${report.fix}`);
}

async function doctor() {
  if (!env.SF_CLIENT_ID) fail('SF_CLIENT_ID is not set');
  if (!env.SF_REFRESH_TOKEN && !env.SF_TOKEN_RESPONSE) fail('set SF_REFRESH_TOKEN or SF_TOKEN_RESPONSE');
  const loginUrl = env.SF_LOGIN_URL || 'https://login.salesforce.com';
  let sessions;
  try {
    sessions = new SessionManager({
      clientId: env.SF_CLIENT_ID,
      clientSecret: env.SF_CLIENT_SECRET || undefined,
      loginUrl,
      sessionTimeoutSeconds: env.SF_SESSION_TIMEOUT_SECONDS ? Number(env.SF_SESSION_TIMEOUT_SECONDS) : undefined,
      apiVersion: env.SF_API_VERSION || undefined,
      allowInsecureLoopback: env.SF_ALLOW_INSECURE_LOOPBACK === '1',
      instanceId: 'doctor',
    });
  } catch (error) {
    if (error instanceof SalesforceSessionError) fail(`${error.message} (${error.evidence.join('; ')})`);
    throw error;
  }
  try {
    // Every refusal is the library's own classification, as for any refresh.
    if (env.SF_TOKEN_RESPONSE) await sessions.connect('doctor', env.SF_TOKEN_RESPONSE);
    else await sessions.connectRefreshToken('doctor', env.SF_REFRESH_TOKEN);
  } catch (error) {
    if (!(error instanceof SalesforceSessionError)) throw error;
    printReport({ cause: error.code, confidence: 'high', evidence: error.evidence, fix: error.fix });
    return 1;
  }
  const report = await sessions.diagnose('doctor');
  printReport(report);
  return report.cause === 'OK' ? 0 : 1;
}

const [command] = process.argv.slice(2);
if (command !== 'doctor') fail(command ? `unknown command '${command}'` : 'no command');
process.exitCode = await doctor();
