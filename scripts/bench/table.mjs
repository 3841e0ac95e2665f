// One plain-text table: a header, section lines, and rows of a label plus one cell per column.

export class Table {
  constructor(columns) {
    this.columns = columns;
    this.lines = [];
  }

  section(title) {
    this.lines.push({ section: title });
  }

  row(label, ...cells) {
    this.lines.push({ cells: [label, ...cells.map((c) => (c === undefined || c === null ? '' : String(c)))] });
  }

  render() {
    const header = ['', ...this.columns];
    const rows = this.lines.filter((l) => l.cells).map((l) => l.cells);
    const widths = header.map((_, i) => Math.max(...[header, ...rows].map((cells) => (cells[i] ?? '').length)));
    const format = (cells) => cells.map((c, i) => (i === 0 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  ').trimEnd();
    const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
    const out = [format(header), rule];
    for (const line of this.lines) out.push(line.section ? `[${line.section}]` : format(line.cells));
    return out.join('\n');
  }
}
