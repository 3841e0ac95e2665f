// The REST data API on the instance host: /services/data/...
import { json, empty, parseAuthorization } from './http.mjs';
import { rest } from './errors.mjs';
import { restChecks, firstObjection, useSession, notValidForRest } from './policy.mjs';

export const OLDEST_VERSION = 21; // 7.0–20.0 are retired: 410
export const LATEST_VERSION = 65;
export const DAILY_API_LIMIT = 15000;

/** Every response under /services/data carries the org's API usage. */
export async function dataApi(ctx) {
  const reply = await dataApiInner(ctx);
  const { state, policy } = ctx;
  const used = policy.requestLimitExceeded ? Math.max(state.apiUsage, DAILY_API_LIMIT) : state.apiUsage;
  return { ...reply, headers: { ...reply.headers, 'sforce-limit-info': `api-usage=${used}/${DAILY_API_LIMIT}` } };
}

async function dataApiInner(ctx) {
  const { req, state, url } = ctx;
  if (/^\/services\/data\/?$/.test(url.pathname)) {
    return req.method === 'GET' ? json(200, versionList()) : rest.methodNotAllowed(req.method, ['GET', 'HEAD']);
  }
  const match = /^\/services\/data\/v(\d+)\.(\d+)(\/.*)?$/.exec(url.pathname);
  if (!match || match[2] !== '0') return rest.notFound();
  const version = Number(match[1]);
  if (version < OLDEST_VERSION) return rest.versionRetired();
  if (version > LATEST_VERSION) return rest.notFound();

  const { token } = parseAuthorization(req.headers.authorization);
  if (!token) return rest.invalidAuthHeader();
  const used = useSession(ctx, token);
  if (notValidForRest(used.refusal)) return rest.notValidForRest();
  if (used.refusal) return rest.invalidSession();
  state.apiUsage += 1;

  const objection = firstObjection(restChecks, ctx);
  if (objection) return objection;
  const reply = await route(ctx, version, match[3] ?? '/');
  // Successful calls keep the session alive (timeout counts from last activity).
  if (reply.status < 400) state.touch(used.session);
  return reply;
}

// ---- routing --------------------------------------------------------------------------------------

const ROUTES = [
  { pattern: /^\/?$/, methods: { GET: resources } },
  { pattern: /^\/limits\/?$/, methods: { GET: limits } },
  { pattern: /^\/query\/?$/, methods: { GET: query } },
  { pattern: /^\/sobjects\/?$/, methods: { GET: describeGlobal } },
  { pattern: /^\/sobjects\/(\w+)\/?$/, methods: { GET: sobjectInfo, POST: createRecord } },
  { pattern: /^\/sobjects\/(\w+)\/describe\/?$/, methods: { GET: describe } },
  { pattern: /^\/sobjects\/(\w+)\/(\w{15}|\w{18})\/?$/, methods: { GET: getRecord, PATCH: updateRecord, DELETE: deleteRecord } },
];

function route(ctx, version, subPath) {
  for (const { pattern, methods } of ROUTES) {
    const match = pattern.exec(subPath);
    if (!match) continue;
    const handler = Object.hasOwn(methods, ctx.req.method) ? methods[ctx.req.method] : null;
    if (!handler) return rest.methodNotAllowed(ctx.req.method, Object.keys(methods));
    return handler(ctx, match, version);
  }
  return rest.notFound();
}

function versionList() {
  const seasons = ['Winter', 'Spring', 'Summer'];
  const list = [];
  // v20.0 was Winter '11; three releases a year since.
  for (let v = OLDEST_VERSION; v <= LATEST_VERSION; v += 1) {
    const k = v - 20;
    list.push({ label: `${seasons[k % 3]} '${11 + Math.floor(k / 3)}`, url: `/services/data/v${v}.0`, version: `${v}.0` });
  }
  return list;
}

function resources(_ctx, _match, version) {
  const base = `/services/data/v${version}.0`;
  const names = ['sobjects', 'query', 'queryAll', 'search', 'limits', 'recent', 'tooling', 'composite', 'jobs'];
  return json(200, Object.fromEntries(names.map((name) => [name, `${base}/${name}`])));
}

function limits({ state }) {
  const remaining = Math.max(0, DAILY_API_LIMIT - state.apiUsage);
  return json(200, {
    DailyApiRequests: { Max: DAILY_API_LIMIT, Remaining: remaining },
    DailyBulkApiBatches: { Max: 15000, Remaining: 15000 },
    DataStorageMB: { Max: 5, Remaining: 5 },
  });
}

