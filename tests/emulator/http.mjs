// Small HTTP helpers shared by both hosts: reading requests, building replies, rendering them.
//
// A handler returns a *reply*, a plain object {status, headers, body, errorCode?}, or a REST error
// {status, restErrors:[{message, errorCode}]} that is rendered as JSON or XML depending on the
// request's Accept header. `send` renders the reply, completes the request's log entry, and writes.

const JSON_TYPE = 'application/json;charset=UTF-8';
const XML_TYPE = 'application/xml;charset=UTF-8';
export const MAX_BODY_BYTES = 1 << 20;

/** IPv4 peers on a dual-stack socket show up as '::ffff:127.0.0.1'; sessions are bound to the plain form. */
export function normaliseAddress(address) {
  if (!address) return null;
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('request body too large'), { tooLarge: true }));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Form parameters of an application/x-www-form-urlencoded body (empty when the body is something else). */
export function formParams(ctx) {
  const type = String(ctx.req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  return new URLSearchParams(ctx.body.toString('utf8'));
}

/**
 * `Authorization: Bearer <token>` (Salesforce also takes the older `OAuth <token>`).
 * Returns {present:false} without the header, {present:true, token:null} when it is malformed.
 */
export function parseAuthorization(header) {
  if (header == null) return { present: false, token: null };
  const match = /^(?:Bearer|OAuth)[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return { present: true, token: match ? match[1] : null };
}

/** REST errors come as JSON unless the client asks for XML (and not also for JSON). */
export function wantsXml(req) {
  const accept = String(req.headers.accept ?? '').toLowerCase();
  return accept.includes('application/xml') && !accept.includes('application/json');
}

export function xmlEscape(value) {
  return String(value).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);
}

// ---- reply constructors ----------------------------------------------------------------------

export function json(status, value, headers = {}) {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(value) };
}

export function text(status, body, contentType = 'text/plain;charset=UTF-8', errorCode = null) {
  return { status, headers: { 'content-type': contentType }, body, errorCode };
}

export function xml(status, body, errorCode = null) {
  return { status, headers: { 'content-type': XML_TYPE }, body, errorCode };
}

export function empty(status, headers = {}) {
  return { status, headers, body: '' };
}

/** A REST API error: rendered as `[{message, errorCode}]` or `<Errors><Error>…` per Accept. */
export function restError(status, errorCode, message) {
  return { status, headers: {}, restErrors: [{ message, errorCode }] };
}

/** An OAuth endpoint error: `{error, error_description}`, HTTP 400 unless told otherwise. */
export function oauthError(error, description, status = 400) {
  return { ...json(status, { error, error_description: description }), errorCode: error };
}

export function htmlPage(status, title, errorCode = null) {
  const page = `<!DOCTYPE html>\n<html><head><title>${xmlEscape(title)}</title></head>` +
    `<body><h1>${xmlEscape(title)}</h1><p>Salesforce emulator</p></body></html>\n`;
  return text(status, page, 'text/html;charset=UTF-8', errorCode);
}

function render(req, reply) {
  if (!reply.restErrors) return reply;
  const headers = { ...reply.headers };
  if (wantsXml(req)) {
    const items = reply.restErrors
      .map((e) => `<Error><errorCode>${xmlEscape(e.errorCode)}</errorCode><message>${xmlEscape(e.message)}</message></Error>`)
      .join('');
    headers['content-type'] = XML_TYPE;
    return { ...reply, headers, body: `<?xml version="1.0" encoding="UTF-8"?><Errors>${items}</Errors>` };
  }
  headers['content-type'] = JSON_TYPE;
  return { ...reply, headers, body: JSON.stringify(reply.restErrors) };
}

/** Completes the log entry (status, errorCode) and only then writes the response. */
export function send(req, res, entry, reply) {
  const rendered = render(req, reply);
  entry.status = rendered.status;
  entry.errorCode = reply.errorCode ?? reply.restErrors?.[0]?.errorCode ?? null;
  res.writeHead(rendered.status, rendered.headers);
  if (rendered.stream) streamBody(res, rendered.stream);
  else res.end(rendered.body);
}

/** Writes `prefix` then `chunk` repeated to `bytes` in all (or until the connection closes when `endless`), minding backpressure. */
function streamBody(res, { prefix, chunk, bytes, endless }) {
  const piece = Buffer.from(String(chunk).repeat(Math.max(1, Math.ceil(65536 / Math.max(1, Buffer.byteLength(String(chunk)))))));
  let left = endless ? Infinity : Math.max(0, bytes - Buffer.byteLength(prefix));
  const pump = () => {
    while (!res.destroyed && left > 0) {
      const next = left >= piece.length ? piece : piece.subarray(0, left);
      left -= next.length;
      if (!res.write(next)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  if (prefix) res.write(prefix);
  pump();
}
