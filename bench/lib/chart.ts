/** A small dependency-free SVG chart of the bench figures: each row is a figure against its target. */
export interface ChartRow {
  label: string;
  /** The figure, in `unit`. */
  value: number;
  unit: string;
  /** The baseline measured in the same run, in `unit` (drawn as a thin grey bar). */
  baseline?: number;
  baselineLabel?: string;
  target?: number;
  /** `min`: the value must be ≥ target; `max`: ≤ target. */
  direction?: 'min' | 'max';
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function num(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(value >= 10 ? 1 : 2);
}

export function renderChart(title: string, subtitle: string, rows: ChartRow[]): string {
  const width = 1060;
  const left = 300;
  const barWidth = 420;
  const rowHeight = 46;
  const top = 64;
  const height = top + rows.length * rowHeight + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="26" font-size="17" font-weight="bold">${escape(title)}</text>`,
    `<text x="16" y="46" fill="#555">${escape(subtitle)}</text>`,
  ];
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const scaleMax = Math.max(row.value, row.baseline ?? 0, row.target ?? 0) * 1.15 || 1;
    const x = (v: number): number => left + (Math.max(0, v) / scaleMax) * barWidth;
    const ok =
      row.target === undefined || !Number.isFinite(row.value)
        ? undefined
        : row.direction === 'max'
          ? row.value <= row.target
          : row.value >= row.target;
    const colour = ok === undefined ? '#4a78b5' : ok ? '#3a9a4a' : '#c9462c';
    parts.push(`<text x="16" y="${y + 16}">${escape(row.label)}</text>`);
    if (row.baseline !== undefined && Number.isFinite(row.baseline)) {
      parts.push(`<rect x="${left}" y="${y + 20}" width="${(x(row.baseline) - left).toFixed(1)}" height="8" fill="#bbb"/>`);
      parts.push(`<text x="16" y="${y + 33}" fill="#777" font-size="11">${escape(`${row.baselineLabel ?? 'baseline'}: ${num(row.baseline)} ${row.unit}`)}</text>`);
    }
    if (Number.isFinite(row.value)) {
      parts.push(`<rect x="${left}" y="${y + 4}" width="${(x(row.value) - left).toFixed(1)}" height="15" fill="${colour}"/>`);
    }
    if (row.target !== undefined) {
      const tx = x(row.target).toFixed(1);
      parts.push(`<line x1="${tx}" x2="${tx}" y1="${y}" y2="${y + 32}" stroke="#222" stroke-dasharray="4 3"/>`);
    }
    const verdict = ok === undefined ? '' : ok ? '  ✓' : '  ✗';
    const target = row.target === undefined ? '' : ` (target ${row.direction === 'max' ? '≤' : '≥'} ${num(row.target)})`;
    parts.push(`<text x="${left + barWidth + 12}" y="${y + 16}" fill="${colour}">${escape(`${num(row.value)} ${row.unit}${target}${verdict}`)}</text>`);
  });
  parts.push(`<text x="16" y="${height - 14}" fill="#777" font-size="11">coloured bar: the service · grey bar: baseline measured in the same run · dashed line: target</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
