// The worker the workerd suite deploys: salesforce-session imported as a user imports it (the
// package's workerd entry and its Durable Object store), KV or the Durable Object as the store, and
// test endpoints that drive the manager, its clock and the Durable Object store's locks; KV with
// encryption at rest (the key a secret binding), and the JWT bearer flow.
import { SessionManager, SalesforceSessionError } from 'salesforce-session';
import { SessionStoreObject, DurableObjectStore } from 'salesforce-session/stores/durable-object';

// The Durable Object class, bound in wrangler.toml with class_name "SessionStoreObject".
export { SessionStoreObject };

// One manager per store kind for the isolate's life, so its in-memory copy of a session stays warm.
const managers = new Map();
// The managers' clock runs this far ahead of the isolate's (POST /clock), as the emulator's does.
let clockOffsetMs = 0;
const events = [];
// Releases of the locks taken through POST /lock, by holder id, until POST /release.
const heldLocks = new Map();

// Store kinds besides 'kv' and 'do': KV with every value encrypted under ENCRYPTION_KEY, and the
// same values read with WRONG_ENCRYPTION_KEY (secret bindings: wrangler secret put).
const ENCRYPTED = {
  'kv-enc': (env) => env.ENCRYPTION_KEY,
  'kv-enc-wrong': (env) => env.WRONG_ENCRYPTION_KEY,
};

function sessionsFor(env, storeKind) {
  let sessions = managers.get(storeKind);
  if (!sessions) {
    const encrypted = Object.hasOwn(ENCRYPTED, storeKind) ? { encryptionKey: ENCRYPTED[storeKind](env), keyPrefix: 'enc:' } : {};
    sessions = new SessionManager({
      ...encrypted,
      clientId: env.SALESFORCE_CLIENT_ID,
      clientSecret: env.SALESFORCE_CLIENT_SECRET, // a secret binding (wrangler secret put); none in the tests
      loginUrl: env.SALESFORCE_LOGIN_URL,
      // KV serves one isolate; the Durable Object is one store for all of them.
      store: storeKind === 'do' ? new DurableObjectStore(env.SESSION_STORE) : env.SESSIONS_KV,
      instanceId: env.INSTANCE_ID,
      allowInsecureLoopback: env.ALLOW_INSECURE_LOOPBACK === 'true',
      now: () => Date.now() + clockOffsetMs,
      onEvent: (event) => events.push(event),
    });
    managers.set(storeKind, sessions);
  }
  return sessions;
}

const json = (body, status = 200) => Response.json(body, { status });

const routes = {
  // The token endpoint's JSON in the body; answers the ConnectionInfo.
  'POST /connect': async (request, env, params) => json(await sessionsFor(env, params.get('store')).connect(params.get('id'), await request.text())),

  // JWT bearer: { username, privateKey (PKCS#8 PEM), audience? } in the body; answers the ConnectionInfo.
  'POST /connect-jwt': async (request, env, params) => {
    const { username, privateKey, audience } = await request.json();
    return json(await sessionsFor(env, params.get('store')).connectJwt(params.get('id'), { username, privateKey, audience }));
  },

  // One Salesforce call through the manager: its status and body.
  'GET /call': async (request, env, params) => {
    const response = await sessionsFor(env, params.get('store')).fetch(params.get('id'), params.get('path'));
    return json({ status: response.status, body: await response.text() });
  },

  'GET /info': async (request, env, params) => json(await sessionsFor(env, params.get('store')).info(params.get('id'))),

  // Sets the managers' clock to `now` (epoch ms), e.g. the emulator's clock after it moved.
  'POST /clock': async (request, env, params) => {
    clockOffsetMs = Number(params.get('now')) - Date.now();
    return json({ offsetMs: clockOffsetMs });
  },

  // Event types and reasons seen by this isolate (no secrets travel in events).
  'GET /events': async () => json(events.map(({ type, reason, connectionId }) => ({ type, reason, connectionId }))),

  // The Durable Object store on its own: locks, compare-and-put, reads and listings.
  'POST /lock': async (request, env, params) => {
    const release = await doStore(env, params).lock(params.get('key'), Number(params.get('ttlMs')));
    if (!release) return json({ holder: null });
    const holder = crypto.randomUUID();
    heldLocks.set(holder, release);
    return json({ holder });
  },
  'POST /release': async (request, env, params) => {
    const release = heldLocks.get(params.get('holder'));
    if (!release) return json({ error: 'unknown holder' }, 404);
    heldLocks.delete(params.get('holder'));
    await release();
    return json({ released: true });
  },
  'POST /cas': async (request, env, params) => {
    const { expected, value } = await request.json();
    return json({ written: await doStore(env, params).compareAndPut(params.get('key'), expected, value) });
  },
  'POST /put': async (request, env, params) => {
    await doStore(env, params).put(params.get('key'), await request.text());
    return json({});
  },
  'GET /get': async (request, env, params) => json({ value: await doStore(env, params).get(params.get('key')) }),
  'GET /list': async (request, env, params) => json({ keys: await doStore(env, params).list(params.get('prefix') ?? '') }),
  'GET /bad-namespace': async () => {
    try {
      new DurableObjectStore({ get() {} });
      return json({ error: 'accepted a namespace without idFromName' }, 500);
    } catch (thrown) {
      return json({ code: thrown.code, isSessionError: thrown instanceof SalesforceSessionError });
    }
  },
};

function doStore(env, params) {
  return new DurableObjectStore(env.SESSION_STORE, params.has('object') ? { name: params.get('object') } : {});
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const route = routes[`${request.method} ${url.pathname}`];
    if (!route) return json({ error: 'no such endpoint' }, 404);
    try {
      return await route(request, env, url.searchParams);
    } catch (thrown) {
      if (thrown instanceof SalesforceSessionError) {
        return json({ code: thrown.code, message: thrown.message, evidence: thrown.evidence }, 502);
      }
      return json({ error: `${thrown?.name ?? 'Error'}: ${thrown?.message ?? thrown}` }, 500);
    }
  },
};
