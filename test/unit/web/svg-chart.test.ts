import assert from 'node:assert/strict';
import { stepChart } from '../../../services/web/svg-chart.ts';

/** The y coordinates of a chart's first series path (each step draws two points at the same y). */
function pathYs(svg: string): number[] {
  const d = /<path d="([^"]+)"/.exec(svg)?.[1] ?? '';
  return [...d.matchAll(/[ML][\d.]+,([-\d.]+)/g)].map((m) => Number(m[1]));
}

describe('status page step chart', () => {
  const slots = [0, 900_000, 1_800_000, 2_700_000];
  const H = 220, T = 10, B = 28;

  it('keeps signed values (V2X discharging) inside the plot area, with a zero line', () => {
    const svg = stepChart({ slots, unit: 'kW', series: [{ name: 'measured', color: '#000', values: [10, -10, 0, null] }] });
    const ys = pathYs(svg);
    assert.equal(ys.length, 6);
    for (const y of ys) assert.ok(y >= T && y <= H - B, `y ${y} outside [${T}, ${H - B}]`);
    const [up, , down, , zero] = ys;
    assert.ok(up! < zero! && zero! < down!, 'import above the zero line, export below it');
    assert.match(svg, /stroke="#bbb"/, 'a zero line when the axis goes below 0');
    assert.match(svg, />-11</, 'the lowest tick is negative');
  });

  it('import-only charts keep 0 at the bottom and no zero line', () => {
    const svg = stepChart({ slots, unit: 'kW', series: [{ name: 'measured', color: '#000', values: [0, 5, 10, 0] }] });
    const ys = pathYs(svg);
    assert.equal(ys[0], H - B);
    assert.doesNotMatch(svg, /stroke="#bbb"/);
  });
});
