// Reading charts back: elements by class, attributes, path points, and a check that tags balance.
import assert from 'node:assert/strict';

export interface El {
  tag: string;
  attrs: Record<string, string>;
  text: string; // the text up to the next tag (for <text> elements)
}

const unescape = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** Every opening (or self-closing) tag with its attributes, in document order. */
export function elements(svg: string): El[] {
  const out: El[] = [];
  for (const m of svg.matchAll(/<([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"]*")*)\s*\/?>([^<]*)/g)) {
    const attrs: Record<string, string> = {};
    for (const a of m[2].matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = unescape(a[2]);
    out.push({ tag: m[1], attrs, text: unescape(m[3]) });
  }
  return out;
}

/** Elements whose class list holds every class given ("tick x"). */
export function byClass(svg: string, cls: string): El[] {
  const want = cls.split(' ');
  return elements(svg).filter((e) => want.every((c) => (e.attrs.class ?? '').split(' ').includes(c)));
}

/** The subpaths of an SVG path: "M1,2 L3,4 M5,6" -> [[[1,2],[3,4]], [[5,6]]]. */
export function subpaths(d: string): [number, number][][] {
  const out: [number, number][][] = [];
  for (const m of d.matchAll(/([ML])(-?[\d.]+),(-?[\d.]+)/g)) {
    if (m[1] === 'M') out.push([]);
    out.at(-1)!.push([Number(m[2]), Number(m[3])]);
  }
  return out;
}

/** Asserts the markup is balanced: every non-void tag closed in order (a cheap well-formedness check). */
export function assertBalanced(markup: string): void {
  const VOID = new Set(['meta', 'br', 'img', 'link', 'input', 'hr']);
  const stack: string[] = [];
  const body = markup.replace(/<!DOCTYPE[^>]*>/i, '').replace(/<style>[\s\S]*?<\/style>/, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, tag, selfClosing] = m;
    if (selfClosing || (!closing && VOID.has(tag))) continue;
    if (!closing) stack.push(tag);
    else assert.equal(stack.pop(), tag, `</${tag}> closes the wrong element at offset ${m.index}`);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
}
