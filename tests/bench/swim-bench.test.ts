import { describe, expect, it } from 'vitest';
import { childFailure, runSwimSizeInChild } from '../../bench/swim.ts';

describe('swim bench: a size that does not complete', () => {
  it('says why it stopped and how far it got, from the child\'s progress lines', () => {
    const oom = 'progress 5000 4100 900\nprogress 10000 8200 2400\n\n<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n 9: 0x1080237 v8::internal::StackGuard::HandleInterrupts()';
    expect(childFailure(oom, {}, 4096)).toEqual({
      error: 'did not complete: ran out of its 4096 MiB heap after 10 s simulated (8200 members started, RSS 2400 MiB)',
      reachedSimulatedMs: 10_000, membersStarted: 8200, rssMiB: 2400,
    });
    expect(childFailure('progress 5000 100 80\n', { timedOutAfterMs: 300_000 }, 4096).error).toBe('did not complete: timed out after 300 s wall after 5 s simulated (100 members started, RSS 80 MiB)');
    // What Node prints for an uncaught exception: the error is named, not the last stack frame.
    const crash = 'progress 5000 100 80\n/work/bench/swim.ts:90\n    throw new RangeError(\'Invalid array length\');\n    ^\n\nRangeError: Invalid array length\n    at runSwimSize (/work/bench/swim.ts:90:11)\n    at asyncRunEntryPointWithESMLoader (node:internal/modules/run_main:117:11)\n\nNode.js v20.20.2\n';
    expect(childFailure(crash, {}, 4096).error).toBe('did not complete: RangeError: Invalid array length after 5 s simulated (100 members started, RSS 80 MiB)');
    expect(childFailure('progress 5000 100 80\n', { signal: 'SIGKILL' }, 4096).error).toBe('did not complete: was killed by SIGKILL after 5 s simulated (100 members started, RSS 80 MiB)');
    expect(childFailure('', {}, 4096).error).toBe('did not complete: exited without a result before its first progress report');
    // The child's own guard: it stops while the heap is nearly full rather than collect for minutes.
    expect(childFailure('progress 5000 2501 1597\nprogress 9000 4501 3933\nHeapFull: 3494 of 4096 MiB in use after a full collection at 9 s simulated\n', {}, 4096)).toEqual({
      error: 'did not complete: ran out of its 4096 MiB heap (3494 MiB still in use after a full collection) after 9 s simulated (4501 members started, RSS 3933 MiB)',
      reachedSimulatedMs: 9_000, membersStarted: 4501, rssMiB: 3933,
    });
  });

  it('a child that completes reports its figures, the live heap per observer-member pair and the steady CPU per member among them', () => {
    // 90 s simulated: the steady window (from a third of the run, 60 s long) ends at the last second.
    const result = runSwimSizeInChild(100, 90_000, 512, 60_000) as { heapBytesPerPair: number; steadyCpuMicrosPerMemberSecond: number | null };
    expect(result).toMatchObject({ size: 100, simulatedMs: 90_000, convergedAtMs: expect.any(Number) });
    expect(result.heapBytesPerPair).toBeGreaterThan(0);
    expect(result.steadyCpuMicrosPerMemberSecond).toBeGreaterThan(0);
  }, 60_000);

  it('a real child whose heap fills stops by itself and says how far it got', () => {
    // Only the child's guard names the heap still in use; V8 running out says nothing of it.
    const result = runSwimSizeInChild(2000, 600_000, 300, 120_000);
    expect(result).toMatchObject({ size: 2000, error: expect.stringMatching(/^did not complete: ran out of its 300 MiB heap \(\d+ MiB still in use after a full collection\) after [\d.]+ s simulated \(\d+ members started, RSS \d+ MiB\)$/) });
    expect((result as { reachedSimulatedMs: number }).reachedSimulatedMs).toBeGreaterThan(5_000);
  }, 130_000);

  it('a real child cut off by its wall-time bound reports the simulated time it reached', () => {
    const result = runSwimSizeInChild(1000, 600_000, 3072, 6_000);
    expect(result).toMatchObject({ size: 1000, error: expect.stringMatching(/^did not complete: timed out after 6 s wall after \d+ s simulated \(\d+ members started, RSS \d+ MiB\)$/) });
    expect((result as { reachedSimulatedMs: number }).reachedSimulatedMs).toBeGreaterThanOrEqual(5_000);
  }, 20_000);
});
