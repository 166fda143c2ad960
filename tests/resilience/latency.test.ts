import { describe, expect, it } from 'vitest';
import { decayWeight, Ewma, PeakEwma } from '../../core/resilience/index.ts';

describe('EWMA latency', () => {
  it('takes the first sample as is and blends later ones by elapsed time', () => {
    const ewma = new Ewma({ decayMs: 100 });
    expect(ewma.value).toBeUndefined();
    ewma.observe(10, 0);
    expect(ewma.value).toBe(10);
    ewma.observe(20, 100);
    // One time constant later the old average keeps weight 1/e.
    expect(ewma.value).toBeCloseTo(10 / Math.E + 20 * (1 - 1 / Math.E), 9);
    ewma.observe(1_000, 100);
    expect(ewma.value).toBeCloseTo(10 / Math.E + 20 * (1 - 1 / Math.E), 9);
  });

  it('decay weight table', () => {
    expect(decayWeight(0, 10)).toBe(1);
    expect(decayWeight(-5, 10)).toBe(1);
    expect(decayWeight(10, 10)).toBeCloseTo(1 / Math.E, 12);
    expect(decayWeight(1e9, 10)).toBe(0);
  });
});

describe('peak EWMA latency', () => {
  it('jumps to a slow sample at once and recovers slowly', () => {
    const peak = new PeakEwma({ decayMs: 1_000 });
    peak.observe(10, 0);
    peak.observe(200, 10);
    expect(peak.value).toBe(200);
    peak.observe(10, 20);
    expect(peak.value!).toBeGreaterThan(190);
    for (let t = 30; t < 10_000; t += 10) peak.observe(10, t);
    expect(peak.value!).toBeLessThan(11);
  });

  it('reads decayed towards zero while idle, so an avoided worker is tried again', () => {
    const peak = new PeakEwma({ decayMs: 1_000 });
    peak.observe(500, 0);
    expect(peak.valueAt(0)).toBe(500);
    expect(peak.valueAt(1_000)).toBeCloseTo(500 / Math.E, 9);
    expect(peak.valueAt(20_000)!).toBeLessThan(0.001);
    expect(new PeakEwma().valueAt(5)).toBeUndefined();
  });
});
