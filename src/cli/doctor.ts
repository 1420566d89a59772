/**
 * `flywheel doctor`: which backend is active and why, threads, the BLAS core
 * type, a quick matmul GFLOP/s, and whether the code sandbox can isolate.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Report the compute backend, threads, BLAS core type, a quick matmul speed, and the code sandbox')
    .option('--line', 'print only the one-line backend summary')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', [
      '', 'Examples:',
      '  flywheel doctor                        # backend, threads, BLAS core type, matmul GFLOP/s, sandbox',
      '  flywheel doctor --json',
      '  FLYWHEEL_BACKEND=wasm flywheel doctor   # how the portable backend does on this machine',
      '', 'Force a backend with FLYWHEEL_BACKEND=native|wasm|js|ref; threads with FLYWHEEL_THREADS.',
    ].join('\n'))
    .action(async (flags: { line?: boolean; json?: boolean }) => {
      const backend = await import('../tensor/backend.ts');
      const { initBackend, backendLine } = backend;
      const info = await initBackend();
      const K = backend.K; // read the live binding after initBackend has set it
      if (flags.line) {
        process.stdout.write(backendLine(info) + '\n');
        return;
      }
      const n = info.name === 'ref' ? 128 : 512;
      const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 13) / 13 - 0.5);
      const c = new Float32Array(n * n);
      K.matmul(a, a, c, 1, n, n, n, false, false, false, 0, 0); // warm up
      let reps = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 300 || reps < 2) {
        K.matmul(a, a, c, 1, n, n, n, false, false, false, 0, 0);
        reps++;
      }
      const gflops = (2 * n ** 3 * reps) / ((performance.now() - t0) / 1000) / 1e9;
      const { detectSandbox } = await import('../envs/code/detect.ts');
      const choice = detectSandbox();
      const sandbox = `${choice.sandbox.name} (${choice.reason})`;
      const report = {
        backend: info.name, forced: info.forced, detail: info.detail, skipped: info.skipped,
        matmul: { n, gflops: Number(gflops.toFixed(1)), kernels: K.name },
        node: process.version, cores: (await import('node:os')).availableParallelism(),
        env: { FLYWHEEL_BACKEND: process.env.FLYWHEEL_BACKEND ?? null, FLYWHEEL_THREADS: process.env.FLYWHEEL_THREADS ?? null, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null },
        sandbox,
      };
      if (flags.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return;
      }
      const lines = [
        backendLine(info),
        ...info.skipped.map((s) => `  (skipped ${s.name}: ${s.reason})`),
        `matmul ${n}x${n}x${n}: ${report.matmul.gflops} GFLOP/s`,
        `node ${report.node}, ${report.cores} cores`,
        `code sandbox: ${sandbox}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
