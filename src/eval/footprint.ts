/**
 * The carbon account (PAPER.md §10, the paper's Table 15):
 *   energy (Wh) = GPU-hours × GPU power (W) × PUE,  PUE = 1.1
 *   tCO2eq      = energy (MWh) × 0.385              (US national average carbon intensity, t/MWh)
 * and a CPU-time estimate that training runs record about themselves.
 *
 * Rounding as printed in the paper: energy is shown truncated to whole MWh and tCO2eq rounded to
 * the nearest tonne. That reproduces every row of Table 15 except BLOOM-175B, where the formula
 * gives 476.47 MWh but the paper prints 475 (its tCO2eq, 183, does match); we print what the
 * formula gives and the tests record that discrepancy explicitly.
 */

export const PAPER_PUE = 1.1;
/** tCO2eq per MWh (the US national average the paper uses). */
export const PAPER_CARBON_INTENSITY = 0.385;
/** A100-80GB thermal design power used for every row of Table 15. */
export const A100_80GB_WATTS = 400;

export interface GpuRun {
  name: string;
  gpuHours: number;
  gpuWatts: number;
  pue?: number;
  /** tCO2eq per MWh. */
  carbonIntensity?: number;
}

export interface Footprint {
  name: string;
  gpuHours: number;
  gpuWatts: number;
  pue: number;
  carbonIntensity: number;
  /** Exact values from the formulas. */
  energyMWh: number;
  tco2eq: number;
  /** As the paper prints them: whole MWh (truncated) and whole tonnes (rounded). */
  energyMWhPrinted: number;
  tco2eqPrinted: number;
}

function positive(name: string, what: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}: ${what} must be a non-negative number (got ${v})`);
}

export function gpuFootprint(run: GpuRun): Footprint {
  const pue = run.pue ?? PAPER_PUE;
  const carbonIntensity = run.carbonIntensity ?? PAPER_CARBON_INTENSITY;
  positive(run.name, 'GPU-hours', run.gpuHours);
  positive(run.name, 'GPU power (W)', run.gpuWatts);
  positive(run.name, 'PUE', pue);
  positive(run.name, 'carbon intensity', carbonIntensity);
  const energyMWh = (run.gpuHours * run.gpuWatts * pue) / 1e6;
  const tco2eq = energyMWh * carbonIntensity;
  return {
    name: run.name, gpuHours: run.gpuHours, gpuWatts: run.gpuWatts, pue, carbonIntensity,
    energyMWh, tco2eq,
    energyMWhPrinted: Math.floor(energyMWh + 1e-9),
    tco2eqPrinted: Math.round(tco2eq),
  };
}

/** The runs of the paper's Table 15 (GPU-hours as the paper lists them; all on A100-80GB at 400 W). */
export const TABLE15_RUNS: readonly GpuRun[] = [
  { name: 'OPT-175B', gpuHours: 809_472, gpuWatts: A100_80GB_WATTS },
  { name: 'BLOOM-175B', gpuHours: 1_082_880, gpuWatts: A100_80GB_WATTS },
  { name: 'LLaMA-7B', gpuHours: 82_432, gpuWatts: A100_80GB_WATTS },
  { name: 'LLaMA-13B', gpuHours: 135_168, gpuWatts: A100_80GB_WATTS },
  { name: 'LLaMA-33B', gpuHours: 530_432, gpuWatts: A100_80GB_WATTS },
  { name: 'LLaMA-65B', gpuHours: 1_022_362, gpuWatts: A100_80GB_WATTS },
];

export function footprintTable(rows: readonly Footprint[]): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const lines = [
    '| model | GPU type | GPU power (W) | GPU-hours | energy (MWh) | tCO2eq |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.gpuWatts === A100_80GB_WATTS ? 'A100-80GB' : '-'} | ${r.gpuWatts} | ${fmt(r.gpuHours)} | ${fmt(r.energyMWhPrinted)} | ${fmt(r.tco2eqPrinted)} |`);
  }
  lines.push('', `PUE ${rows[0]?.pue ?? PAPER_PUE}; carbon intensity ${rows[0]?.carbonIntensity ?? PAPER_CARBON_INTENSITY} tCO2eq/MWh; energy = GPU-h × W × PUE.`);
  return lines.join('\n');
}

// The CPU-time estimate lives in src/util (floor 0) so that training runs (src/train, floor 4)
// can record their own footprint; it is re-exported here as part of the carbon account.
export { cpuEstimate, CpuFootprintMeter, DEFAULT_WATTS_PER_CORE, type CpuEstimate } from '../util/cpu-footprint.js';
