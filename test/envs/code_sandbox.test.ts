// Escape attempts against every sandbox implementation: each must be
// contained and leave the host unharmed. The same programs run in both
// sandboxes (in QuickJS most fail at `require`, which is the point); bwrap
// tests are skipped, with the probe's reason, where bubblewrap is unusable.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BwrapSandbox, probeBwrap } from '../../src/envs/code/bwrap.ts';
import { QuickJsSandbox } from '../../src/envs/code/quickjs.ts';
import { chooseSandbox } from '../../src/envs/code/detect.ts';
import { OutputCapture, type RunResult, type Sandbox, type SandboxLimits } from '../../src/envs/code/sandbox.ts';
import { Rng } from '../../src/util/rng.ts';

const LIMITS: Partial<SandboxLimits> = { cpuSeconds: 1, wallSeconds: 3, memoryMB: 64, maxProcesses: 24, outputBytes: 16 * 1024 };
const PROJECT_FILE = fileURLToPath(new URL('../../package.json', import.meta.url));
const PROJECT_DIR = dirname(PROJECT_FILE);
const TOKEN = String(new Rng(`code-sandbox-test:${process.pid}`).range(100_000, 999_999));
const HOST_TMP_MARK = `/tmp/flywheel-escape-${TOKEN}`;

const probe = probeBwrap();
const bwrapSetup = probe.ok ? probe.setup : null; // null: those tests are skipped
const IMPLEMENTATIONS: { name: string; make: () => Sandbox; skip: string | false }[] = [
  { name: 'bwrap', make: () => new BwrapSandbox(bwrapSetup!), skip: probe.ok ? false : `bubblewrap unavailable here: ${probe.ok ? '' : probe.reason}` },
  { name: 'quickjs', make: () => new QuickJsSandbox(), skip: false },
];

/** The last line of stdout that parses as a JSON object. */
function report(r: RunResult): Record<string, unknown> | null {
  const lines = r.stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      const v = JSON.parse(l) as unknown;
      if (v && typeof v === 'object') return v as Record<string, unknown>;
    } catch {
      // not JSON
    }
  }
  return null;
}

/**
 * Host processes whose command line mentions `token`, after giving the kernel
 * up to 3 s to finish killing a torn-down sandbox's pid namespace.
 */
async function hostProcessesWith(token: string): Promise<number[]> {
  let pids = scanProcesses(token);
  for (let i = 0; i < 30 && pids.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pids = scanProcesses(token);
  }
  return pids;
}

function scanProcesses(token: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(token)) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

const allDenied = (rep: Record<string, unknown> | null) => rep !== null && Object.values(rep).every((v) => typeof v === 'string' && v.startsWith('DENIED'));

