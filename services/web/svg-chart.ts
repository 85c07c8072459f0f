/** A dependency-free step chart rendered on the server: one SVG, several series over shared time slots. */
export interface Series {
  name: string;
  color: string;
  /** One value per slot; null = no data. */
  values: (number | null)[];
  dashed?: boolean;
}

/** HTML/XML escaping for text placed in the page (shared by the status page). */
export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function stepChart(opts: { slots: number[]; series: Series[]; width?: number; height?: number; unit: string; nowMs?: number }): string {
  const W = opts.width ?? 760, H = opts.height ?? 220, L = 48, R = 10, T = 10, B = 28;
  const n = opts.slots.length;
  if (n < 2) return '<p class="muted">no data yet</p>';
  const all = opts.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  // Signed values (V2X discharging: negative setpoints and measured power) extend the axis below 0.
  const max = Math.max(1, ...all) * 1.1;
  const min = Math.min(0, ...all) * 1.1;
  const x = (i: number) => L + ((W - L - R) * i) / n;
  const y = (v: number) => T + ((H - T - B) * (max - v)) / (max - min);
  const paths = opts.series
    .map((s) => {
      let d = '';
      let pen = false;
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}L${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      return d ? `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ''}><title>${esc(s.name)}</title></path>` : '';
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = min + (max - min) * f;
    return `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${L - 4}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`;
  });
  if (min < 0) ticks.push(`<line x1="${L}" x2="${W - R}" y1="${y(0)}" y2="${y(0)}" stroke="#bbb"/>`);
  const labels: string[] = [];
  const every = Math.max(1, Math.round(n / 8));
  for (let i = 0; i < n; i += every) {
    const d = new Date(opts.slots[i]!);
    labels.push(`<text x="${x(i)}" y="${H - 8}" text-anchor="middle">${d.toISOString().slice(11, 16)}</text>`);
  }
  let now = '';
  if (opts.nowMs !== undefined) {
    const step = opts.slots[1]! - opts.slots[0]!;
    const i = (opts.nowMs - opts.slots[0]!) / step;
    if (i >= 0 && i <= n) now = `<line x1="${x(i)}" x2="${x(i)}" y1="${T}" y2="${H - B}" stroke="#999" stroke-dasharray="2,3"/>`;
  }
  const legend = opts.series.map((s) => `<span class="lg"><i style="background:${s.color}"></i>${esc(s.name)}</span>`).join(' ');
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="chart in ${esc(opts.unit)}" font-size="11" font-family="sans-serif">${ticks.join('')}${labels.join('')}${now}${paths}<text x="4" y="${T + 8}">${esc(opts.unit)}</text></svg><div class="legend">${legend}</div>`;
}
