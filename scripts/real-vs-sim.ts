/**
 * The real-vs-simulator agreement table (docs/SCENARIOS.md, "Real and simulated runs"):
 * every library scenario that real mode supports, run REAL times on real nodes and on SIM
 * seeds in the simulator, with the pass count of each expectation in both worlds.
 *
 *   npx tsx scripts/real-vs-sim.ts [--real 5] [--sim 20] [--json] [FILE...]
 *
 * Needs root for the scenarios that run in network namespaces (the others run on loopback).
 * Real runs are sequential and take about the scenario's duration plus a few seconds each.
 */
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadScenarioFile } from '../scenarios/load.ts';
import { checkRealSupport, runScenarioReal } from '../scenarios/real.ts';
import { runScenario, type RunReport } from '../scenarios/runner.ts';

const { values, positionals } = parseArgs({
  options: { real: { type: 'string', default: '5' }, sim: { type: 'string', default: '20' }, json: { type: 'boolean' } },
  allowPositionals: true,
});
const realRuns = Number(values.real);
const simRuns = Number(values.sim);
const files = positionals.length > 0 ? positionals : readdirSync('scenarios/library').filter((f) => f.endsWith('.yaml')).sort().map((f) => `scenarios/library/${f}`);

interface Row {
  file: string;
  network: string;
  expectations: string[];
  /** Passes of each expectation, and of the whole run, in each world. */
  real: { runs: number; passed: number; byExpectation: number[]; failures: string[] };
  sim: { runs: number; passed: number; byExpectation: number[]; failures: string[] };
}

const tally = (reports: RunReport[], count: number) => ({
  runs: reports.length,
  passed: reports.filter((r) => r.ok).length,
  byExpectation: Array.from({ length: count }, (_, i) => reports.filter((r) => r.expectations[i]?.ok === true).length),
  failures: reports.flatMap((r) => r.expectations.filter((e) => !e.ok).map((e) => `${r.mode === 'sim' ? `seed ${r.seed}` : 'real'}: ${e.name}: ${e.detail}`)),
});

const rows: Row[] = [];
for (const file of files) {
  const scenario = loadScenarioFile(file);
  let network: string;
  try {
    network = checkRealSupport(scenario);
  } catch (error) {
    process.stderr.write(`${file}: not in real mode: ${(error as Error).message}\n`);
    continue;
  }
  const sims: RunReport[] = [];
  for (let seed = 1; seed <= simRuns; seed++) sims.push(await runScenario(scenario, { seed, reproduce: `npx shoal run ${file} --seed ${seed}` }));
  const reals: RunReport[] = [];
  for (let i = 0; i < realRuns; i++) {
    const report = await runScenarioReal(scenario, { seed: scenario.seed, reproduce: `npx shoal run ${file}` });
    reals.push(report);
    process.stderr.write(`${file} real ${i + 1}/${realRuns}: ${report.ok ? 'PASS' : `FAIL (${report.expectations.filter((e) => !e.ok).map((e) => e.name).join('; ')})`}\n`);
  }
  const names = sims[0]!.expectations.map((e) => e.name);
  rows.push({ file, network, expectations: names, real: tally(reals, names.length), sim: tally(sims, names.length) });
}

if (values.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log(`| scenario | network | expectation | real passes / ${realRuns} | simulator passes / ${simRuns} |`);
  console.log('| --- | --- | --- | --- | --- |');
  for (const row of rows) {
    row.expectations.forEach((name, i) => {
      console.log(`| ${i === 0 ? row.file.replace('scenarios/library/', '') : ''} | ${i === 0 ? row.network : ''} | ${name} | ${row.real.byExpectation[i]} | ${row.sim.byExpectation[i]} |`);
    });
  }
  for (const row of rows) {
    const failures = [...row.real.failures, ...row.sim.failures];
    if (failures.length > 0) console.log(`\n${row.file}:\n${failures.map((f) => `  ${f}`).join('\n')}`);
  }
}
