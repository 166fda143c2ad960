import type { LogEvent, MemberEventKind } from './types.ts';
import { memberEventKinds } from './types.ts';

/** The membership event shape a SWIM node emits (`Swim.subscribe`), read defensively: it may come from a real node. */
interface RawMemberEvent {
  type?: unknown;
  name?: unknown;
  incarnation?: unknown;
  phi?: unknown;
  from?: unknown;
  members?: unknown;
}

const kinds = new Set<string>([...memberEventKinds, 'refuted']);

/** Turns one membership event reported by `observer` into an event log line; undefined when it is not one. */
export function memberEventToLog(observer: string, detail: unknown, timeMs: number): LogEvent | undefined {
  if (typeof detail !== 'object' || detail === null) return undefined;
  const e = detail as RawMemberEvent;
  if (typeof e.type !== 'string' || !kinds.has(e.type)) return undefined;
  const kind = (e.type === 'refuted' ? 'alive' : e.type) as MemberEventKind;
  const member = typeof e.name === 'string' && e.name !== '' ? e.name : undefined;
  const incarnation = typeof e.incarnation === 'number' ? ` inc ${e.incarnation}` : '';
  let text: string;
  switch (e.type) {
    case 'suspect':
      text = `${observer}: ${member} suspect${incarnation}${typeof e.phi === 'number' ? ` (phi ${e.phi.toFixed(1)})` : ''}${typeof e.from === 'string' ? ` by ${e.from}` : ''}`;
      break;
    case 'alive':
      text = `${observer}: ${member} refuted suspicion${incarnation}`;
      break;
    case 'refuted':
      text = `${observer}: refuted a suspicion about itself${incarnation}`;
      break;
    case 'partition-detected':
    case 'partition-healed': {
      const members = Array.isArray(e.members) ? e.members.filter((m): m is string => typeof m === 'string') : [];
      const shown = members.slice(0, 6).join(' ') + (members.length > 6 ? ` +${members.length - 6}` : '');
      text = `${observer}: ${e.type === 'partition-detected' ? 'partition detected' : 'partition healed'} (${members.length}: ${shown})`;
      break;
    }
    default:
      text = `${observer}: ${member} ${e.type}${incarnation}`;
  }
  return { timeMs, kind, observer, ...(member === undefined ? {} : { member }), text };
}
