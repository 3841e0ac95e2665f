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

/** The first token comes from a refresh the doctor makes itself: nothing is stored yet to refresh from. */
async function firstTokenResponse(loginUrl) {
  if (env.SF_TOKEN_RESPONSE) return env.SF_TOKEN_RESPONSE;
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: env.SF_REFRESH_TOKEN, client_id: env.SF_CLIENT_ID, format: 'json' });
  if (env.SF_CLIENT_SECRET) form.set('client_secret', env.SF_CLIENT_SECRET);
  let response;
  try {
    response = await fetch(`${loginUrl.replace(/\/+$/, '')}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
      redirect: 'manual',
    });
  } catch (error) {
    return { failure: { cause: 'REFRESH_FAILED', confidence: 'medium', evidence: [`the token endpoint could not be reached: ${error.message}`], fix: 'Check SF_LOGIN_URL and the network path to it, then run the doctor again.' } };
  }
  const body = await response.text();
  if (response.status === 200) {
    const parsed = JSON.parse(body);
    parsed.refresh_token ??= env.SF_REFRESH_TOKEN;
    return JSON.stringify(parsed);
  }
  return { failure: classifyRefusal(response.status, body) };
}

/** What a refused first refresh means (SALESFORCE.md §2); later refreshes are the library's. */
function classifyRefusal(status, body) {
  let error = {};
  try {
    error = JSON.parse(body);
  } catch {
    /* an HTML page or garbage: transient */
  }
  const description = typeof error.error_description === 'string' ? error.error_description : '';
  const quoted = `token endpoint answered HTTP ${status}${error.error ? ` ${error.error}: "${description}"` : ''}`;
  if (status >= 500 || !error.error) {
    return { cause: 'REFRESH_FAILED', confidence: 'medium', evidence: [quoted], fix: "Salesforce's token endpoint is unavailable: run the doctor again later." };
  }
  if (error.error === 'invalid_grant' && /already being processed/i.test(description)) {
    return { cause: 'REFRESH_FAILED', confidence: 'low', evidence: [quoted, 'another refresh with this token was in flight (transient)'], fix: 'Run the doctor again in a few seconds.' };
  }
  if (error.error === 'invalid_grant' || error.error === 'inactive_user' || error.error === 'inactive_org') {
    return { cause: 'SESSION_REVOKED', confidence: 'high', evidence: [quoted], fix: 'The user must authorize the app again; then store the new token response.' };
  }
  if (error.error === 'rate_limit_exceeded') {
    return { cause: 'RATE_LIMITED', confidence: 'high', evidence: [quoted], fix: 'Wait for the login rate limit to reset, then run the doctor again.' };
  }
  return { cause: 'INVALID_CONFIG', confidence: 'high', evidence: [quoted], fix: 'Check SF_CLIENT_ID and SF_CLIENT_SECRET against the connected app, and that it allows the refresh token flow.' };
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
  const first = await firstTokenResponse(loginUrl);
  if (typeof first === 'object') {
    printReport(first.failure);
    return 1;
  }
  try {
    await sessions.connect('doctor', first);
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
