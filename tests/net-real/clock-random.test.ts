import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../core/index.ts';
import { CryptoRandom, Keyring, RealClock, gossipVersionSealed, gossipVersionSealedV1, isGossipPacket } from '../../net-real/index.ts';
import { sleep } from './quic-harness.ts';

describe('RealClock', () => {
  it('fires timers no earlier than asked and cancels them', async () => {
    const clock = new RealClock();
    const start = clock.now();
    const fired: number[] = [];
    clock.setTimer(15, () => fired.push(clock.now() - start));
    const cancelled = clock.setTimer(5, () => fired.push(-1));
    clock.cancelTimer(cancelled);
    clock.cancelTimer(12345);
    await sleep(40);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(14.5);
    expect(clock.pendingTimerCount).toBe(0);
    expect(() => clock.setTimer(-1, () => undefined)).toThrow(InvalidArgumentError);
    expect(() => clock.setTimer(Number.NaN, () => undefined)).toThrow(InvalidArgumentError);
  });
});

describe('CryptoRandom', () => {
  it('draws uniform-looking values in [0, 1), differently per instance', () => {
    const a = new CryptoRandom();
    const b = new CryptoRandom();
    const draws = Array.from({ length: 10_000 }, () => a.next());
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(b.next()).not.toBe(new CryptoRandom().next());
  });

  it('forks reproducibly per label and independently across labels', () => {
    const parent = new CryptoRandom();
    const x = parent.fork('probe');
    const y = parent.fork('probe');
    const z = parent.fork('gossip');
    const first = x.next();
    expect(y.next()).toBe(first);
    expect(z.next()).not.toBe(first);
  });
});

describe('Keyring', () => {
  it('seals so only holders of the key open, and never yields a QUIC-looking first byte', () => {
    const ring = new Keyring([Buffer.alloc(32, 3)]);
    const packet = ring.seal(Buffer.from('hello'));
    expect(packet[0]).toBe(gossipVersionSealed);
    expect(packet[0]! & 0x40).toBe(0);
    expect(isGossipPacket(packet)).toBe(true);
    expect(Buffer.from(ring.open(packet)!).toString()).toBe('hello');
    expect(new Keyring([Buffer.alloc(32, 4)]).open(packet)).toBeUndefined();
    const tampered = Buffer.from(packet);
    tampered[tampered.length - 1]! ^= 1;
    expect(ring.open(tampered)).toBeUndefined();
    expect(ring.open(packet.subarray(0, 10))).toBeUndefined();
  });

  it('refuses a replayed message, a stale or future one, and a gossip packet offered as a state frame', () => {
    let now = 1_000_000;
    const key = Buffer.alloc(32, 5);
    const sender = new Keyring([key], { now: () => now });
    const receiver = new Keyring([key], { now: () => now, replayWindowMs: 10_000 });
    const packet = sender.seal(Buffer.from('ping'));
    expect(Buffer.from(receiver.open(packet)!).toString()).toBe('ping');
    expect(receiver.openChecked(packet)).toBe('replayed');
    // A fresh packet with the same content is not a replay.
    expect(receiver.open(sender.seal(Buffer.from('ping')))).toBeDefined();
    const old = sender.seal(Buffer.from('old'));
    now += 10_001;
    expect(receiver.openChecked(old)).toBe('stale');
    // A sender whose clock runs ahead by more than the window is refused too.
    const ahead = new Keyring([key], { now: () => now + 10_001 });
    expect(receiver.openChecked(ahead.seal(Buffer.from('x')))).toBe('stale');
    const state = sender.seal(Buffer.from('state'), 'state');
    expect(receiver.openChecked(state, 'gossip')).toBe('unauthenticated');
    expect(Buffer.from(receiver.open(state, 'state')!).toString()).toBe('state');
    expect(receiver.refusals).toEqual({ unauthenticated: 1, stale: 2, replayed: 1 });
  });

  it('bounds the replay cache: past its size the oldest nonces are forgotten and counted', () => {
    const now = 5_000;
    const key = Buffer.alloc(32, 6);
    const sender = new Keyring([key], { now: () => now });
    const receiver = new Keyring([key], { now: () => now, replayCacheMax: 4 });
    const packets = Array.from({ length: 6 }, (_, i) => sender.seal(Buffer.of(i)));
    for (const p of packets) expect(receiver.open(p)).toBeDefined();
    expect(receiver.replayCacheEvictions).toBe(2);
    expect(receiver.openChecked(packets[5]!)).toBe('replayed');
  });

  it('refuses the retired sealed format (version 1, no timestamp), which could be replayed', () => {
    const ring = new Keyring([Buffer.alloc(32, 3)]);
    const packet = Buffer.from(ring.seal(Buffer.from('hello')));
    packet[0] = gossipVersionSealedV1;
    expect(isGossipPacket(packet)).toBe(true);
    expect(ring.openChecked(packet)).toBe('unauthenticated');
  });

  it('parses base64 key files and refuses malformed keys', () => {
    const text = `# gossip keys\n${Keyring.generateKeyText()}\n\n${Keyring.generateKeyText()}\n`;
    expect(Keyring.fromText(text).size).toBe(2);
    expect(() => Keyring.fromText('c2hvcnQ=')).toThrow(/32/);
    expect(() => Keyring.fromText('')).toThrow(/at least one key/);
  });
});
