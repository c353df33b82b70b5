/**
 * A small live line chart (uPlot, canvas): the last minute of one metric, scrolling as samples
 * arrive. The plot is created once and fed with setData, so a 1 Hz update redraws one canvas and
 * touches no React tree.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { HISTORY_SECONDS, type Series } from '../../stores/hardware.js';

export interface LiveChartProps {
  series: Series;
  /** Fixed y range; `max` undefined = grows with the data. */
  min?: number;
  max?: number;
  color: string;
  label: string;
  height?: number;
}

function timeWindow(series: Series): [number, number] {
  const last = series.t.at(-1) ?? Date.now() / 1000;
  return [last - HISTORY_SECONDS, last];
}

export function LiveChart({ series, min = 0, max, color, label, height = 56 }: LiveChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(series);
  latest.current = series;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const p = new uPlot(
      {
        width: Math.max(120, el.clientWidth),
        height,
        cursor: { show: false },
        legend: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        scales: {
          // A fixed one-minute window, so the line scrolls in from the right as samples arrive.
          x: { time: true, range: () => timeWindow(latest.current) },
          y: { range: (_u, _lo, hi) => [min, max ?? Math.max(1, hi * 1.15)] },
        },
        series: [{}, { label, stroke: color, fill: `${color}33`, width: 1.5, points: { show: false } }],
      },
      [series.t, series.v],
      el,
    );
    plot.current = p;
    // Fill the cell: follow its width as the layout changes.
    const resize = new ResizeObserver(() => p.setSize({ width: Math.max(120, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
    // The plot is built once per mount; data arrives through setData below.
  }, []);

  useEffect(() => {
    plot.current?.setData([series.t, series.v]);
  }, [series]);

  return <div className="live-chart" ref={box} role="img" aria-label={`${label}, last minute`} data-chart={label} data-points={series.t.length} />;
}
