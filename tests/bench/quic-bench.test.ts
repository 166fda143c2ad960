import { describe, expect, it } from 'vitest';
import { medianOf, pairedRatios, quicBenchOptionsFromArgs, ratios, runQuicBench, type LoadResult, type VariantFigures } from '../../bench/quic.ts';
import { runRpcMemory } from '../../bench/rpc-memory.ts';
import { rpcBenchIncludesQuic } from '../../bench/rpc.ts';

function figures(callsPerSec: number, timeouts = 0): VariantFigures {
  return { calls: callsPerSec, timeouts, callsPerSec, p50Ms: 1, p99Ms: 2, cpuUsPerCall: 50, runs: [callsPerSec] };
}

describe('quic bench', () => {
  it('runs shoal-rpc over real QUIC on loopback and reports well-formed figures', async () => {
    const report = await runQuicBench({ variants: ['shoal-rpc', 'shoal-transport'], inFlight: [1, 16], runs: 1, durationMs: 250, warmupMs: 100 });
    const parsed = JSON.parse(JSON.stringify(report)) as {
      packetBytesLimit: number; packetBytesMaxSeen: number;
      results: Record<string, Record<string, VariantFigures>>; ratios: Record<string, Record<string, number>>;
      pairedRatios: Record<string, Record<string, { callsPerSec: number; cpuUsPerCall: number; p99Ms: number }>>;
      streaming: { results: Record<string, { messages: number; messagesPerSec: number; cpuUsPerMessage: number }>; ratios: Record<string, number> };
    };
    for (const level of ['1', '16']) {
      const rpc = parsed.results['shoal-rpc']![level]!;
      expect(rpc.calls).toBeGreaterThan(0);
      expect(rpc.timeouts).toBe(0);
      expect(rpc.callsPerSec).toBeGreaterThan(0);
      expect(rpc.p99Ms).toBeGreaterThanOrEqual(rpc.p50Ms);
      expect(rpc.runs).toHaveLength(1);
      expect(rpc.packetsPerCall).toBeGreaterThan(0);
      expect(rpc.packetBytesMax).toBeLessThanOrEqual(rpc.packetBytesLimit!);
    }
    expect(parsed.packetBytesMaxSeen).toBeGreaterThan(0);
    expect(parsed.packetBytesMaxSeen).toBeLessThanOrEqual(parsed.packetBytesLimit);
    expect(parsed.ratios['shoal-rpc/shoal-transport']!['16']).toBeGreaterThan(0);
    expect(parsed.pairedRatios['shoal-rpc/shoal-transport']!['16']!.cpuUsPerCall).toBeGreaterThan(0);
    expect(parsed.pairedRatios['shoal-rpc/shoal-transport']!['16']!.p99Ms).toBeGreaterThan(0);
    // One-way streaming, RPC server stream against the transport: both moved messages.
    for (const name of ['shoal-rpc', 'shoal-transport']) expect(parsed.streaming.results[name]!.messages, name).toBeGreaterThan(0);
    expect(parsed.streaming.ratios['shoal-rpc/shoal-transport']).toBeGreaterThan(0);
  }, 20_000);

  it('reads its options from `shoal bench quic` arguments', () => {
    expect(quicBenchOptionsFromArgs({ runs: '5', 'in-flight': '16,256', duration: '800', variants: 'shoal-rpc,shoal-transport', streaming: 'false' })).toEqual({
      runs: 5, inFlight: [16, 256], durationMs: 800, variants: ['shoal-rpc', 'shoal-transport'], streaming: false,
    });
    expect(quicBenchOptionsFromArgs({})).toEqual({ runs: 3, streaming: true });
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, Number.NaN, 2, 3])).toBe(2.5);
    expect(medianOf([])).toBeNull();
  });

  it('pairs run i with run i: calls/s, CPU per call and p99, each the median over runs', () => {
    const run = (callsPerSec: number, cpuUsPerCall: number, p99Ms: number): LoadResult => ({ calls: callsPerSec, timeouts: 0, callsPerSec, p50Ms: 1, p99Ms, cpuUsPerCall });
    const samples = new Map<string, LoadResult[]>([
      // Run 2 of both variants hit a stall: its p99 doubles, the ratio of that pair does not.
      ['shoal-rpc@256', [run(900, 110, 33), run(950, 100, 80), run(800, 120, 36)]],
      ['raw-multiplexed-coalesced@256', [run(1000, 100, 30), run(1000, 100, 70), run(1000, 100, 24)]],
    ]);
    expect(pairedRatios(samples, [256])['shoal-rpc/raw-multiplexed-coalesced']!['256']).toEqual({ callsPerSec: 0.9, cpuUsPerCall: 1.1, p99Ms: 1.14 });
  });

  it('reports a ratio against a baseline that completed no call as null with a reason', () => {
    const out = ratios({
      'shoal-rpc': { 256: figures(30_000) },
      'raw-stream-per-call': { 256: figures(0, 256) },
      'raw-multiplexed-coalesced': { 256: figures(40_000) },
    }, [256]);
    expect(out['shoal-rpc/raw-multiplexed-coalesced']!['256']).toBe(0.75);
    const perCall = out['shoal-rpc/raw-stream-per-call']!['256'];
    expect(perCall).toMatchObject({ value: null });
    expect((perCall as { reason: string }).reason).toMatch(/256 timed out/);
    expect(out['shoal-rpc/tcp']).toBeUndefined();
  });

  it('the rpc bench includes the quic part unless told to skip it', () => {
    expect(rpcBenchIncludesQuic({}, {})).toBe(true);
    expect(rpcBenchIncludesQuic({ quic: false }, {})).toBe(false);
    expect(rpcBenchIncludesQuic({}, { SHOAL_BENCH_RPC_QUIC: '0' })).toBe(false);
  });

  it('measures the RPC layer alone over an in-memory pipe', async () => {
    const figures = await runRpcMemory(8, 2_000);
    expect(figures.calls).toBe(2_000);
    expect(figures.callsPerSec).toBeGreaterThan(0);
    // Framing, call objects and msgpack of a 64-byte echo: well under a millisecond of CPU per call.
    expect(figures.cpuUsPerCall).toBeLessThan(1_000);
  });
});
