// Node processes run TypeScript through tsx, so what V8 executes is esbuild's
// output with an inline source map. Breakpoints are given and stacks shown in
// the developer's lines; this maps between the two. Only what that needs: the
// "mappings" VLQ of a version-3 map with one source.

export interface SourceMap {
  /** generated line (0-based) → segments [generatedColumn, sourceLine, sourceColumn] */
  lines: [number, number, number][][];
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const digit = B64_INDEX.get(c);
    if (digit === undefined) return out;
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

export function parseSourceMap(json: string): SourceMap | null {
  let raw: { mappings?: unknown };
  try {
    raw = JSON.parse(json) as { mappings?: unknown };
  } catch {
    return null;
  }
  if (typeof raw.mappings !== 'string') return null;
  const lines: [number, number, number][][] = [];
  let srcLine = 0;
  let srcCol = 0;
  let srcIdx = 0;
  for (const lineText of raw.mappings.split(';')) {
    const segs: [number, number, number][] = [];
    let genCol = 0;
    for (const seg of lineText.split(',')) {
      if (!seg) continue;
      const v = decodeVlq(seg);
      genCol += v[0] ?? 0;
      if (v.length >= 4) {
        srcIdx += v[1]!;
        srcLine += v[2]!;
        srcCol += v[3]!;
        if (srcIdx === 0) segs.push([genCol, srcLine, srcCol]);
      }
    }
    lines.push(segs);
  }
  return { lines };
}

function inlineJson(url: string): string | null {
  const m = /^data:application\/json[^,]*?;base64,(.*)$/.exec(url);
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : null;
}

/** The inline map of a data: URL as scripts carry it (`sourceMappingURL=data:...;base64,...`). */
export function inlineSourceMap(url: string): SourceMap | null {
  const json = inlineJson(url);
  return json === null ? null : parseSourceMap(json);
}

/** The original text an inline map carries (esbuild's `sourcesContent`), or null. */
export function inlineSourceContent(url: string): string | null {
  const json = inlineJson(url);
  if (json === null) return null;
  try {
    const content = (JSON.parse(json) as { sourcesContent?: unknown }).sourcesContent;
    return Array.isArray(content) && typeof content[0] === 'string' ? content[0] : null;
  } catch {
    return null;
  }
}

/** Source line (0-based) of a generated position, or null where nothing maps. */
export function toSource(map: SourceMap, genLine: number, genCol: number): number | null {
  const segs = map.lines[genLine];
  if (!segs || segs.length === 0) return null;
  let best = segs[0]!;
  for (const s of segs) if (s[0] <= genCol) best = s;
  return best[1];
}

/**
 * The first generated position whose source line is `srcLine` (0-based); failing
 * that, the first one after it, so a breakpoint on a line esbuild dropped (a type
 * declaration, a comment) lands on the next statement, as editors do.
 */
export function toGenerated(map: SourceMap, srcLine: number): { line: number; column: number } | null {
  let after: { line: number; column: number; src: number } | null = null;
  for (let gl = 0; gl < map.lines.length; gl++) {
    for (const [gc, sl] of map.lines[gl]!) {
      if (sl === srcLine) return { line: gl, column: gc };
      if (sl > srcLine && (!after || sl < after.src)) after = { line: gl, column: gc, src: sl };
    }
  }
  return after && { line: after.line, column: after.column };
}
