// Where `break FUNCTION` stops: the first position inside the body of every
// definition of FUNCTION in a script's generated code. Nodes run TypeScript
// through tsx, whose esbuild output is whitespace-minified: a whole module is one
// line, and a class method reads `}async rebuild(rc){`, never at a line start. So
// definitions are found by what precedes them (start, `;`, `{`, `}`, `,` or
// whitespace), which a call (`this.rebuild(rc)`) never is, and positions are
// columns as much as lines.

export interface GeneratedPosition {
  line: number;
  column: number;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Generated positions just inside the body of each definition of `fn` in `source`. */
export function functionEntries(source: string, fn: string): GeneratedPosition[] {
  const name = escapeRe(fn);
  const params = '\\([^)]*\\)';
  const re = new RegExp(
    [
      // function NAME(...) {   function* NAME(...) {
      `\\bfunction\\*?\\s*${name}\\s*${params}\\s*\\{`,
      // NAME = function (...) {   NAME: async function* x(...) {
      `\\b${name}\\s*[:=]\\s*(?:async\\s*)?function\\b[^(]*${params}\\s*\\{`,
      // NAME = (...) =>   NAME: async x =>   (body: a block or an expression)
      `\\b${name}\\s*[:=]\\s*(?:async\\s*)?(?:${params}|[A-Za-z_$][\\w$]*)\\s*=>\\s*\\{?`,
      // class and object-literal methods: [static] [async] [get|set] [*] NAME(...) {
      `(?:^|[;{},\\s])(?:(?:static|async|get|set)\\s+)*\\*?${name}\\s*${params}\\s*(?::[^{]*)?\\{`,
    ].join('|'),
    'gm',
  );
  const out: GeneratedPosition[] = [];
  for (const m of source.matchAll(re)) {
    const i = (m.index ?? 0) + m[0].length;
    const before = source.slice(0, i);
    const lineStart = before.lastIndexOf('\n') + 1;
    out.push({ line: before.split('\n').length - 1, column: i - lineStart });
  }
  return out;
}
