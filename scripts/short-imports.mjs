// Gives the module's imports short names, in the .wasm and in the wasm-bindgen glue that provides
// them: the generated names carry a hash each (`__wbg_call_a410eb4b59ed5965`), and those hashes
// are bytes no compressor can take out of the shipped module. Fails, changing nothing, unless
// every import is found exactly once in the glue's import object.
//   node scripts/short-imports.mjs MODULE.wasm GLUE.js
import { readFileSync, writeFileSync } from 'node:fs';
import { WasmReader } from './wasm-reader.mjs';

const [wasmPath, gluePath] = process.argv.slice(2);
if (!wasmPath || !gluePath) {
  console.error('usage: node scripts/short-imports.mjs MODULE.wasm GLUE.js');
  process.exit(2);
}

const bytes = readFileSync(wasmPath);
const reader = new WasmReader(bytes);

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

function encodeName(text) {
  const raw = Buffer.from(text, 'utf8');
  return Buffer.concat([encodeLeb(raw.length), raw]);
}

/** A short JavaScript identifier for the import at `index`. */
function shortName(index) {
  return `_${index.toString(36)}`;
}

let importSection = null;
for (const { id, start, end } of reader.sections()) {
  if (id === 2) importSection = { start, end, entries: reader.imports(end) };
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
