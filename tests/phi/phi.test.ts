import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/index.ts';
import { PhiAccrualDetector, phiExponential, phiNormal, varianceOf } from '../../core/phi/index.ts';

// Expected values computed by hand from the formulas in notes/SWIM.md:
// normal: -log10(1 - 1/(1 + e^(-y(1.5976 + 0.070566 y²)))), y = (t - mean)/stdDev
// exponential: (t / mean) / ln 10.
describe('phiNormal', () => {
  it.each([
    [1000, 1000, 100, 0.30103],
    [1100, 1000, 100, 0.799508],
    [1300, 1000, 100, 2.909475],
    [1500, 1000, 100, 7.299947],
    [2000, 1000, 250, 4.736695],
  ])('elapsed %d, mean %d, stdDev %d → %f', (elapsed, mean, std, expected) => {
    expect(phiNormal(elapsed, mean, std)).toBeCloseTo(expected, 5);
  });

  it('stays finite and grows far into the tail', () => {
    const a = phiNormal(5000, 1000, 100);
    expect(Number.isFinite(a)).toBe(true);
    expect(a).toBeGreaterThan(phiNormal(2000, 1000, 100));
  });

  it('is near zero well before the mean', () => {
    expect(phiNormal(500, 1000, 100)).toBeLessThan(1e-6);
  });
});

describe('phiExponential', () => {
  it.each([
    [0, 1000, 0],
    [1000, 1000, 0.434294],
    [2000, 1000, 0.868589],
    [18_420, 1000, 8.0],
  ])('elapsed %d, mean %d → %f', (elapsed, mean, expected) => {
    expect(phiExponential(elapsed, mean)).toBeCloseTo(expected, 2);
  });
});

describe('PhiAccrualDetector', () => {
  it('starts from Akka’s bootstrap: mean = first interval, stdDev = first / 4', () => {
    const d = new PhiAccrualDetector({ firstIntervalMs: 1000 });
    expect(d.meanIntervalMs).toBe(1000);
    expect(d.stdDevMs).toBe(250);
    expect(d.phi(0)).toBe(0);
    d.heartbeat(0);
    expect(d.phi(2000)).toBeCloseTo(4.736695, 5);
  });

  it('keeps running mean and variance over the window', () => {
    const d = new PhiAccrualDetector({ firstIntervalMs: 1000 });
    d.heartbeat(0);
    d.heartbeat(1000);
    d.heartbeat(2000);
    // samples 750, 1250, 1000, 1000 → mean 1000, stdDev 176.78
    expect(d.meanIntervalMs).toBe(1000);
    expect(d.stdDevMs).toBeCloseTo(176.7767, 3);
    expect(d.phi(3500)).toBeCloseTo(2.656852, 5);
  });

  it('forgets samples beyond the window', () => {
    const d = new PhiAccrualDetector({ windowSize: 3, firstIntervalMs: 1000 });
    let t = 0;
    d.heartbeat(t);
    for (let i = 0; i < 10; i++) d.heartbeat((t += 200));
    expect(d.sampleCount).toBe(3);
    expect(d.meanIntervalMs).toBeCloseTo(200, 9);
    expect(d.stdDevMs).toBeCloseTo(0, 6);
  });

  it('applies the minimum standard deviation and the acceptable pause', () => {
    const d = new PhiAccrualDetector({ windowSize: 2, firstIntervalMs: 1000, minStdDevMs: 100, acceptablePauseMs: 3000 });
    d.heartbeat(0);
    d.heartbeat(1000);
    d.heartbeat(2000);
    // mean 1000 + pause 3000, stdDev 0 → floored at 100: phi at elapsed = 4000 is the median.
    expect(d.phi(6000)).toBeCloseTo(0.30103, 5);
    expect(d.isAvailable(6000)).toBe(true);
    expect(d.isAvailable(2000 + 4000 + 600)).toBe(false);
  });

  it('exponential model uses the mean only', () => {
    const d = new PhiAccrualDetector({ model: 'exponential', windowSize: 2, firstIntervalMs: 1000 });
    d.heartbeat(0);
    d.heartbeat(500);
    d.heartbeat(1000);
    expect(d.phi(2000)).toBeCloseTo(phiExponential(1000, 500), 9);
  });

  it('refuses invalid options with ConfigError', () => {
    expect(() => new PhiAccrualDetector({ windowSize: 0 })).toThrow(ConfigError);
    expect(() => new PhiAccrualDetector({ minStdDevMs: -1 })).toThrow(ConfigError);
    expect(() => new PhiAccrualDetector({ model: 'gamma' as 'normal' })).toThrow(ConfigError);
    expect(() => new PhiAccrualDetector({ acceptablePauseMs: Number.NaN })).toThrow(ConfigError);
  });

  it('variance is never negative', () => {
    expect(varianceOf(2, 2, 1.9999999)).toBe(0);
  });
});
