/**
 * The test harness: wraps a candidate program and a list of test inputs into
 * one JavaScript program that runs in either sandbox, and grades what it
 * reports.
 *
 * Inside the sandbox the harness
 *   1. compiles the candidate with `new Function` (a SyntaxError is reported,
 *      not thrown), runs its top level, and looks up the named function;
 *   2. calls it on each test's arguments (awaiting a returned promise),
 *      encoding each return value with ENCODE (canonical JSON-like text,
 *      capped at OUT_CHARS) or recording the thrown error (name, message,
 *      code, syscall); an out-of-memory error ends the testing, as V8's
 *      fatal heap limit does;
 *   3. prints one line: RESULTS_MARK followed by JSON, and exits.
 * Expected outputs never enter the sandbox: the host compares the encodings
 * with its own encoding of the expected values, so a program can only "fake"
 * a pass by returning the right value. The harness captures the builtins it
 * uses (JSON.stringify, process.exit, fs.writeSync, console.log) before the
 * candidate runs, so the candidate can break only its own results.
 *
 * gradeRun() turns a RunResult into a Verdict:
 *   correct         every test passed (reward 1)
 *   wrong           some test returned a wrong value (reward = fraction passed)
 *   runtime_error   some test threw (reward = fraction passed), or the program
 *                   died without reporting (reward 0)
 *   syntax_error | missing_function | timeout | memory_limit | blocked |
 *   sandbox_error   reward 0. 'blocked' means an error from the OS (anything
 *                   with a syscall, EACCES, ENETUNREACH, ...) or, in QuickJS,
 *                   a reference to require/process/fetch: an attempt to reach
 *                   outside the function.
 */
import type { Json, Verdict } from '../types.ts';
import { CORRECT, fail } from '../answer.ts';
import type { RunResult } from './sandbox.ts';

/** Starts the harness's results line on stdout. */
export const RESULTS_MARK = '@@flywheel-results@@';
/** Error messages that mean the program ran out of memory (V8, QuickJS). */
const MEMORY_MESSAGE = /out of memory|allocation failed|Invalid string length|string too long/i;
/** Encoded return values are cut at this many characters. */
const OUT_CHARS = 2000;

/** The value encoder, as source, so the sandbox and the host run the very same function. */
const ENCODE = `function encode(v) {
  const stringify = JSON.stringify, isArray = Array.isArray, keys = Object.keys, isFinite = Number.isFinite;
  const LIMIT = ${OUT_CHARS};
  function enc(v, depth) {
    if (depth > 32) return '<too deep>';
    if (v === undefined) return 'undefined';
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return stringify(v);
    if (typeof v === 'number') return isFinite(v) ? (v === 0 ? '0' : stringify(v)) : String(v);
    if (typeof v === 'bigint') return String(v) + 'n';
    if (typeof v !== 'object') return '<' + typeof v + '>';
    let s = isArray(v) ? '[' : '{';
    const ks = isArray(v) ? null : keys(v).sort();
    const n = ks ? ks.length : v.length;
    for (let i = 0; i < n && s.length <= LIMIT; i++) {
      if (i > 0) s += ',';
      s += ks ? stringify(ks[i]) + ':' + enc(v[ks[i]], depth + 1) : enc(v[i], depth + 1);
    }
    return s + (ks ? '}' : ']');
  }
  const s = enc(v, 0);
  return s.length > LIMIT ? s.slice(0, LIMIT) + '...' : s;
}`;

const hostEncode = new Function(`return (${ENCODE});`)() as (v: unknown) => string;

/** The canonical text of a value, as the harness reports it. */
export function encodeValue(v: Json): string {
  return hostEncode(v);
}

