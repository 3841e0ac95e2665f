// CORS as Salesforce answers it for an origin on the org's CORS allowlist (and, for the OAuth
// endpoints, with "Enable CORS for OAuth endpoints" on): preflights are answered before any
// routing, actual responses carry the origin back. Off unless `startEmulator({ corsOrigins })`.

const ALLOWED_METHODS = 'GET, POST, PATCH, PUT, DELETE, HEAD';
const ALLOWED_HEADERS = [
  'authorization', 'content-type', 'accept', 'x-requested-with', 'x-sfdc-session', 'x-pretty-print',
  'sforce-auto-assign', 'sforce-call-options', 'sforce-query-options',
].join(', ');
const EXPOSED_HEADERS = 'sforce-limit-info';
const MAX_AGE_SECONDS = '86400';

/** Checks the option: exact origins (scheme://host[:port], no path). */
function checkOrigins(corsOrigins) {
  if (!Array.isArray(corsOrigins)) throw new Error('emulator: corsOrigins must be an array of origins');
  for (const origin of corsOrigins) {
    let parsed;
    try {
      parsed = new URL(origin);
    } catch {
      throw new Error(`emulator: corsOrigins holds a malformed origin: ${origin}`);
    }
    if (parsed.origin !== origin) throw new Error(`emulator: corsOrigins takes bare origins (scheme://host[:port]), not ${origin}`);
  }
  return new Set(corsOrigins);
}

/** null when the option is absent: the emulator then behaves exactly as without CORS. */
export function corsPolicy(corsOrigins) {
  if (corsOrigins === undefined) return null;
  const allowed = checkOrigins(corsOrigins);
  const preflights = [];

  const isAllowed = (req) => allowed.has(req.headers.origin);

  return {
    /** Every preflight seen: { host, path, origin, requestMethod, requestHeaders, allowed }. */
    preflights,

    isPreflight: (req) => req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined,

    /** Answers a preflight: 200 with the CORS headers for an allowed origin, 403 without them otherwise. */
    answerPreflight(host, req, res) {
      const url = new URL(req.url, 'http://emulator.invalid');
      const ok = isAllowed(req);
      preflights.push({
        host,
        path: url.pathname,
        origin: req.headers.origin ?? null,
        requestMethod: req.headers['access-control-request-method'],
        requestHeaders: req.headers['access-control-request-headers'] ?? '',
        allowed: ok,
      });
      if (!ok) {
        res.writeHead(403, { 'content-type': 'text/plain;charset=UTF-8', vary: 'Origin' });
        res.end('CORS origin not allowed');
        return;
      }
      res.writeHead(200, {
        'access-control-allow-origin': req.headers.origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': ALLOWED_METHODS,
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': MAX_AGE_SECONDS,
        vary: 'Origin',
        'content-length': '0',
      });
      res.end();
    },

    /** The reply with the origin echoed back when the request came from an allowed origin. */
    decorate(req, reply) {
      if (!isAllowed(req)) return reply;
      return {
        ...reply,
        headers: {
          ...reply.headers,
          'access-control-allow-origin': req.headers.origin,
          'access-control-allow-credentials': 'true',
          'access-control-expose-headers': EXPOSED_HEADERS,
          vary: 'Origin',
        },
      };
    },
  };
}
