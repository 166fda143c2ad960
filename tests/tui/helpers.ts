import type { MemberState, MemberView, ObserverSnapshot } from '../../tui/index.ts';

/** A member view as a SWIM node would report it. */
export function view(name: string, state: MemberState = 'alive', extra: Partial<MemberView> = {}): MemberView {
  return { name, address: `${name}:7946`, state, incarnation: 0, tags: {}, phi: 0, health: 'healthy', stateChangedAtMs: 0, ...extra };
}

/** An observer that sees `names` with the given states (alive unless listed). */
export function observer(name: string, names: readonly string[], states: Record<string, MemberState> = {}, extra: Partial<ObserverSnapshot> = {}): ObserverSnapshot {
  return { name, address: `${name}:7946`, condition: 'up', localHealth: 0, view: names.map((n) => view(n, states[n] ?? 'alive')), ...extra };
}

export function names(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}
