import { describe, expect, it } from 'vitest';
import { lifeguardScenario, runLifeguardBench } from '../../bench/lifeguard.ts';

describe('bench lifeguard', () => {
  it('one small cell: classic SWIM declares healthy members failed behind a slow member, Lifeguard does not, and both detect the crash', async () => {
    const result = await runLifeguardBench({ members: 20, seeds: 1, slowCounts: [2], delaysMs: [10_000], losses: [0], durationMs: 40_000 });
    const cell = result.cells[0]!;
    expect(result.cells).toHaveLength(1);
    expect(cell.off.falseHealthy).toBeGreaterThan(5);
    expect(cell.on.falseHealthy).toBeLessThanOrEqual(cell.off.falseHealthy / 5);
    expect(result.healthyReduction).toBe(Math.round(cell.off.falseHealthy / Math.max(1, cell.on.falseHealthy) * 100) / 100);
    expect(cell.off.firstDetectionMs).not.toBeNull();
    expect(cell.on.firstDetectionMs).not.toBeNull();
    expect(Object.keys(result)).toEqual(expect.arrayContaining(['healthyReduction', 'allReduction', 'worstDetectionRatio', 'cells', 'method']));
  }, 60_000);

  it('builds each run as an ordinary scenario', () => {
    const s = lifeguardScenario({ members: 10, slow: 2, delayMs: 1_000, loss: 0.1, lifeguard: false, durationMs: 30_000, seed: 3 });
    expect(s.cluster.lifeguard).toBe(false);
    expect(s.faults.map((f) => f.kind)).toEqual(['slow', 'crash']);
    expect(s.network.loss).toBe(0.1);
  });
});
