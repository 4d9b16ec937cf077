import { readFileSync } from "node:fs";

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface ClassSize {
  count: number;
  /** Self sizes of its instances. */
  bytes: number;
  /** What its instances keep alive alone (dominator tree), not counting memory held by an enclosing instance of the same class. */
  retained: number;
}

/**
 * Per constructor (objects, closures) or per node kind (strings, arrays, compiled code, native
 * memory) of a V8 heap snapshot file: count, self size and retained size. Retained sizes come from
 * the dominator tree (Cooper–Harvey–Kennedy over the strong edges), so "Socket retains 3 KiB"
 * means 3 KiB that would go with the sockets.
 */
export function summariseHeapSnapshot(file: string): Record<string, ClassSize> {
  const heap = JSON.parse(readFileSync(file, "utf8")) as HeapSnapshot;
  const { node_fields: nodeFields, node_types: nodeTypes, edge_fields: edgeFields, edge_types: edgeTypes } = heap.snapshot.meta;
  const nodeStride = nodeFields.length;
  const edgeStride = edgeFields.length;
  const count = heap.nodes.length / nodeStride;
  const typeAt = nodeFields.indexOf("type");
  const nameAt = nodeFields.indexOf("name");
  const sizeAt = nodeFields.indexOf("self_size");
  const edgeCountAt = nodeFields.indexOf("edge_count");
  const edgeTypeAt = edgeFields.indexOf("type");
  const edgeToAt = edgeFields.indexOf("to_node");
  const weak = edgeTypes[0].indexOf("weak");
  const kinds = nodeTypes[0];

  // Strong out-edges per node (compressed rows), and their reverse.
  const firstEdge = new Uint32Array(count + 1);
  for (let n = 0; n < count; n++) firstEdge[n + 1] = firstEdge[n]! + heap.nodes[n * nodeStride + edgeCountAt]!;
  const targets = new Uint32Array(firstEdge[count]!);
  const strong = new Uint8Array(firstEdge[count]!);
  for (let e = 0; e < targets.length; e++) {
    targets[e] = heap.edges[e * edgeStride + edgeToAt]! / nodeStride;
    strong[e] = heap.edges[e * edgeStride + edgeTypeAt] === weak ? 0 : 1;
  }

  // Post-order from the root (node 0), iteratively.
  const order = new Int32Array(count).fill(-1);
  const postOrder = new Uint32Array(count);
  let visited = 0;
  const stack = new Uint32Array(count);
  const cursor = new Uint32Array(count);
  const seen = new Uint8Array(count);
  let top = 0;
  stack[top++] = 0;
  seen[0] = 1;
  cursor[0] = firstEdge[0]!;
  while (top > 0) {
    const n = stack[top - 1]!;
    let pushed = false;
    while (cursor[n]! < firstEdge[n + 1]!) {
      const e = cursor[n]!++;
      const to = targets[e]!;
      if (!strong[e] || seen[to]) continue;
      seen[to] = 1;
      cursor[to] = firstEdge[to]!;
      stack[top++] = to;
      pushed = true;
      break;
    }
    if (!pushed) {
      top--;
      order[n] = visited;
      postOrder[visited++] = n;
    }
  }

  const predecessorStart = new Uint32Array(count + 1);
  for (let n = 0; n < count; n++) {
    if (order[n]! < 0) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (strong[e]) predecessorStart[targets[e]! + 1]!++;
  }
  for (let n = 0; n < count; n++) predecessorStart[n + 1]! += predecessorStart[n]!;
  const predecessors = new Uint32Array(predecessorStart[count]!);
  const fill = predecessorStart.slice(0, count);
  for (let n = 0; n < count; n++) {
    if (order[n]! < 0) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (strong[e]) predecessors[fill[targets[e]!]!++] = n;
  }

  // Immediate dominators, indexed by post-order number.
  const UNDEFINED = -1;
  const idom = new Int32Array(visited).fill(UNDEFINED);
  const rootOrder = order[0]!;
  idom[rootOrder] = rootOrder;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = visited - 1; i >= 0; i--) {
      if (i === rootOrder) continue;
      const n = postOrder[i]!;
      let candidate = UNDEFINED;
      for (let p = predecessorStart[n]!; p < predecessorStart[n + 1]!; p++) {
        const pred = order[predecessors[p]!]!;
        if (pred < 0 || idom[pred] === UNDEFINED) continue;
        if (candidate === UNDEFINED) {
          candidate = pred;
          continue;
        }
        let a = pred;
        let b = candidate;
        while (a !== b) {
          while (a < b) a = idom[a]!;
          while (b < a) b = idom[b]!;
        }
        candidate = a;
      }
      if (candidate !== UNDEFINED && idom[i] !== candidate) {
        idom[i] = candidate;
        changed = true;
      }
    }
  }

  const labels = new Array<string>(count);
  for (let n = 0; n < count; n++) {
    const kind = kinds[heap.nodes[n * nodeStride + typeAt]!]!;
    const name = heap.strings[heap.nodes[n * nodeStride + nameAt]!]!;
    labels[n] = kind === "object" ? name : kind === "closure" ? `${name}()` : kind === "native" ? `native ${name.split(" ")[0]}` : `(${kind})`;
  }
  const retained = new Float64Array(visited);
  for (let i = 0; i < visited; i++) retained[i] = heap.nodes[postOrder[i]! * nodeStride + sizeAt]!;
  for (let i = 0; i < visited; i++) if (i !== rootOrder) retained[idom[i]!]! += retained[i]!;

  const classes: Record<string, ClassSize> = {};
  for (let n = 0; n < count; n++) {
    const entry = (classes[labels[n]!] ??= { count: 0, bytes: 0, retained: 0 });
    entry.count += 1;
    entry.bytes += heap.nodes[n * nodeStride + sizeAt]!;
    const i = order[n]!;
    if (i < 0) continue;
    // Held by an instance of the same class above it (a list's nodes): counted there already.
    let up = idom[i]!;
    while (up !== rootOrder && labels[postOrder[up]!] !== labels[n]) up = idom[up]!;
    if (up === rootOrder) entry.retained += retained[i]!;
  }
  return classes;
}