for (const impl of IMPLEMENTATIONS) {
  describe(`${impl.name} sandbox`, { skip: impl.skip }, () => {
    let sb: Sandbox;
    let server: Server;
    let port = 0;
    let connections = 0;
    before(async () => {
      sb = impl.make();
      server = createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('runs a program and captures its output', async () => {
      const r = await sb.run('console.log("hello", 6 * 7)', LIMITS);
      assert.equal(r.status, 'exited');
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdout, 'hello 42\n');
    });

    test('cannot read /etc/passwd or the project', async () => {
      assert.ok(readFileSync(PROJECT_FILE, 'utf8').includes('"name"'), 'the host can read the project file');
      const paths = ['/etc/passwd', PROJECT_FILE, `/proc/1/root${PROJECT_FILE}`, '/root/.bashrc'];
      const r = await sb.run(
        `const seen = {};
        for (const p of ${JSON.stringify(paths)}) {
          try { seen[p] = 'READ ' + require('fs').readFileSync(p, 'utf8').slice(0, 40); }
          catch (e) { seen[p] = 'DENIED ' + e.name + ' ' + (e.code || ''); }
        }
        console.log(JSON.stringify(seen));`,
        LIMITS,
      );
      const rep = report(r);
      assert.ok(rep === null ? r.exitCode !== 0 && /require/.test(r.stderr) : allDenied(rep), `${r.stdout} ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /root:|"name"/);
    });

    test('cannot reach the network (loopback server on the host, an outside address, fetch)', async () => {
      const r = await sb.run(
        `(async () => {
          const net = require('net');
          const attempt = (host, port) => new Promise((res) => {
            const s = net.connect({ host, port });
            s.on('connect', () => { s.destroy(); res('CONNECTED'); });
            s.on('error', (e) => res('DENIED ' + e.code));
          });
          const out = {};
          out.loopback = await attempt('127.0.0.1', ${port});
          out.outside = await attempt('1.1.1.1', 80);
          try { await fetch('http://example.com/'); out.fetch = 'FETCHED'; } catch (e) { out.fetch = 'DENIED ' + (e.cause && e.cause.code); }
          console.log(JSON.stringify(out));
        })().catch((e) => console.log(JSON.stringify({ all: 'DENIED ' + e.name })));`,
        LIMITS,
      );
      assert.ok(allDenied(report(r)), `${r.status} ${r.stdout} ${r.stderr}`);
      assert.equal(connections, 0, 'the host server saw a connection');
    });

    test('child processes run as nobody and a process flood stops at the limit', async () => {
      const r = await sb.run(
        `const cp = require('child_process');
        const out = {};
        try { out.uid = String(cp.execFileSync('/usr/bin/id', ['-u'])).trim(); } catch (e) { out.uid = 'DENIED ' + e.code; }
        let attempts = 0, failed = 0;
        for (let i = 0; i < 200; i++) {
          attempts++;
          try { cp.spawn('/usr/bin/sleep', ['${TOKEN}']).on('error', () => failed++); } catch (e) { failed++; }
        }
        setTimeout(() => { out.alive = attempts - failed; console.log(JSON.stringify(out)); process.exit(0); }, 500);`,
        LIMITS,
      );
      const rep = report(r);
      if (impl.name === 'bwrap') {
        assert.ok(rep, `${r.status} ${r.stdout} ${r.stderr}`);
        assert.equal(rep.uid, '65534');
        assert.ok((rep.alive as number) < LIMITS.maxProcesses!, `alive ${rep.alive}`);
      } else assert.match(r.stderr, /'require' is not defined/);
      assert.deepEqual(await hostProcessesWith(TOKEN), [], 'sandbox processes outlived the run');
    });

    test('a bounded fork bomb ends and leaves nothing behind', async () => {
      const bomb = `b() { [ "$1" -lt 8 ] || exec sleep ${TOKEN}.5; b $(($1+1)) & b $(($1+1)) & wait; }; b 0`;
      const r = await sb.run(`require('child_process').spawnSync('/bin/sh', ['-c', ${JSON.stringify(bomb)}]); console.log('survived')`, LIMITS);
      assert.notEqual(r.status, 'sandbox_error', r.stderr);
      assert.ok(r.wallMs < 10_000);
      assert.deepEqual(await hostProcessesWith(`${TOKEN}.5`), [], 'fork bomb processes outlived the run');
    });

    test('cannot allocate 10 GB', async () => {
      // In 1 GB pieces: a single 10 GB typed array is refused by the engines' own length limits.
      const r = await sb.run('const parts = []; for (let i = 0; i < 10; i++) parts.push(new Uint8Array(1024 ** 3).fill(1)); console.log("ALLOCATED")', LIMITS);
      assert.equal(r.status, 'memory_limit', `${r.status} ${r.stderr.slice(0, 300)}`);
      assert.doesNotMatch(r.stdout, /ALLOCATED/);
    });

    test('a growing heap is stopped at the memory limit', async () => {
      const r = await sb.run('const a = []; for (;;) a.push(new Array(1e5).fill(a.length));', { ...LIMITS, cpuSeconds: 3, wallSeconds: 6 });
      assert.equal(r.status, 'memory_limit', `${r.status} ${r.stderr.slice(0, 300)}`);
    });

    test('an infinite loop is killed at the CPU limit', async () => {
      const r = await sb.run('for (;;) {}', LIMITS);
      assert.equal(r.status, 'timeout');
      assert.ok(r.wallMs >= 900 && r.wallMs < 8000, `wall ${r.wallMs} ms`);
    });

    test('a loop around a slow builtin is stopped too', async () => {
      const r = await sb.run("const s = 'x'.repeat(1e7); for (;;) s.indexOf('y');", LIMITS);
      assert.equal(r.status, 'timeout');
      assert.ok(r.wallMs < 8000, `wall ${r.wallMs} ms`);
    });

    test('unbounded recursion is an ordinary error, not a crash', async () => {
      const r = await sb.run('function f(n) { return f(n + 1) + 1; } f(0);', LIMITS);
      assert.deepEqual([r.status, r.exitCode], ['exited', 1]);
      assert.match(r.stderr, /Maximum call stack size exceeded|stack overflow/);
    });

    test('writes outside the scratch dir never reach the host', async () => {
      const targets = [HOST_TMP_MARK, `${PROJECT_DIR}/escape-${TOKEN}`, `/usr/escape-${TOKEN}`];
      const r = await sb.run(
        `const out = {};
        for (const p of ${JSON.stringify(targets)}) {
          try { require('fs').writeFileSync(p, 'x'); out[p] = 'WROTE'; } catch (e) { out[p] = 'DENIED ' + e.code; }
        }
        console.log(JSON.stringify(out));`,
        LIMITS,
      );
      assert.notEqual(r.status, 'sandbox_error', r.stderr);
      for (const t of targets) assert.equal(existsSync(t), false, `${t} exists on the host`);
      const rep = report(r);
      if (rep) assert.match(String(rep[`/usr/escape-${TOKEN}`]), /^DENIED/); // read-only /usr
    });

    test('process.exit ends only the sandboxed program', async () => {
      const r = await sb.run('console.log("before"); process.exit(7); console.log("after")', LIMITS);
      assert.doesNotMatch(r.stdout, /after/);
      assert.notEqual(r.exitCode, 0);
      const again = await sb.run('console.log("still here")', LIMITS);
      assert.equal(again.stdout, 'still here\n');
    });

    test('huge stdout is truncated, keeping head and tail', async () => {
      const r = await sb.run('const line = "y".repeat(1023); for (let i = 0; i < 4096; i++) console.log(line); console.log("THE END");', { ...LIMITS, cpuSeconds: 3, wallSeconds: 6 });
      assert.equal(r.status, 'exited');
      assert.equal(r.truncated, true);
      assert.ok(r.stdout.length <= LIMITS.outputBytes! + 100, `${r.stdout.length} chars kept`);
      assert.match(r.stdout, /^y+/);
      assert.match(r.stdout, /THE END\n$/);
    });
  });
}

describe('bwrap only', { skip: probe.ok ? false : `bubblewrap unavailable here: ${probe.ok ? '' : probe.reason}` }, () => {
  test('the root holds only /usr, /proc, /dev, /tmp and /lib-style links; no env leaks', async () => {
    const sb = new BwrapSandbox(bwrapSetup!);
    const r = await sb.run('console.log(JSON.stringify({ root: require("fs").readdirSync("/"), env: Object.keys(process.env), uid: process.getuid() }))', LIMITS);
    const rep = report(r) as { root: string[]; env: string[]; uid: number };
    for (const hidden of ['etc', 'home', 'root', 'work', 'var']) assert.ok(!rep.root.includes(hidden), `/${hidden} is visible: ${rep.root}`);
    assert.deepEqual(rep.env.sort(), ['HOME', 'PATH', 'PWD']);
    assert.equal(rep.uid, 65534);
  });

  test('a program that sleeps forever is killed at the wall limit', async () => {
    const sb = new BwrapSandbox(bwrapSetup!);
    const r = await sb.run('setInterval(() => {}, 1000)', { ...LIMITS, wallSeconds: 1.5 });
    assert.equal(r.status, 'timeout');
    assert.equal(r.signal, 'SIGKILL');
  });
});

describe('choosing a sandbox', () => {
  test('missing bubblewrap falls back to QuickJS and says why', () => {
    const p = probeBwrap(['/nonexistent-dir']);
    assert.equal(p.ok, false);
    const choice = chooseSandbox(p);
    assert.equal(choice.sandbox.name, 'quickjs');
    assert.match(choice.reason, /bwrap not found.*QuickJS/);
  });

  test('OutputCapture keeps head and tail within the budget', () => {
    const c = new OutputCapture(10);
    for (const ch of 'abcdefghijklmnopqrstuvwxyz') c.push(ch);
    assert.equal(c.truncated, true);
    assert.equal(c.text(), 'abcde\n[... output truncated ...]\nvwxyz');
    const small = new OutputCapture(10);
    small.push('hi');
    assert.equal(small.text(), 'hi');
  });
});
