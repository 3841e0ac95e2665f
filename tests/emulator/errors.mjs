// The error bodies Salesforce sends, word for word (see /work/shared/SALESFORCE.md §2–§3).
import { randomBytes } from 'node:crypto';
import { oauthError, restError, htmlPage, xml, json, text, xmlEscape } from './http.mjs';

export const EXPIRED_TOKEN = 'expired access/refresh token';

export const rest = {
  invalidSession: () => restError(401, 'INVALID_SESSION_ID', 'Session expired or invalid'),
  notValidForRest: () => restError(401, 'INVALID_SESSION_ID', 'This session is not valid for use with the REST API'),
  invalidAuthHeader: () => restError(401, 'INVALID_AUTH_HEADER', 'INVALID_HEADER_TYPE'),
  requestLimitExceeded: () => restError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
  apiDisabled: () => restError(403, 'API_DISABLED_FOR_ORG', 'The REST API is not enabled for this Organization.'),
  urlNotReset: () => restError(400, 'URL_NOT_RESET', 'Destination URL not reset. The URL returned from login must be set'),
  maintenance: () => restError(400, 'INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE',
    "Updates can't be made during maintenance. Try again when maintenance is complete"),
  notFound: () => restError(404, 'NOT_FOUND', 'The requested resource does not exist'),
  // The sheet gives no errorCode for a retired version; only the 410 status is meant to be relied on.
  versionRetired: () => restError(410, 'UNSUPPORTED_API_VERSION', 'The requested API version is no longer supported'),
  malformedQuery: (message) => restError(400, 'MALFORMED_QUERY', message),
  jsonParser: (message) => restError(400, 'JSON_PARSER_ERROR', message),
  methodNotAllowed: (method, allowed) =>
    restError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are ${allowed.join(',')}`),
};

export const oauth = {
  invalidGrant: (description) => oauthError('invalid_grant', description),
  expiredToken: () => oauthError('invalid_grant', EXPIRED_TOKEN),
  alreadyProcessing: () => oauthError('invalid_grant', 'token request is already being processed'),
  invalidClientId: () => oauthError('invalid_client_id', 'client identifier invalid'),
  invalidClient: () => oauthError('invalid_client', 'invalid client credentials'),
  unsupportedGrantType: () => oauthError('unsupported_grant_type', 'grant type not supported'),
  rateLimited: () => oauthError('rate_limit_exceeded', 'Number of logins exceeded'),
  mustPost: () => oauthError('invalid_request', 'must use HTTP POST', 405),
  unsupportedTokenType: () => oauthError('unsupported_token_type', 'this token type is not supported'),
  invalidAuthCode: () => oauthError('invalid_grant', 'invalid authorization code'),
  // A code presented a second time (and one older than 15 minutes).
  expiredAuthCode: () => oauthError('invalid_grant', 'expired authorization code'),
  invalidCodeVerifier: () => oauthError('invalid_grant', 'invalid code verifier'),
  redirectUriMismatch: () => oauthError('redirect_uri_mismatch', 'redirect_uri must match configuration'),
  // client_credentials sent to a login host instead of the org's My Domain.
  notOnThisDomain: () => oauthError('invalid_grant', 'request not supported on this domain'),
  noClientCredentialsUser: () => oauthError('invalid_grant', 'no client credentials user enabled'),
  // A transient outage: an HTML page, never JSON (the client must not read it as a revocation).
  serviceUnavailable: () => htmlPage(503, 'Service Unavailable', 'SERVICE_UNAVAILABLE'),
};

/**
 * Errors of GET /services/oauth2/authorize. `page` ones cannot be redirected (unknown app or
 * unregistered redirect_uri) and are shown to the user; the others go back to redirect_uri as
 * `?error=…&error_description=…&state=…`.
 */
export const authorize = {
  invalidClientId: () => ({ page: true, error: 'invalid_client_id', description: 'client identifier invalid' }),
  redirectUriMismatch: () => ({ page: true, error: 'redirect_uri_mismatch', description: 'redirect_uri must match configuration' }),
  unsupportedResponseType: () => ({ error: 'unsupported_response_type', description: 'response type not supported' }),
  missingCodeChallenge: () => ({ error: 'invalid_request', description: 'missing required code challenge' }),
  invalidChallengeMethod: () => ({ error: 'invalid_request', description: 'invalid code challenge method' }),
  invalidScope: () => ({ error: 'invalid_scope', description: 'the requested scope is not allowed' }),
  accessDenied: () => ({ error: 'access_denied', description: 'end-user denied authorization' }),
};

/** The page Salesforce Edge shows with HTTP 420 (incidents, deleted or expired orgs): HTML, never JSON. */
export function edge420(now) {
  const ray = randomBytes(16).toString('hex');
  const page = '<!DOCTYPE html>\n<html lang="en-US"><head><meta charset="UTF-8"><title>Error Page</title></head><body>' +
    '<div class="interstitial interstitial-failure"><h3>We\'ve hit a snag.</h3>' +
    '<p>Please contact support or visit our <a href="https://status.salesforce.com/">status page</a> for more information.</p></div>' +
    `<footer><p class="origin-p">Salesforce Edge:</p><p class="origin-p">${ray};${new Date(now).toISOString()};</p></footer>` +
    '</body></html>\n';
  return text(420, page, 'text/html;charset=UTF-8', null);
}

export const identity = {
  badToken: () => ({ status: 403, headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: 'Bad_OAuth_Token', errorCode: 'Bad_OAuth_Token' }),
  badId: () => ({ status: 403, headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: 'Bad_Id', errorCode: 'Bad_Id' }),
};

const SOAP_MESSAGE = 'Invalid Session ID found in SessionHeader: Illegal Session';

export function soapInvalidSession() {
  const body = '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"' +
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>' +
    '<faultcode>sf:INVALID_SESSION_ID</faultcode>' +
    `<faultstring>INVALID_SESSION_ID: ${SOAP_MESSAGE}</faultstring>` +
    '<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">' +
    `<sf:exceptionCode>INVALID_SESSION_ID</sf:exceptionCode><sf:exceptionMessage>${SOAP_MESSAGE}</sf:exceptionMessage>` +
    '</sf:UnexpectedErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>';
  return { status: 500, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body, errorCode: 'INVALID_SESSION_ID' };
}

/** Bulk API 1.0 error: XML by default, JSON when the request was JSON. */
export function bulkError(asJson, exceptionCode, exceptionMessage, status = 400) {
  if (asJson) return { ...json(status, { exceptionCode, exceptionMessage }), errorCode: exceptionCode };
  return xml(status,
    '<?xml version="1.0" encoding="UTF-8"?><error xmlns="http://www.force.com/2009/06/asyncapi/dataload">' +
    `<exceptionCode>${xmlEscape(exceptionCode)}</exceptionCode><exceptionMessage>${xmlEscape(exceptionMessage)}</exceptionMessage></error>`,
    exceptionCode);
}
