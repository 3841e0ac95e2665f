// SOAP (/services/Soap/...) and Bulk API 1.0 (/services/async/...): only as much as it takes to
// show how each answers a bad session, plus a minimal success path for a good one.
import { parseAuthorization, xml, json, htmlPage, xmlEscape } from './http.mjs';
import { soapInvalidSession, bulkError } from './errors.mjs';
import { useSession } from './policy.mjs';

// ---- SOAP -----------------------------------------------------------------------------------------

/** The session id of a SOAP SessionHeader, whatever the namespace prefix. */
export function soapSessionId(body) {
  return /<(?:[\w-]+:)?sessionId>\s*([^<\s]*)\s*<\/(?:[\w-]+:)?sessionId>/.exec(body)?.[1] || null;
}

export function soapApi(ctx) {
  const { req, state, entry } = ctx;
  if (!/^\/services\/Soap\/[A-Za-z]+\/\d+\.0(\/\w+)?\/?$/.test(ctx.url.pathname)) return htmlPage(404, 'Page Not Found');
  if (req.method !== 'POST') return htmlPage(405, 'Method Not Allowed');
  const envelope = ctx.body.toString('utf8');
  const token = soapSessionId(envelope) ?? parseAuthorization(req.headers.authorization).token;
  entry.token = token;
  const used = useSession(ctx, token);
  if (used.refusal) return soapInvalidSession();
  state.touch(used.session);
  // Echo a `<op>Response` for whatever operation the Body holds.
  const operation = /<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)/.exec(envelope)?.[1] ?? 'unknown';
  const body = '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
    `<${operation}Response xmlns="urn:partner.soap.sforce.com"><result/></${operation}Response>` +
    '</soapenv:Body></soapenv:Envelope>';
  return { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body };
}

// ---- Bulk API 1.0 ---------------------------------------------------------------------------------

export function bulkApi(ctx) {
  const { req, state, entry } = ctx;
  const type = String(req.headers['content-type'] ?? req.headers.accept ?? '').toLowerCase();
  const asJson = type.includes('json');
  const match = /^\/services\/async\/(\d+)\.0(\/.*)?$/.exec(ctx.url.pathname);
  if (!match) return bulkError(asJson, 'InvalidUrl', 'unknown url', 404);
  const token = req.headers['x-sfdc-session'] ?? parseAuthorization(req.headers.authorization).token;
  entry.token = token ?? null;
  const used = useSession(ctx, token);
  if (used.refusal) return bulkError(asJson, 'InvalidSessionId', 'Invalid session id');
  state.touch(used.session);

  const version = `${match[1]}.0`;
  const sub = match[2] ?? '/';
  if (req.method === 'POST' && /^\/job\/?$/.test(sub)) {
    const raw = ctx.body.toString('utf8');
    let spec = {};
    if (asJson) {
      try { spec = JSON.parse(raw); } catch { return bulkError(true, 'InvalidJob', 'Unable to parse job'); }
    } else {
      const tag = (name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(raw)?.[1];
      spec = { operation: tag('operation'), object: tag('object'), contentType: tag('contentType') };
    }
    if (!spec?.operation || !spec?.object) return bulkError(asJson, 'InvalidJob', 'Operation and object are required');
    const job = {
      id: state.newId('750'),
      operation: spec.operation,
      object: spec.object,
      createdById: used.session.userId,
      state: 'Open',
      contentType: spec.contentType ?? 'CSV',
      apiVersion: version,
    };
    state.bulkJobs.set(job.id, job);
    return jobReply(asJson, 201, job);
  }
  const jobMatch = /^\/job\/(\w+)\/?$/.exec(sub);
  if (req.method === 'GET' && jobMatch) {
    const job = state.bulkJobs.get(jobMatch[1]);
    return job ? jobReply(asJson, 200, job) : bulkError(asJson, 'InvalidJob', `Unable to find job ${jobMatch[1]}`);
  }
  return bulkError(asJson, 'InvalidUrl', 'unknown url', 404);
}

function jobReply(asJson, status, job) {
  if (asJson) return json(status, job);
  const fields = Object.entries(job).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
  return xml(status, `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload">${fields}</jobInfo>`);
}
