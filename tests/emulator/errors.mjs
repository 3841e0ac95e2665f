// The error bodies Salesforce sends, word for word (see /work/shared/SALESFORCE.md §2–§3).
import { oauthError, restError, htmlPage, xml, json, xmlEscape } from './http.mjs';

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
  // A transient outage: an HTML page, never JSON (the client must not read it as a revocation).
  serviceUnavailable: () => htmlPage(503, 'Service Unavailable', 'SERVICE_UNAVAILABLE'),
};

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
