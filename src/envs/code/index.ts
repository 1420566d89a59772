/**
 * The code environment: task families whose completions are programs, run in
 * a sandbox (bubblewrap + node when available, else in-process QuickJS; see
 * sandbox.ts and detect.ts).
 *
 *   code-js-v1   write a small JavaScript function from a spec (code_js.ts)
 *   code-rpn-v1  write a stack-language program for a formula; interpreted
 *                in-process, no sandbox needed (rpn.ts)
 */
import type { TaskFamily } from '../types.ts';
import { codeJs } from './code_js.ts';
import { codeRpn } from './rpn.ts';

export const CODE_FAMILIES: readonly TaskFamily[] = [codeJs, codeRpn];

export { createCodeJsFamily, extractCode, type CodeJsOptions } from './code_js.ts';
export { activeSandboxName, chooseSandbox, detectSandbox, type SandboxChoice } from './detect.ts';
export { DEFAULT_LIMITS, type RunResult, type Sandbox, type SandboxLimits, type SandboxName } from './sandbox.ts';
export { BwrapSandbox, probeBwrap } from './bwrap.ts';
export { QuickJsSandbox } from './quickjs.ts';
