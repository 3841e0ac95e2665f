// Prints the largest functions of a .wasm module (by code size), named from its name
// section: where the bytes are, for the size budget. Usage: node scripts/wasm-top.mjs FILE [N]
import { readFileSync } from 'node:fs';

import { WasmReader } from './wasm-reader.mjs';

const [file, count = '15'] = process.argv.slice(2);
const r = new WasmReader(readFileSync(file));

let imported = 0;
const sizes = [];
const names = new Map();
for (const { id, end } of r.sections()) {
  if (id === 2) {
    imported = r.imports(end).filter((entry) => entry.kind === 0).length;
  } else if (id === 10) {
    for (let n = r.leb(), i = 0; i < n; i++) {
      const body = r.leb();
      sizes.push(body);
      r.at += body;
    }
  } else if (id === 0 && r.name() === 'name') {
    while (r.at < end) {
      const sub = r.bytes[r.at++];
      const subSize = r.leb();
      const subEnd = r.at + subSize;
      if (sub === 1) for (let n = r.leb(); n > 0; n--) { const index = r.leb(); names.set(index, r.name()); }
      r.at = subEnd;
    }
  }
}
const total = sizes.reduce((a, b) => a + b, 0);
const rows = sizes.map((size, i) => ({ size, name: names.get(i + imported) ?? `func[${i + imported}]` })).sort((a, b) => b.size - a.size);
console.log(`${file}: ${sizes.length} functions, ${total} bytes of code`);
for (const { size, name: n } of rows.slice(0, Number(count))) {
  const short = n.length > 110 ? `${n.slice(0, 107)}...` : n;
  console.log(`${String(size).padStart(8)} ${((100 * size) / total).toFixed(1).padStart(5)}%  ${short}`);
}
