/**
 * HTML → plain text in the shape of CommonCrawl's WET extraction (which CCNet consumes): the
 * title first, then one line per block element, whitespace collapsed inside a line, no markup,
 * entities decoded, script/style/noscript/template/svg content dropped.
 */
import { Parser } from 'htmlparser2';

/** Elements whose content is never page text. */
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'math', 'iframe', 'object', 'canvas', 'select', 'button']);

/** Elements that start and end a line. */
const BLOCK = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'details', 'dialog', 'div', 'dl', 'dt', 'fieldset',
  'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav',
  'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'title', 'tr', 'ul', 'option',
  'body', 'html', 'head', 'caption', 'legend', 'center',
]);

export function htmlToText(html: string): string {
  const lines: string[] = [];
  let current = '';
  let skipDepth = 0;
  let inHead = false;
  let title = '';
  let inTitle = false;
  const breakLine = () => {
    const t = current.replace(/[ \t\r\n\f\u00a0]+/g, ' ').trim();
    if (t) lines.push(t);
    current = '';
  };
  const parser = new Parser(
    {
      onopentagname(name) {
        if (SKIP.has(name)) skipDepth++;
        else if (name === 'head') inHead = true;
        else if (name === 'title') inTitle = true;
        if (BLOCK.has(name)) breakLine();
      },
      onclosetag(name, implied) {
        if (SKIP.has(name)) skipDepth = Math.max(0, skipDepth - 1);
        else if (name === 'head') inHead = false;
        else if (name === 'title') inTitle = false;
        if (BLOCK.has(name) || (implied && name === 'p')) breakLine();
      },
      ontext(text) {
        if (skipDepth > 0) return;
        if (inTitle) title += text;
        else if (!inHead) current += text;
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  breakLine();
  const t = title.replace(/\s+/g, ' ').trim();
  if (t) lines.unshift(t);
  return lines.join('\n');
}
