/// <reference lib="dom" />
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

// Two minutes at one point per second: long enough to see a burst come and go.
const WINDOW_POINTS = 120;
const HEIGHT_PX = 200;
const PALETTE = ["#3b5bdb", "#2b8a3e", "#e8590c", "#ae3ec9", "#1098ad", "#c92a2a", "#5c940d", "#f08c00"];

/**
 * A live line chart of one quantity per named series (one per node, plus the cluster total),
 * over a sliding window. A new series set rebuilds the chart, keeping the history it can.
 */
export class TimeChart {
  private chart: uPlot | undefined;
  private names: string[] = [];
  private times: number[] = [];
  private columns = new Map<string, Array<number | null>>();
  private readonly resize = new ResizeObserver(() => this.chart?.setSize(this.size()));

  constructor(
    private readonly container: HTMLElement,
    private readonly unit: string,
  ) {
    this.resize.observe(container);
  }

  /** Appends one point per series at `at` (ms); a series missing from `values` gets a gap. */
  push(at: number, values: ReadonlyMap<string, number>): void {
    const names = [...values.keys()];
    this.times.push(at / 1000);
    for (const name of new Set([...this.columns.keys(), ...names])) {
      const column = this.columns.get(name) ?? new Array<number | null>(this.times.length - 1).fill(null);
      column.push(values.get(name) ?? null);
      this.columns.set(name, column);
    }
    if (this.times.length > WINDOW_POINTS) {
      this.times.shift();
      for (const column of this.columns.values()) column.shift();
    }
    for (const [name, column] of this.columns) if (column.every((value) => value === null)) this.columns.delete(name);
    if (!sameNames(this.names, names)) this.rebuild(names);
    this.chart?.setData(this.data());
    this.container.dataset.points = String(this.times.length);
    this.container.dataset.latest = [...values.values()].join(",");
  }

  private data(): uPlot.AlignedData {
    return [this.times, ...this.names.map((name) => this.columns.get(name) ?? [])];
  }

  private rebuild(names: string[]): void {
    this.chart?.destroy();
    this.names = names;
    const unit = this.unit;
    this.chart = new uPlot(
      {
        ...this.size(),
        series: [
          {},
          ...names.map((name, index) => ({
            label: name,
            stroke: PALETTE[index % PALETTE.length],
            // The first series is the cluster total: dashed, so a single node's line under it still shows.
            width: index === 0 ? 2 : 1.5,
            ...(index === 0 ? { dash: [6, 4] } : {}),
            points: { show: false },
            spanGaps: false,
            value: (_: uPlot, value: number | null) => (value === null ? "–" : `${round(value)} ${unit}`),
          })),
        ],
        scales: { y: { range: (_self, _min, max) => [0, Math.max(1, max * 1.15)] } },
        axes: [{ stroke: "currentColor", grid: { stroke: "rgb(128 128 128 / 15%)" } }, { stroke: "currentColor", grid: { stroke: "rgb(128 128 128 / 15%)" }, size: 50 }],
        legend: { live: false },
        cursor: { show: true, points: { show: false } },
      },
      this.data(),
      this.container,
    );
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(200, this.container.clientWidth), height: HEIGHT_PX };
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, index) => name === b[index]);
}

function round(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}
