/**
 * `llama-ts footprint`: energy and tCO2eq from GPU-hours with the paper's formulas (PUE 1.1,
 * 0.385 tCO2eq/MWh), the paper's Table 15, or an estimate of a CPU run.
 */
import { parseArgs } from 'node:util';
import { cpuEstimate, footprintTable, gpuFootprint, PAPER_CARBON_INTENSITY, PAPER_PUE, TABLE15_RUNS, DEFAULT_WATTS_PER_CORE } from '../eval/footprint.js';

export const description = 'carbon account: MWh and tCO2eq from GPU-hours (the paper\'s Table 15) or a CPU-time estimate';

const HELP = `usage: llama-ts footprint [--table15] [--gpu-hours H --gpu-watts W] [--cpu-seconds S] [options]

  --table15            print the paper's Table 15 recomputed from its GPU-hours
  --gpu-hours H        GPU-hours of a run; with --gpu-watts W (default 400, A100-80GB)
  --name NAME          label for the run
  --cpu-seconds S      estimate a CPU run: S CPU-seconds x --watts-per-core (default ${DEFAULT_WATTS_PER_CORE}) — an estimate, not a measurement
  --pue P              power usage effectiveness (default ${PAPER_PUE})
  --intensity C        tCO2eq per MWh (default ${PAPER_CARBON_INTENSITY}, US average)
  --json               machine-readable output`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replaceAll(',', '').replaceAll('_', ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} expects a non-negative number, got '${v}'`);
  return n;
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      table15: { type: 'boolean' }, 'gpu-hours': { type: 'string' }, 'gpu-watts': { type: 'string' }, name: { type: 'string' },
      'cpu-seconds': { type: 'string' }, 'watts-per-core': { type: 'string' }, pue: { type: 'string' }, intensity: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) { console.log(HELP); return 0; }
  const pue = num('pue', values.pue);
  const carbonIntensity = num('intensity', values.intensity);
  const gpuHours = num('gpu-hours', values['gpu-hours']);
  const cpuSeconds = num('cpu-seconds', values['cpu-seconds']);
  if (!values.table15 && gpuHours === undefined && cpuSeconds === undefined) throw new Error(`nothing to compute: give --table15, --gpu-hours H or --cpu-seconds S\n${HELP}`);
  const out: unknown[] = [];
  if (values.table15 || gpuHours !== undefined) {
    const runs = values.table15 ? TABLE15_RUNS.map((r) => ({ ...r, pue, carbonIntensity })) : [];
    if (gpuHours !== undefined) runs.push({ name: values.name ?? 'run', gpuHours, gpuWatts: num('gpu-watts', values['gpu-watts']) ?? 400, pue, carbonIntensity });
    const rows = runs.map(gpuFootprint);
    if (values.json) out.push(...rows); else console.log(footprintTable(rows));
  }
  if (cpuSeconds !== undefined) {
    const e = cpuEstimate(cpuSeconds, { wattsPerCore: num('watts-per-core', values['watts-per-core']), pue, carbonIntensity });
    if (values.json) out.push(e);
    else console.log(`${values.name ?? 'CPU run'}: ${e.energyKWh.toFixed(4)} kWh, ${e.kgco2eq.toFixed(4)} kgCO2eq (${e.note})`);
  }
  if (values.json) console.log(JSON.stringify(out.length === 1 ? out[0] : out, null, 2));
  return 0;
}
