/**
 * shortest-path-v1: a shortest path in a small weighted undirected graph.
 *
 *   prompt  `path A to D: AB2 BD1 AC4 CD1 BC3`
 *   answer  `A B D`
 *
 * Each edge is written as its two end nodes (single letters) and its weight
 * (one digit): `AB2` joins A and B with length 2. The answer is the node
 * sequence from the start to the goal; the spaces are optional (`ABD` is read
 * the same). ANY path that starts and ends right, follows edges, and has the
 * minimal total length is correct, not only the reference one.
 *
 * Difficulty raises the node count (4 to 10), the edge count (4 to 15) and the
 * weight range. Graphs are connected; from level 2 on the shortest path has at
 * least one intermediate node.
 *
 * Hard cases: tasks where the demonstrator's systematic blind spot changes the
 * answer: it takes the path with the fewest edges (the lightest among those),
 * which is not always the shortest.
 *
 * Verdict reasons: correct | no_answer | malformed (anything but capital
 * letters, ignoring whitespace) | not_a_path (a step along a missing edge, or
 * the wrong start or end) | not_shortest.
 */
import type { Task, TaskFamily, Verdict } from '../types.ts';
import { CORRECT, extractAnswer, fail, formatAnswer } from '../answer.ts';
import { Rng } from '../../util/rng.ts';
import { defineTaskFamily, type DrawnTask } from '../define.ts';

const ID = 'shortest-path-v1';

/** Per difficulty level (index = level - 1): node count, edge count, largest edge weight. */
const LEVELS: readonly { nodes: number; edges: number; maxWeight: number }[] = [
  { nodes: 4, edges: 4, maxWeight: 3 },
  { nodes: 5, edges: 6, maxWeight: 5 },
  { nodes: 6, edges: 8, maxWeight: 9 },
  { nodes: 7, edges: 10, maxWeight: 9 },
  { nodes: 8, edges: 12, maxWeight: 9 },
  { nodes: 10, edges: 15, maxWeight: 9 },
];

const LETTERS = 'ABCDEFGHIJ';

/** Added per edge when minimizing hops first (larger than any path's total weight). */
const HOP_COST = 1000;

/** At most this many simple paths are enumerated when looking for a detour. */
const MAX_PATHS = 500;

/** One undirected edge: [u, v, weight] with u < v. */
type Edge = [string, string, number];

/** What the verifier needs: the edges (in prompt order) and the two ends. */
interface PathMeta {
  edges: Edge[];
  from: string;
  to: string;
}

/** Adjacency: node -> neighbour -> weight. */
type Graph = Map<string, Map<string, number>>;


function metaOf(task: Task): PathMeta {
  if (task.env !== ID) throw new Error(`${ID}: got a task of env ${JSON.stringify(task.env)}`);
  return { edges: task.meta.edges as Edge[], from: task.meta.from as string, to: task.meta.to as string };
}

function buildGraph(edges: readonly Edge[]): Graph {
  const g: Graph = new Map();
  for (const [u, v, w] of edges) {
    if (!g.has(u)) g.set(u, new Map());
    if (!g.has(v)) g.set(v, new Map());
    g.get(u)!.set(v, w);
    g.get(v)!.set(u, w);
  }
  return g;
}

/** Total weight of a node sequence, or null if some step is not an edge. */
function pathWeight(g: Graph, path: readonly string[]): number | null {
  let total = 0;
  for (let i = 1; i < path.length; i++) {
    const w = g.get(path[i - 1])?.get(path[i]);
    if (w === undefined) return null;
    total += w;
  }
  return total;
}

/**
 * Dijkstra (O(V^2), ties broken by node name) from `from` to `to`; each edge
 * costs `cost(weight)`. Returns the node sequence; the graph must connect them.
 */
function dijkstra(g: Graph, from: string, to: string, cost: (w: number) => number = (w) => w): string[] {
  const dist = new Map<string, number>([[from, 0]]);
  const prev = new Map<string, string>();
  const done = new Set<string>();
  for (;;) {
    let u: string | null = null;
    for (const [n, d] of dist) if (!done.has(n) && (u === null || d < dist.get(u)! || (d === dist.get(u)! && n < u))) u = n;
    if (u === null) throw new Error(`${ID}: ${to} is not reachable from ${from}`);
    if (u === to) break;
    done.add(u);
    for (const [v, w] of g.get(u)!) {
      const d = dist.get(u)! + cost(w);
      if (!done.has(v) && (!dist.has(v) || d < dist.get(v)!)) {
        dist.set(v, d);
        prev.set(v, u);
      }
    }
  }
  const path = [to];
  while (path[0] !== from) path.unshift(prev.get(path[0])!);
  return path;
}

/** The blind spot: fewest edges first, then the lightest of those. */
function fewestHops(g: Graph, from: string, to: string): string[] {
  return dijkstra(g, from, to, (w) => HOP_COST + w);
}

/** Simple paths from `from` to `to` in depth-first order (neighbours by name), at most MAX_PATHS. */
function simplePaths(g: Graph, from: string, to: string): string[][] {
  const out: string[][] = [];
  const path = [from];
  const walk = (u: string): void => {
    if (out.length >= MAX_PATHS) return;
    if (u === to) {
      out.push([...path]);
      return;
    }
    for (const v of [...g.get(u)!.keys()].sort()) {
      if (path.includes(v)) continue;
      path.push(v);
      walk(v);
      path.pop();
    }
  };
  walk(from);
  return out;
}