/** The program the sandbox runs: `source` defines `fnName`; each entry of `inputs` is one call's argument list. */
export function buildHarness(source: string, fnName: string, inputs: readonly Json[][]): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(fnName)) throw new Error(`buildHarness: bad function name ${JSON.stringify(fnName)}`);
  return `(function () {
  'use strict';
  const stringify = JSON.stringify, parse = JSON.parse;
  const encode = ${ENCODE};
  const emit = (typeof process === 'object' && process !== null && typeof require === 'function')
    ? ((writeSync, exit) => (line) => { writeSync(1, '\\n' + line + '\\n'); exit(0); })(require('fs').writeSync, process.exit.bind(process))
    : ((log) => (line) => log('\\n' + line))(console.log);
  const report = (obj) => emit(${JSON.stringify(RESULTS_MARK)} + stringify(obj));
  const describe = (e) => {
    try {
      if (e === null || typeof e !== 'object') return { name: 'Thrown', message: String(e).slice(0, 300) };
      const cause = e.cause !== null && typeof e.cause === 'object' ? e.cause : {};
      const str = (x) => (typeof x === 'string' ? x.slice(0, 300) : undefined);
      return { name: str(e.name) || 'Error', message: str(e.message) || '', code: str(e.code) || str(cause.code), syscall: str(e.syscall) || str(cause.syscall) };
    } catch (_) {
      return { name: 'Error', message: '(unreadable error)' };
    }
  };
  const OUT_OF_MEMORY = ${MEMORY_MESSAGE.toString()};
  const SOURCE = ${JSON.stringify(source)};
  const INPUTS = parse(${JSON.stringify(JSON.stringify(inputs))});
  let body;
  try {
    body = new Function(SOURCE + '\\n;return typeof ${fnName} === "function" ? ${fnName} : undefined;');
  } catch (e) {
    report({ compile: describe(e) });
    return;
  }
  let fn;
  try {
    fn = body();
  } catch (e) {
    report({ setup: describe(e) });
    return;
  }
  if (typeof fn !== 'function') {
    report({ missing: true });
    return;
  }
  (async function () {
    const results = [];
    for (const args of INPUTS) {
      try {
        let v = fn.apply(undefined, args);
        if (v !== null && typeof v === 'object' && typeof v.then === 'function') v = await v;
        results.push({ out: encode(v) });
      } catch (e) {
        const d = describe(e);
        results.push({ error: d });
        if (OUT_OF_MEMORY.test(d.message)) break; // as fatal as V8's heap limit: no more tests
      }
    }
    report({ results });
  })();
})();
`;
}

interface ErrorInfo {
  name: string;
  message: string;
  code?: string;
  syscall?: string;
}

type Report = { compile: ErrorInfo } | { setup: ErrorInfo } | { missing: true } | { results: ({ out: string } | { error: ErrorInfo })[] };

/** OS error codes that mean the sandbox refused something (file, network, process). */
const BLOCKED_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNREFUSED', 'EAI_AGAIN', 'ENOTFOUND', 'EAGAIN', 'EFBIG', 'EMFILE']);
/** In QuickJS these simply do not exist; reaching for them is an escape attempt. */
const BLOCKED_GLOBALS = /^'?(require|process|fetch|module|Deno|Bun|XMLHttpRequest|WebSocket|setTimeout|setInterval)'? is not defined/;

function classify(e: ErrorInfo): 'blocked' | 'memory_limit' | 'runtime_error' {
  if (e.syscall || (e.code && BLOCKED_CODES.has(e.code))) return 'blocked';
  if (e.name === 'ReferenceError' && BLOCKED_GLOBALS.test(e.message)) return 'blocked';
  if (MEMORY_MESSAGE.test(e.message)) return 'memory_limit';
  return 'runtime_error';
}

const clip = (s: string, n = 160): string => (s.length > n ? `${s.slice(0, n)}...` : s);
const errText = (e: ErrorInfo): string => clip(`${e.name}: ${e.message}${e.code ? ` (${e.code})` : ''}`);

/**
 * The harness's report, if the run printed one (the last results line wins),
 * rebuilt field by field: the program can print anything after the marker.
 */
