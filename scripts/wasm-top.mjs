// Prints the largest functions of a .wasm module (by code size), named from its name
// section: where the bytes are, for the size budget. Usage: node scripts/wasm-top.mjs FILE [N]
import { readFileSync } from 'node:fs';

const [file, count = '15'] = process.argv.slice(2);
const bytes = readFileSync(file);
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

function name() {
  const len = leb();
  const text = bytes.subarray(at, at + len).toString('utf8');
  at += len;
  return text;
}

let imported = 0;
const sizes = [];
const names = new Map();
while (at < bytes.length) {
  const id = bytes[at++];
  const size = leb();
  const end = at + size;
  if (id === 2) {
    for (let n = leb(); n > 0; n--) {
      name();
      name();
      const kind = bytes[at++];
      if (kind === 0) { leb(); imported++; } else if (kind === 1) { at++; leb(); const flags = leb(); leb(); if (flags & 1) leb(); } else if (kind === 2) { const flags = leb(); leb(); if (flags & 1) leb(); } else if (kind === 3) { at += 2; }
    }
  } else if (id === 10) {
    for (let n = leb(), i = 0; i < n; i++) {
      const body = leb();
      sizes.push(body);
      at += body;
    }
  } else if (id === 0 && name() === 'name') {
    while (at < end) {
      const sub = bytes[at++];
      const subSize = leb();
      const subEnd = at + subSize;
      if (sub === 1) for (let n = leb(); n > 0; n--) { const index = leb(); names.set(index, name()); }
      at = subEnd;
    }
  }
  at = end;
}
const total = sizes.reduce((a, b) => a + b, 0);
const rows = sizes.map((size, i) => ({ size, name: names.get(i + imported) ?? `func[${i + imported}]` })).sort((a, b) => b.size - a.size);
console.log(`${file}: ${sizes.length} functions, ${total} bytes of code`);
for (const { size, name: n } of rows.slice(0, Number(count))) {
  const short = n.length > 110 ? `${n.slice(0, 107)}...` : n;
  console.log(`${String(size).padStart(8)} ${((100 * size) / total).toFixed(1).padStart(5)}%  ${short}`);
}
