/**
 * Chooses the sandbox for this machine: bubblewrap when a smoke run of node
 * under it succeeds, else QuickJS, with the reason either way. Memoized: the
 * probe (one ~50 ms synchronous run) happens on first use, not at import.
 */
import { BwrapSandbox, probeBwrap, type BwrapProbe } from './bwrap.ts';
import { QuickJsSandbox } from './quickjs.ts';
import type { Sandbox, SandboxName } from './sandbox.ts';

export interface SandboxChoice {
  sandbox: Sandbox;
  /** Why this one, e.g. 'bubblewrap works' or 'bwrap not found on PATH (...); falling back to QuickJS ...'. */
  reason: string;
}

let detected: SandboxChoice | null = null;

export function detectSandbox(): SandboxChoice {
  detected ??= chooseSandbox(probeBwrap());
  return detected;
}

/** The sandbox a probe result calls for: bubblewrap if it passed, else QuickJS with the probe's reason. */
export function chooseSandbox(probe: BwrapProbe): SandboxChoice {
  return probe.ok
    ? { sandbox: new BwrapSandbox(probe.setup), reason: 'bubblewrap works' }
    : { sandbox: new QuickJsSandbox(), reason: `${probe.reason}; falling back to QuickJS (pure JS, in-process)` };
}

/** The name of the sandbox the code families use by default ('bwrap' or 'quickjs'). */
export function activeSandboxName(): SandboxName {
  return detectSandbox().sandbox.name;
}
