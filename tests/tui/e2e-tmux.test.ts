import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Runs `shoal tui` in a real terminal (tmux), presses keys like a person would and reads
 * the screen with capture-pane. Skipped, with a message, where tmux is not installed.
 */
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.warn('tests/tui/e2e-tmux.test.ts: tmux is not installed; skipping the terminal end-to-end test (CI installs it with apt)');

const session = `shoal-tui-e2e-${process.pid}`;
const scenarioSession = `${session}-scenario`;
const seed = 3;
const hint = `seed ${seed}: reproduce by hand with \`node bin/shoal.js tui --seed ${seed} --nodes 5\``;
const scenarioFile = 'scenarios/library/local-crash.yaml';
const scenarioHint = `seed 1: reproduce by hand with \`node bin/shoal.js tui --scenario ${scenarioFile}\``;

/**
 * A tmux server of this test's own (its own socket), started with this process's
 * environment and cwd: a server another program started earlier would run the dashboard
 * with that program's environment, and other sessions on it could interfere.
 */
const socket = ['-L', session, '-f', '/dev/null'];

function tmux(...args: string[]): string {
  return execFileSync('tmux', [...socket, ...args], { encoding: 'utf8', cwd: process.cwd() });
}

const screenOf = (name: string) => tmux('capture-pane', '-p', '-t', name);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, predicate: (text: string) => boolean, timeoutMs = 30_000, name = session): Promise<string> {
  const start = Date.now();
  let text = '';
  while (Date.now() - start < timeoutMs) {
    text = screenOf(name);
    if (predicate(text)) return text;
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what} (${name === session ? hint : scenarioHint}); the screen was:\n${text}`);
}

function row(text: string, name: string): string {
  return text.split('\n').find((line) => new RegExp(`^[> ][ *]${name}\\s+${name}:7946`).test(line)) ?? '';
}

afterAll(() => {
  if (!hasTmux) return;
  spawnSync('tmux', [...socket, 'kill-server']);
});

describe('shoal tui in a terminal', () => {
  it.skipIf(!hasTmux)('pauses, crashes a member, partitions, heals and quits, as a person sees it', async () => {
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50',
      `node bin/shoal.js tui --seed ${seed} --nodes 5 --save /tmp/${session}.yaml; echo EXIT=$?; sleep 30`);
    await waitFor('the dashboard', (t) => t.includes('RUNNING') && t.includes('5 members: 5 alive'));

    tmux('send-keys', '-t', session, ' ');
    await waitFor('pause', (t) => t.includes('PAUSED'));

    tmux('send-keys', '-t', session, 'j', 'j', 'c');
    let text = await waitFor('the crash', (t) => t.includes('crashed n3') && /DOWN/.test(row(t, 'n3')));
    expect(row(text, 'n3')).toContain('DOWN');

    // Resume ten times faster; every other member declares n3 dead.
    tmux('send-keys', '-t', session, ' ', '+');
    text = await waitFor('n3 declared dead', (t) => /\bdead\s+4\/4\b/.test(row(t, 'n3')));
    expect(text).toContain('failed');
    expect(text).toMatch(/4 alive 1 dead/);

    tmux('send-keys', '-t', session, 'j', 'm', 'j', 'm', 'p');
    await waitFor('the partition', (t) => t.includes('partitioned n4 n5') && /\d+ cuts/.test(t));
    await waitFor('disagreement across the cut', (t) => /members disputed|\bsuspect\b/.test(t));

    tmux('send-keys', '-t', session, 'h');
    await waitFor('the heal', (t) => t.includes('healed the network') && t.includes('no partition'));
    await waitFor('n4 and n5 alive again', (t) => /\balive\b/.test(row(t, 'n4')) && /\balive\b/.test(row(t, 'n5')) && t.includes('converged'), 45_000);

    tmux('send-keys', '-t', session, 'w');
    await waitFor('the saved path', (t) => t.includes(`saved 3 actions to /tmp/${session}.yaml`));
    tmux('send-keys', '-t', session, 'q');
    text = await waitFor('exit', (t) => t.includes('EXIT='));
    expect(text).toContain('EXIT=0');
    // The alternate screen is gone: the shell's screen is back.
    expect(text).not.toContain('View matrix');
    const saved = readFileSync(`/tmp/${session}.yaml`, 'utf8');
    rmSync(`/tmp/${session}.yaml`);
    expect(saved).toMatch(/crash: n3 }/);
    expect(saved).toMatch(/partition: \[ \[ n4, n5 \], \[ n1, n2, n3 \] \] }/);
    expect(saved).toMatch(/heal: true }/);
  });
});

describe('shoal tui over a scenario, in a terminal', () => {
  it.skipIf(!hasTmux)('checks the expectations live, stops at the scenario\'s end with the verdict, and continues past it on n', async () => {
    const name = scenarioSession;
    const send = (...keys: string[]) => tmux('send-keys', '-t', name, ...keys);
    tmux('new-session', '-d', '-s', name, '-x', '200', '-y', '50', `node bin/shoal.js tui --scenario ${scenarioFile}; echo EXIT=$?; sleep 30`);
    let text = await waitFor('the dashboard with its expectations pending', (t) => t.includes('RUNNING') && t.includes(' / 18.0 s') &&
      /… pending +every live member sees n3 failed within 10s of its crash/.test(t), 30_000, name);
    expect(text).toMatch(/… pending +views converge within 5s after 12s/);
    // At ×1, n3 (crashed at 3 s) is declared failed by everyone around 8 s, before the views converge at 12 s.
    text = await waitFor('the detection passed while the run goes', (t) => /✓ passed +every live member sees n3 failed within 10s/.test(t), 30_000, name);
    expect(text).toMatch(/… pending +no false failure/);
    expect(text).not.toContain('SCENARIO ENDED');
    send('+', '+');
    text = await waitFor('the scenario\'s end', (t) => t.includes('SCENARIO ENDED'), 30_000, name);
    expect(text).toContain('t=18.0 s / 18.0 s');
    expect(text).toContain('Expectations  verdict PASS: 3/3 passed at the end (t=18.0 s)');
    expect(text).toMatch(/✓ passed +no false failure/);
    expect(text).toMatch(/✓ passed +views converge within 5s after 12s/);
    expect(text).not.toMatch(/pending/);
    // The run stays at the end, even at ×100.
    await sleep(1_000);
    expect(screenOf(name)).toContain('t=18.0 s / 18.0 s');
    send('n');
    text = await waitFor('the run past the end', (t) => /t=(19|[2-9]\d)\.\d s \/ 18\.0 s \(past the end\)/.test(t), 30_000, name);
    expect(text).toContain('Expectations  verdict PASS');
    send('q');
    text = await waitFor('exit', (t) => t.includes('EXIT='), 30_000, name);
    expect(text).toContain('EXIT=0');
  });
});

describe('shoal tui without a terminal', () => {
  it('says in one line that a --scenario file is missing, and exits with code 2', () => {
    const result = spawnSync('node', ['bin/shoal.js', 'tui', '--scenario', 'no/such/scenario.yaml'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('shoal tui: cannot read no/such/scenario.yaml: no such file\n');
    expect(result.stdout).toBe('');
  });

  it('says it needs a terminal and exits with code 2', () => {
    const result = spawnSync('node', ['bin/shoal.js', 'tui', '--seed', '1'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('needs an interactive terminal');
    expect(result.stdout).toBe('');
  });

  it('rejects bad flags with usage', () => {
    const result = spawnSync('node', ['bin/shoal.js', 'tui', '--nodes', 'many'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--nodes must be an integer');
  });
});