// ---- SOQL: SELECT f1, f2 FROM Type [WHERE Field = 'value'] [LIMIT n] -------------------------------

function query(ctx, _match, version) {
  const soql = ctx.url.searchParams.get('q');
  if (!soql || !soql.trim()) return rest.malformedQuery('A query string has to be specified');
  const parsed = /^\s*select\s+([\s\S]+?)\s+from\s+([A-Za-z_]\w*)([\s\S]*)$/i.exec(soql);
  const fields = parsed ? parsed[1].split(',').map((f) => f.trim()) : [];
  if (!parsed || fields.some((f) => !/^[\w.()]+$/.test(f))) {
    const first = soql.trim().split(/\s+/)[0];
    return rest.malformedQuery(`\n${soql}\n^\nERROR at Row:1:Column:1\nunexpected token: '${first}'`);
  }
  const type = parsed[2];
  const tail = parsed[3];
  let records = ctx.state.listRecords(type);
  const where = /\bwhere\s+(\w+)\s*=\s*'((?:[^'\\]|\\.)*)'/i.exec(tail);
  if (where) records = records.filter((r) => String(fieldValue(r, where[1]) ?? '') === where[2].replace(/\\(.)/g, '$1'));
  const limit = /\blimit\s+(\d+)/i.exec(tail);
  if (limit) records = records.slice(0, Number(limit[1]));
  if (fields.length === 1 && /^count\(\)$/i.test(fields[0])) return json(200, { totalSize: records.length, done: true, records: [] });
  const typeName = ctx.state.sobject(type)?.name ?? type;
  return json(200, {
    totalSize: records.length,
    done: true,
    records: records.map((r) => ({
      attributes: attributes(typeName, r.Id, version),
      ...Object.fromEntries(fields.map((f) => [f, fieldValue(r, f)])),
    })),
  });
}

/** Field names are case-insensitive; relationship paths (Owner.Name) are not modelled: null. */
function fieldValue(record, name) {
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? null : record[key];
}

const attributes = (type, id, version) => ({ type, url: `/services/data/v${version}.0/sobjects/${type}/${id}` });

// ---- sObjects ---------------------------------------------------------------------------------------

function describeGlobal({ state }) {
  const names = new Set(['Account', 'Contact', 'Lead', 'Opportunity', 'Case']);
  for (const table of state.records.values()) names.add(table.name);
  return json(200, {
    encoding: 'UTF-8',
    maxBatchSize: 200,
    sobjects: [...names].map((name) => ({ name, label: name, createable: true, queryable: true })),
  });
}

function sobjectInfo({ state }, match) {
  return json(200, {
    objectDescribe: { name: match[1], label: match[1], createable: true, queryable: true },
    recentItems: state.listRecords(match[1]).slice(-5).map((r) => ({ Id: r.Id })),
  });
}

function describe(_ctx, match) {
  return json(200, { name: match[1], label: match[1], createable: true, fields: [{ name: 'Id', type: 'id' }] });
}

/** A JSON object body, or a JSON_PARSER_ERROR reply. */
function parseObjectBody(ctx) {
  const raw = ctx.body.toString('utf8');
  if (!raw.trim()) return { error: rest.jsonParser('No content to map due to end-of-input at [line:1, column:0]') };
  let value;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { error: rest.jsonParser(`Unexpected character: ${err.message}`) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: rest.jsonParser('Cannot deserialize instance of SObject from a non-object value at [line:1, column:1]') };
  }
  const { attributes: _attributes, Id: _id, ...fields } = value;
  return { fields };
}

function createRecord(ctx, match, version) {
  const body = parseObjectBody(ctx);
  if (body.error) return body.error;
  const id = ctx.state.createRecord(match[1], body.fields);
  return json(201, { id, success: true, errors: [] }, { location: `/services/data/v${version}.0/sobjects/${match[1]}/${id}` });
}

function getRecord({ state }, match, version) {
  const found = state.findRecord(match[1], match[2]);
  if (!found) return rest.notFound();
  return json(200, { attributes: attributes(found.table.name, found.id, version), ...found.fields });
}

function updateRecord(ctx, match) {
  const found = ctx.state.findRecord(match[1], match[2]);
  if (!found) return rest.notFound();
  const body = parseObjectBody(ctx);
  if (body.error) return body.error;
  Object.assign(found.fields, body.fields);
  return empty(204);
}

function deleteRecord({ state }, match) {
  const found = state.findRecord(match[1], match[2]);
  if (!found) return rest.notFound();
  found.table.byId.delete(found.id);
  return empty(204);
}
