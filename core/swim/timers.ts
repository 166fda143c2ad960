import type { TimerTable } from '../timers.ts';

/**
 * Every deadline of one member, kept in its one timer table (quinn's `Timer` enum): each
 * module sets and clears its own keys, `Swim` dispatches their expiry in one `switch`.
 */
export type SwimTimer = 'probe' | 'probeTimeout' | 'gossip' | 'pushPull' | 'pushPullDeadline' | 'suspicion' | 'relay' | 'reap' | 'join' | 'catchUp';

export type SwimTimers = TimerTable<SwimTimer>;