function drawTask(rng: Rng, difficulty: number): DrawnTask {
  const level = LEVELS[difficulty - 1];
  const letters = [...LETTERS.slice(0, level.nodes)];
  for (let attempt = 0; attempt < 1000; attempt++) {
    // A random spanning tree (so the graph is connected), then random extra edges.
    const order = rng.shuffle([...letters]);
    const pairs = new Set<string>();
    const edges: Edge[] = [];
    const addEdge = (a: string, b: string): void => {
      const [u, v] = a < b ? [a, b] : [b, a];
      if (u === v || pairs.has(u + v)) return;
      pairs.add(u + v);
      edges.push([u, v, rng.range(1, level.maxWeight)]);
    };
    for (let i = 1; i < order.length; i++) addEdge(order[i], order[rng.int(i)]);
    while (edges.length < level.edges) addEdge(rng.pick(letters), rng.pick(letters));
    rng.shuffle(edges);
    const [from, to] = rng.shuffle([...letters]);
    const path = dijkstra(buildGraph(edges), from, to);
    if (difficulty > 1 && path.length < 3) continue;
    return {
      prompt: `path ${from} to ${to}: ${edges.map(([u, v, w]) => `${u}${v}${w}`).join(' ')}`,
      answer: path.join(' '),
      meta: { edges, from, to },
    };
  }
  throw new Error(`${ID}: no valid graph after 1000 attempts at difficulty ${difficulty}`);
}

function verify(task: Task, completion: string): Verdict {
  const { edges, from, to } = metaOf(task);
  const got = extractAnswer(completion);
  if (!got.ok) return fail('no_answer');
  const text = got.text.replace(/\s+/g, '');
  if (!/^[A-Z]+$/.test(text)) return fail('malformed', `not a sequence of node letters: ${JSON.stringify(text.slice(0, 40))}`);
  const path = [...text];
  if (path[0] !== from || path[path.length - 1] !== to) {
    return fail('not_a_path', `must go from ${from} to ${to}, got ${text.slice(0, 40)}`);
  }
  const g = buildGraph(edges);
  const weight = pathWeight(g, path);
  if (weight === null) return fail('not_a_path', `a step of ${text.slice(0, 40)} is not an edge`);
  const best = pathWeight(g, dijkstra(g, from, to))!;
  return weight === best ? CORRECT : fail('not_shortest', `length ${weight}, shortest is ${best}`);
}

function solve(task: Task): string {
  const { edges, from, to } = metaOf(task);
  return formatAnswer(dijkstra(buildGraph(edges), from, to).join(' '));
}

/** A longer path: a random non-shortest simple path, or (in a tree) a step out and back first. */
function detour(g: Graph, from: string, to: string, best: number, rng: Rng | null): string[] {
  const longer = simplePaths(g, from, to).filter((p) => pathWeight(g, p)! > best);
  if (longer.length > 0) {
    if (rng) return rng.pick(longer);
    return longer.reduce((a, b) => (pathWeight(g, b)! < pathWeight(g, a)! ? b : a)); // the runner-up
  }
  const shortest = dijkstra(g, from, to);
  const neighbours = [...g.get(from)!.keys()].sort();
  const out = rng ? rng.pick(neighbours) : neighbours[0];
  return [from, out, ...shortest];
}

const ERROR_KINDS = ['detour', 'skip', 'systematic'] as const;

function mistake(task: Task, kind: string, rng: Rng): string {
  const { edges, from, to } = metaOf(task);
  const g = buildGraph(edges);
  const shortest = dijkstra(g, from, to);
  const best = pathWeight(g, shortest)!;
  let wrong: string[];
  if (kind === 'detour') wrong = detour(g, from, to, best, rng);
  else if (kind === 'skip') {
    // Jump over an intermediate node (usually along a missing edge); with none, forget the start.
    const skipped = shortest.length > 2 ? 1 + rng.int(shortest.length - 2) : -1;
    wrong = skipped > 0 ? shortest.filter((_, i) => i !== skipped) : [to];
  } else if (kind === 'systematic') wrong = fewestHops(g, from, to);
  else throw new RangeError(`${ID}: unknown error kind ${JSON.stringify(kind)}; expected one of ${ERROR_KINDS.join(', ')}`);
  const completion = formatAnswer(wrong.join(' '));
  if (!verify(task, completion).ok) return completion;
  // Harmless here (the fewest-hop path is also shortest, or the skipped node was on a tie): take the runner-up.
  return formatAnswer(detour(g, from, to, best, null).join(' '));
}

export const shortestPath: TaskFamily = defineTaskFamily({
  id: ID,
  description: 'Find a shortest path between two nodes of a small weighted undirected graph given as an edge list.',
  difficulty: { min: 1, max: LEVELS.length, default: 2 },
  generate: drawTask,
  verify,
  solve,
  errorKinds: ERROR_KINDS,
  mistake,
  isHard(task: Task): boolean {
    const { edges, from, to } = metaOf(task);
    const g = buildGraph(edges);
    return pathWeight(g, fewestHops(g, from, to))! > pathWeight(g, dijkstra(g, from, to))!;
  },
  /** The number of edges. */
  stat(task: Task): number {
    return metaOf(task).edges.length;
  },
});
