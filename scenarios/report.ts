import type { RunReport } from './runner.ts';

/** The text report of one run. */
export function formatReport(report: RunReport): string {
  const lines = [
    `scenario ${report.scenario} (${report.mode}), seed ${report.seed}: ${report.ok ? 'PASS' : 'FAIL'}`,
    `  ${(report.simulatedMs / 1000).toFixed(1)} s simulated in ${report.wallMs} ms wall, ${report.events} events, trace ${report.traceHash}`,
  ];
  for (const e of report.expectations) lines.push(`  ${e.ok ? '✓' : '✗'} ${e.name}\n      ${e.detail}`);
  const m = report.membership;
  lines.push(`  membership: ${Object.entries(m.events).map(([k, v]) => `${k} ${v}`).join(', ') || 'no events'}; false failures ${m.falseFailures}`);
  for (const d of m.detection) {
    lines.push(`    crash of ${d.node} at ${d.crashAtMs} ms: first failed after ${d.firstMs?.toFixed(0) ?? '—'} ms, by all after ${d.allMs?.toFixed(0) ?? '—'} ms`);
  }
  if (report.rpc) {
    const r = report.rpc;
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1) : '—');
    lines.push(`  rpc: ${r.issued} calls, ${r.succeeded} ok, failed ${JSON.stringify(r.failed)}, shed ${r.shed}, lost ${r.pendingAtEnd}, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`);
  }
  if (!report.ok) lines.push(`  reproduce: ${report.reproduce}`);
  return lines.join('\n');
}
