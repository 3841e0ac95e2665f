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

const FIXES = {
  INVALID_CONFIG: 'Correct the option or argument named in the evidence.',
  INVALID_TOKEN_RESPONSE: 'Pass the JSON body of a successful Salesforce token response (with access_token, instance_url, id and issued_at).',
};

/** An error raised on the JavaScript side of the boundary (argument checks). */
export function sessionError(code, message, evidence = [], extra = {}) {
  return new SalesforceSessionError({
    code,
    message,
    evidence,
    fix: FIXES[code] ?? '',
    retryable: false,
    reauthRequired: false,
    ...extra,
  });
}

/** Turns what the wasm side rejected with into what callers catch. */
export function fromWasm(thrown) {
  if (thrown && typeof thrown === 'object' && thrown.kind === 'SalesforceSessionError') {
    const error = new SalesforceSessionError(thrown);
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
