// The one error class of the package. Its fields are the stable contract; it never
// carries a token or a secret (the Rust side builds its evidence without them).

/** Stable error codes. */
export const ErrorCodes = Object.freeze({
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  WRONG_INSTANCE_URL: 'WRONG_INSTANCE_URL',
  IP_LOCKED: 'IP_LOCKED',
  API_CLIENT_CONTROL: 'API_CLIENT_CONTROL',
  SESSION_REVOKED: 'SESSION_REVOKED',
  ORG_READ_ONLY: 'ORG_READ_ONLY',
  REFRESH_FAILED: 'REFRESH_FAILED',
  RATE_LIMITED: 'RATE_LIMITED',
  API_DISABLED: 'API_DISABLED',
  UNKNOWN_CONNECTION: 'UNKNOWN_CONNECTION',
  INVALID_TOKEN_RESPONSE: 'INVALID_TOKEN_RESPONSE',
  INVALID_CONFIG: 'INVALID_CONFIG',
  STORE_FAILED: 'STORE_FAILED',
  REFRESH_IP_RESTRICTED: 'REFRESH_IP_RESTRICTED',
  SALESFORCE_UNAVAILABLE: 'SALESFORCE_UNAVAILABLE',
});

export class SalesforceSessionError extends Error {
  /**
   * @param {{code: string, message: string, connectionId?: string|null, orgId?: string|null, status?: number|null,
   *          retryable?: boolean, reauthRequired?: boolean, evidence?: string[], fix?: string}} record
   */
  constructor(record) {
    super(`${record.code}: ${record.message}`);
    this.name = 'SalesforceSessionError';
    this.code = record.code;
    this.connectionId = record.connectionId ?? null;
    this.orgId = record.orgId ?? null;
    this.status = record.status ?? null;
    this.retryable = Boolean(record.retryable);
    this.reauthRequired = Boolean(record.reauthRequired);
    this.evidence = Array.isArray(record.evidence) ? [...record.evidence] : [];
    this.fix = record.fix ?? '';
  }
}

/**
 * The default fix of each code: one sentence a person can act on. The wasm module leaves a
 * default fix empty and it is filled in here, so the sentences ship once (src/error.rs holds
 * the same ones for the Rust side, and a test there keeps the two the same).
 */
export const DEFAULT_FIXES = Object.freeze({
  SESSION_EXPIRED: "The session timed out and the connection has no refresh token: run the OAuth flow again with the refresh_token (or offline_access) scope, or configure a JWT bearer flow.",
  WRONG_INSTANCE_URL: "Send API calls only to the instance_url from the latest token response (pass a path such as /services/data/v62.0/... and let the library resolve it).",
  IP_LOCKED: "In Setup > Session Settings, turn off 'Lock sessions to the IP address from which they originated', or give every worker one stable egress IP.",
  API_CLIENT_CONTROL: "An admin must install the connected app (Setup > Connected Apps OAuth Usage > Install) or grant the user 'Use Any API Client' (API Access Control); if the app or profile requires High Assurance sessions, the user must log in with MFA and authorize again.",
  SESSION_REVOKED: "The user must authorize the app again; then pass the new token response to connect().",
  ORG_READ_ONLY: "The org is in maintenance or read-only mode: hold writes for this org and retry them after maintenance; reads keep working.",
  REFRESH_FAILED: "Salesforce's token endpoint is unavailable: retry later; the stored credential was kept.",
  RATE_LIMITED: "Wait for the org's API or login limit to reset (see Setup > Company Information or the Sforce-Limit-Info header), or spread the calls out.",
  API_DISABLED: "Enable the API for the org's edition and give the user the 'API Enabled' permission.",
  UNKNOWN_CONNECTION: "Call connect(connectionId, tokenResponse) before using the connection.",
  INVALID_TOKEN_RESPONSE: "Pass the JSON body of a successful Salesforce token response (with access_token, instance_url, id and issued_at).",
  INVALID_CONFIG: "Correct the option or argument named in the evidence.",
  STORE_FAILED: "Check the store passed in the options (it must provide get, put and delete returning promises) and its backend.",
  REFRESH_IP_RESTRICTED: "Add this worker's egress IP ranges to the connected app's refresh-token IP allowlist, or send token requests through one allow-listed egress.",
  SALESFORCE_UNAVAILABLE: "Salesforce is answering with an outage page: check status.salesforce.com (or whether the org still exists) and retry later.",
});

/** An error raised on the JavaScript side of the boundary (argument checks). */
export function sessionError(code, message, evidence = [], extra = {}) {
  return new SalesforceSessionError({
    code,
    message,
    evidence,
    fix: DEFAULT_FIXES[code] ?? '',
    retryable: false,
    reauthRequired: false,
    ...extra,
  });
}

/** Turns what the wasm side rejected with into what callers catch. */
export function fromWasm(thrown) {
  if (thrown && typeof thrown === 'object' && thrown.kind === 'SalesforceSessionError') {
    const error = new SalesforceSessionError(thrown);
    error.fix ||= DEFAULT_FIXES[error.code] ?? '';
    if (error.code === 'STORE_FAILED') explainEncryption(error);
    return error;
  }
  return thrown;
}

/** A stored value the encryption layer could not read: the fix names the key id it was written under. */
function explainEncryption(error) {
  for (const line of error.evidence) {
    const kid = /key id '([A-Za-z0-9_-]{1,64})'/.exec(line)?.[1];
    if (kid) {
      error.message += ` (a stored value under key id '${kid}' cannot be decrypted)`;
      error.fix = `Configure the encryptionKey the value was written with (key id '${kid}'; keep older keys under { keys, current } while rotating); a value altered in the store cannot be recovered: connect the connection again.`;
      return;
    }
    if (line.includes('not encrypted by this library')) {
      error.message += ' (a stored value is not encrypted)';
      error.fix = 'The value was stored without encryption (or by something else): connect the connection again so it is stored encrypted.';
      return;
    }
  }
}
