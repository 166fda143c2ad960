import type { Logger } from '../env.ts';
import type { SwimStats } from './member.ts';

/** The counters a refusal increments. */
export type RefusalStat = 'appDelegateErrors' | 'incarnationsRejected' | 'pushPullRejected' | 'pushPullRefusedByPeer' | 'membersRefusedTotal' | 'membersRefusedPerPushPull' | 'membersRefusedRate';

/**
 * Input this member refused (or application code that threw): counted in `stats` and
 * logged, the first time and then each time the count doubles, so a flood of bad input
 * cannot flood the log.
 */
export class Refusals {
  constructor(private readonly stats: SwimStats, private readonly logger: Logger) {}

  count(stat: RefusalStat, message: string, fields: Record<string, unknown>): void {
    const count = ++this.stats[stat];
    if ((count & (count - 1)) === 0) this.logger.log('warn', message, { ...fields, [stat]: count });
  }
}
