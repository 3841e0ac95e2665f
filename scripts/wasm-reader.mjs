// Reads the parts of a .wasm module the build's scripts look at (wasm-top.mjs, short-imports.mjs):
// its sections, the import section's entries, LEB128 numbers and names.

export class WasmReader {
  /** @param {Uint8Array} bytes a whole module; reading starts after its 8-byte header */
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 8;
  }

  /** An unsigned LEB128 number. */
  leb() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.bytes[this.at++];
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return result;
    }
  }

  /** A length-prefixed UTF-8 name. */
  name() {
    const len = this.leb();
    const text = Buffer.from(this.bytes.subarray(this.at, this.at + len)).toString('utf8');
    this.at += len;
    return text;
  }

  /** Table or memory limits: flags, minimum, and a maximum when the flags say so. */
  limits() {
    const flags = this.bytes[this.at++];
    this.leb();
    if (flags & 1) this.leb();
  }

  /** Each section as `{ id, start, body, end }` (offsets of its id byte, its contents and past its end). */
  *sections() {
    while (this.at < this.bytes.length) {
      const start = this.at;
      const id = this.bytes[this.at++];
      const size = this.leb();
      const body = this.at;
      yield { id, start, body, end: body + size };
      this.at = body + size;
    }
  }

  /** The import section's entries, read from its contents: module, field, kind and the raw bytes of what is imported. */
  imports(end) {
    const entries = [];
    const count = this.leb();
    for (let i = 0; i < count; i++) {
      const module = this.name();
      const field = this.name();
      const descStart = this.at;
      const kind = this.bytes[this.at++];
      if (kind === 0) this.leb();
      else if (kind === 1) {
        this.at++;
        this.limits();
      } else if (kind === 2) this.limits();
      else if (kind === 3) this.at += 2;
      else if (kind === 4) {
        this.at++;
        this.leb();
      } else throw new Error(`import ${module}.${field}: unknown kind ${kind}`);
      entries.push({ module, field, kind, desc: this.bytes.subarray(descStart, this.at) });
    }
    if (this.at !== end) throw new Error('the import section did not end where its size says');
    return entries;
  }
}
