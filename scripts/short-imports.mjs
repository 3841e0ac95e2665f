// Gives the module's imports short names, in the .wasm and in the wasm-bindgen glue that provides
// them: the generated names carry a hash each (`__wbg_call_a410eb4b59ed5965`), and those hashes
// are bytes no compressor can take out of the shipped module. Fails, changing nothing, unless
// every import is found exactly once in the glue's import object.
//   node scripts/short-imports.mjs MODULE.wasm GLUE.js
import { readFileSync, writeFileSync } from 'node:fs';

const [wasmPath, gluePath] = process.argv.slice(2);
if (!wasmPath || !gluePath) {
  console.error('usage: node scripts/short-imports.mjs MODULE.wasm GLUE.js');
  process.exit(2);
}

const bytes = readFileSync(wasmPath);
let at = 8;

function leb() {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return result;
  }
}

function encodeLeb(value) {
  const out = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return Buffer.from(out);
}

function name() {
  const len = leb();
  const text = bytes.subarray(at, at + len).toString('utf8');
  at += len;
  return text;
}

function encodeName(text) {
  const raw = Buffer.from(text, 'utf8');
  return Buffer.concat([encodeLeb(raw.length), raw]);
}

function limits() {
  const flags = bytes[at++];
  leb();
  if (flags & 1) leb();
}

/** The import section's entries: module, field and the raw bytes of what is imported. */
function readImports(end) {
  const entries = [];
  const count = leb();
  for (let i = 0; i < count; i++) {
    const module = name();
    const field = name();
    const descStart = at;
    const kind = bytes[at++];
    if (kind === 0) leb();
    else if (kind === 1) {
      at++;
      limits();
    } else if (kind === 2) limits();
    else if (kind === 3) at += 2;
    else if (kind === 4) {
      at++;
      leb();
    } else throw new Error(`import ${module}.${field}: unknown kind ${kind}`);
    entries.push({ module, field, desc: bytes.subarray(descStart, at) });
  }
  if (at !== end) throw new Error('the import section did not end where its size says');
  return entries;
}

/** A short JavaScript identifier for the import at `index`. */
function shortName(index) {
  return `_${index.toString(36)}`;
}

let importSection = null;
while (at < bytes.length) {
  const start = at;
  const id = bytes[at++];
  const size = leb();
  const body = at;
  if (id === 2) importSection = { start, end: body + size, entries: readImports(body + size) };
  at = body + size;
}
if (!importSection) throw new Error(`${wasmPath} has no import section`);

const modules = new Set(importSection.entries.map((e) => e.module));
if (modules.size !== 1) throw new Error(`imports from ${modules.size} modules (${[...modules].join(', ')}); expected one`);
const [moduleName] = modules;

let glue = readFileSync(gluePath, 'utf8');
const objectStart = glue.indexOf('const import0 = {');
const objectEnd = glue.indexOf('\n    };\n', objectStart);
if (objectStart < 0 || objectEnd < 0) throw new Error(`${gluePath}: no import0 object`);
let object = glue.slice(objectStart, objectEnd);

const renamed = importSection.entries.map((entry, index) => {
  const escaped = entry.field.replace(/[$]/g, '\\$&');
  const key = new RegExp(`(\\n\\s+)${escaped}(?=: function\\b)`, 'g');
  const inObject = object.match(key)?.length ?? 0;
  const anywhere = glue.split(entry.field).length - 1;
  if (inObject !== 1 || anywhere !== 1) {
    throw new Error(`${gluePath}: import ${entry.field} found ${inObject} time(s) as a key of import0 and ${anywhere} in all`);
  }
  const short = shortName(index);
  object = object.replace(key, `$1${short}`);
  return { ...entry, module: 'a', field: short };
});

const moduleKey = `"${moduleName}": import0`;
if (glue.split(moduleKey).length !== 2) throw new Error(`${gluePath}: the import object is not passed once as ${moduleKey}`);
glue = glue.slice(0, objectStart) + object + glue.slice(objectEnd);
glue = glue.replace(moduleKey, 'a: import0');

const entries = renamed.map((e) => Buffer.concat([encodeName(e.module), encodeName(e.field), e.desc]));
const payload = Buffer.concat([encodeLeb(entries.length), ...entries]);
const section = Buffer.concat([Buffer.from([2]), encodeLeb(payload.length), payload]);
const out = Buffer.concat([bytes.subarray(0, importSection.start), section, bytes.subarray(importSection.end)]);
// The result must still be a module whose imports the glue's object names, one for one.
const check = WebAssembly.Module.imports(new WebAssembly.Module(out));
if (check.length !== renamed.length || check.some((imp, i) => imp.module !== 'a' || imp.name !== renamed[i].field)) {
  throw new Error('the rewritten module does not import what was written');
}

writeFileSync(wasmPath, out);
writeFileSync(gluePath, glue);
console.log(`${renamed.length} imports renamed: ${bytes.length} -> ${out.length} bytes`);