function readReport(stdout: string): Report | null {
  const at = stdout.lastIndexOf(RESULTS_MARK);
  if (at < 0) return null;
  let end = stdout.indexOf('\n', at);
  if (end < 0) end = stdout.length;
  let r: Record<string, unknown>;
  try {
    const parsed = JSON.parse(stdout.slice(at + RESULTS_MARK.length, end)) as unknown;
    if (parsed === null || typeof parsed !== 'object') return null;
    r = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  if ('compile' in r) return { compile: toError(r.compile) };
  if ('setup' in r) return { setup: toError(r.setup) };
  if (r.missing === true) return { missing: true };
  if (!Array.isArray(r.results)) return null;
  return {
    results: r.results.map((x: unknown) => {
      const o = (x !== null && typeof x === 'object' ? x : {}) as Record<string, unknown>;
      return 'error' in o ? { error: toError(o.error) } : { out: typeof o.out === 'string' ? o.out : '<malformed result>' };
    }),
  };
}

function toError(x: unknown): ErrorInfo {
  const o = (x !== null && typeof x === 'object' ? x : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { name: str(o.name) ?? 'Error', message: str(o.message) ?? '', code: str(o.code), syscall: str(o.syscall) };
}

/**
 * Grades a harness run against the expected outputs (one per input, in
 * order). `label` names the sandbox in details ('bwrap', 'quickjs').
 */
export function gradeRun(run: RunResult, expected: readonly Json[], label: string): Verdict {
  const tag = (reason: string, detail: string): Verdict => fail(reason, `[${label}] ${detail}`);
  if (run.status === 'sandbox_error') return tag('sandbox_error', clip(run.stderr, 300));
  if (run.status === 'timeout') return tag('timeout', `killed after ${Math.round(run.wallMs)} ms (${run.signal ?? 'deadline'})`);
  if (run.status === 'memory_limit') return tag('memory_limit', clip(lastLine(run.stderr)));
  if (run.status === 'killed') return tag('runtime_error', `killed by ${run.signal ?? `exit ${run.exitCode}`}`);
  const report = readReport(run.stdout);
  if (!report) {
    const why = run.truncated ? 'output flood hid the results' : `exit ${run.exitCode}: ${clip(lastLine(run.stderr)) || 'no output'}`;
    return tag('runtime_error', `the program ended without reporting results (${why})`);
  }
  if ('compile' in report) return tag(report.compile.name === 'SyntaxError' ? 'syntax_error' : 'runtime_error', errText(report.compile));
  if ('setup' in report) return tag(classify(report.setup), `top-level code threw ${errText(report.setup)}`);
  if ('missing' in report) return tag('missing_function', 'the program does not define the function');
  const results = report.results;
  const last = results[results.length - 1];
  if (last && 'error' in last && classify(last.error) === 'memory_limit') return tag('memory_limit', `test ${results.length} threw ${errText(last.error)}`);
  if (results.length !== expected.length) return tag('runtime_error', `reported ${results.length} results for ${expected.length} tests`);
  let passed = 0;
  let firstFailure = '';
  let threw = false;
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if ('error' in r) {
      const kind = classify(r.error);
      if (kind !== 'runtime_error') return tag(kind, `test ${i + 1} threw ${errText(r.error)}`);
      threw = true;
      firstFailure ||= `test ${i + 1} threw ${errText(r.error)}`;
    } else if (r.out === encodeValue(expected[i])) passed++;
    else firstFailure ||= `test ${i + 1}: got ${clip(String(r.out), 80)}, expected ${clip(encodeValue(expected[i]), 80)}`;
  }
  if (passed === expected.length) return CORRECT;
  const detail = `[${label}] ${passed}/${expected.length} tests passed; ${firstFailure}`;
  return { reward: passed / expected.length, ok: false, reason: threw ? 'runtime_error' : 'wrong', detail };
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n').filter((l) => l.trim() !== '');
  const err = lines.find((l) => /^\w*Error\b|FATAL|bwrap:/.test(l.trim()));
  return (err ?? lines[lines.length - 1] ?? '').trim();
}
