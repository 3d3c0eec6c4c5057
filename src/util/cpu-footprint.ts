/**
 * An ESTIMATE of the energy and carbon of CPU work, for training runs to record about themselves
 * (src/train can import this; the paper's GPU formulas are in src/eval/footprint.ts):
 *   energy (kWh) = CPU-seconds / 3600 x watts per busy core x PUE / 1000
 *   kgCO2eq      = energy (MWh) x carbon intensity (t/MWh) x 1000
 * with the paper's PUE (1.1) and US carbon intensity (0.385 tCO2eq/MWh) as defaults. It is not a
 * measurement: real power depends on the chip, its clocks and what the other cores do.
 */

const PUE = 1.1;
const CARBON_INTENSITY = 0.385;

/** Default power per busy CPU core (an assumption: a desktop-class core under load). */
export const DEFAULT_WATTS_PER_CORE = 15;

export interface CpuEstimate {
  kind: 'estimate';
  note: string;
  cpuSeconds: number;
  wattsPerCore: number;
  pue: number;
  carbonIntensity: number;
  energyKWh: number;
  kgco2eq: number;
}

export interface CpuEstimateOptions { wattsPerCore?: number; pue?: number; carbonIntensity?: number }

function check(what: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) throw new Error(`cpu estimate: ${what} must be a non-negative number (got ${v})`);
}

export function cpuEstimate(cpuSeconds: number, opts: CpuEstimateOptions = {}): CpuEstimate {
  const wattsPerCore = opts.wattsPerCore ?? DEFAULT_WATTS_PER_CORE;
  const pue = opts.pue ?? PUE;
  const carbonIntensity = opts.carbonIntensity ?? CARBON_INTENSITY;
  check('CPU seconds', cpuSeconds);
  check('watts per core', wattsPerCore);
  check('PUE', pue);
  check('carbon intensity', carbonIntensity);
  const energyKWh = (cpuSeconds / 3600) * wattsPerCore * pue / 1000;
  return {
    kind: 'estimate',
    note: `estimate: CPU time x ${wattsPerCore} W per core x PUE ${pue}; not a power measurement`,
    cpuSeconds, wattsPerCore, pue, carbonIntensity,
    energyKWh,
    kgco2eq: (energyKWh / 1000) * carbonIntensity * 1000,
  };
}

/**
 * Measures this process's CPU time (all threads, user + system) from construction to
 * `estimate()`, so a trainer can store its own footprint next to its checkpoint or log.
 */
export class CpuFootprintMeter {
  private readonly start = process.cpuUsage();
  constructor(private readonly opts: CpuEstimateOptions = {}) {}
  cpuSeconds(): number {
    const d = process.cpuUsage(this.start);
    return (d.user + d.system) / 1e6;
  }
  estimate(): CpuEstimate { return cpuEstimate(this.cpuSeconds(), this.opts); }
}
