import type { Registry } from "prom-client";
import { METRICS, type CounterName, type GaugeName, type HistogramName, type MetricName, type Metrics, type MetricSpec } from "../relay/metrics.ts";

/** Prefix of every exported name. */
const PREFIX = "argybargy_";
/** The `room` label value of every room past the cap. */
export const OTHER_ROOM = "other";

/** One label pair's value: a number (counter, gauge) or a histogram's buckets, sum and count. */
interface Cell { value: number; buckets: Float64Array | null; sum: number }
/** Cells by first label value, then second ("" when the metric has fewer labels). */
type Cells = Map<string, Map<string, Cell>>;

/**
 * The Metrics port on prom-client 15 (verified under Bun and in the compiled binary). Hot-path
 * calls only touch plain numbers in nested maps (no object per call once a label pair is
 * known); prom-client reads them at scrape time and renders the Prometheus text, with the
 * process metrics it collects by default. `room` labels are capped at `maxRooms` names, the
 * rest counted as "other", so cardinality stays bounded whatever agents do. prom-client itself
 * loads on `start()` (serve calls it once listening) or the first scrape, so CLI verbs that
 * never serve metrics do not pay for loading it.
 */
export class PromMetrics implements Metrics {
  private registry: Promise<Registry> | null = null;
  private readonly cells = new Map<MetricName, Cells>();
  private readonly samplers = new Map<GaugeName, () => number>();
  private readonly rooms = new Set<string>();

  constructor(private readonly maxRooms = 20, private readonly processMetrics = true) {
    for (const name of Object.keys(METRICS) as MetricName[]) this.cells.set(name, new Map());
  }

  /** Loads prom-client and registers every metric (once); the process metrics start counting here. */
  start(): Promise<Registry> {
    return (this.registry ??= this.build());
  }

  private async build(): Promise<Registry> {
    const prom = await import("prom-client");
    const registry = new prom.Registry();
    if (this.processMetrics) prom.collectDefaultMetrics({ register: registry, prefix: PREFIX });
    for (const [name, spec] of Object.entries(METRICS) as [MetricName, MetricSpec][]) this.register(prom, registry, name, spec);
    return registry;
  }

  count(name: CounterName, by = 1, label1 = "", label2 = ""): void {
    this.cell(name, label1, label2).value += by;
  }

  add(name: GaugeName, delta: number, label1 = "", label2 = ""): void {
    this.cell(name, label1, label2).value += delta;
  }

  sample(name: GaugeName, read: () => number): void {
    this.samplers.set(name, read);
  }

  observe(name: HistogramName, seconds: number, label1 = "", label2 = ""): void {
    const c = this.cell(name, label1, label2);
    const bounds = METRICS[name].buckets;
    c.sum += seconds;
    c.value++;
    // Non-cumulative here (one increment); summed into Prometheus's cumulative form at scrape.
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    c.buckets![i]!++;
  }

  now(): number {
    return performance.now();
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    const registry = await this.start();
    return { body: await registry.metrics(), contentType: registry.contentType };
  }

  /** A counter or gauge's current value for one exported label pair (tests). */
  value(name: MetricName, label1 = "", label2 = ""): number {
    return this.cells.get(name)!.get(label1)?.get(label2)?.value ?? 0;
  }

  private cell(name: MetricName, label1: string, label2: string): Cell {
    const l1 = this.label(name, 0, label1);
    const l2 = this.label(name, 1, label2);
    const byFirst = this.cells.get(name)!;
    let bySecond = byFirst.get(l1);
    if (!bySecond) byFirst.set(l1, (bySecond = new Map()));
    let c = bySecond.get(l2);
    if (!c) {
      const spec: MetricSpec = METRICS[name];
      c = { value: 0, sum: 0, buckets: spec.kind === "histogram" ? new Float64Array(spec.buckets!.length + 1) : null };
      bySecond.set(l2, c);
    }
    return c;
  }

  /** The exported value of label `index`: rooms past the cap become "other". */
  private label(name: MetricName, index: number, value: string): string {
    if (METRICS[name].labels[index] !== "room") return value;
    if (this.rooms.has(value)) return value;
    if (this.rooms.size < this.maxRooms) {
      this.rooms.add(value);
      return value;
    }
    return OTHER_ROOM;
  }

  /** Every label pair seen, with its cell. */
  private *entries(name: MetricName): Generator<[Record<string, string>, Cell]> {
    const spec: MetricSpec = METRICS[name];
    for (const [l1, bySecond] of this.cells.get(name)!) {
      for (const [l2, c] of bySecond) {
        const labels: Record<string, string> = {};
        if (spec.labels[0]) labels[spec.labels[0]] = l1;
        if (spec.labels[1]) labels[spec.labels[1]] = l2;
        yield [labels, c];
      }
    }
  }

  private register(prom: typeof import("prom-client"), registry: Registry, name: MetricName, spec: MetricSpec): void {
    const full = PREFIX + name;
    const labelNames = [...spec.labels];
    const self = this;
    if (spec.kind === "counter") {
      new prom.Counter({
        name: full, help: spec.help, labelNames, registers: [registry],
        collect() {
          this.reset();
          for (const [labels, c] of self.entries(name)) this.inc(labels, c.value);
        },
      });
    } else if (spec.kind === "gauge") {
      new prom.Gauge({
        name: full, help: spec.help, labelNames, registers: [registry],
        collect() {
          this.reset();
          const read = self.samplers.get(name as GaugeName);
          if (read) this.set(read());
          else for (const [labels, c] of self.entries(name)) this.set(labels, c.value);
        },
      });
    } else {
      registry.registerMetric(new HistogramView(full, spec, () => this.entries(name)) as never);
    }
  }
}

/**
 * A histogram in the shape prom-client's Registry renders (`get()` → name, help, type,
 * values), read from our cells: prom-client's own Histogram allocates on every observe.
 */
class HistogramView {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly help: string;

  constructor(readonly name: string, private readonly spec: MetricSpec, private readonly cells: () => Iterable<[Record<string, string>, Cell]>) {
    this.help = spec.help;
  }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [labels, c] of this.cells()) {
      let cumulative = 0;
      this.spec.buckets!.forEach((le, i) => {
        cumulative += c.buckets![i]!;
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: "+Inf" }, value: c.value, metricName: `${this.name}_bucket` });
      values.push({ labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: c.value, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {}
}
