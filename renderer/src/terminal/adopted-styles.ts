// xterm.js sizes and colours its rows by writing CSS into <style> elements it
// creates. The console's Content-Security-Policy (main/csp.ts) has no
// 'unsafe-inline' for styles, so the browser would ignore those elements and the
// terminal would render without its grid. Instead of weakening the policy for
// every view, style elements get their text mirrored into constructable
// stylesheets adopted by the document (CSSOM, which style-src does not govern):
// the same rules, with no inline <style> anywhere.
let installed = false;

export function mirrorStyleElementsIntoAdoptedSheets(doc: Document = document): void {
  if (installed) return;
  installed = true;
  const create = doc.createElement.bind(doc) as (tag: string, options?: ElementCreationOptions) => HTMLElement;
  doc.createElement = ((tag: string, options?: ElementCreationOptions) => {
    if (tag.toLowerCase() !== 'style') return create(tag, options);
    // Not a real <style>: even an empty one attached to the page is an inline
    // style the policy reports. An inert, hidden element takes its place.
    const el = create('mcs-adopted-style', options);
    el.hidden = true;
    const sheet = new CSSStyleSheet();
    let text = '';
    Object.defineProperty(el, 'textContent', {
      configurable: true,
      get: () => text,
      set: (value: string | null) => {
        text = value ?? '';
        sheet.replaceSync(text);
        if (!doc.adoptedStyleSheets.includes(sheet)) doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
      },
    });
    const remove = el.remove.bind(el);
    el.remove = () => {
      doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet);
      remove();
    };
    return el;
  }) as typeof doc.createElement;
}
