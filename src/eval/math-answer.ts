/**
 * Final-answer extraction and normalization for MATH and GSM8k.
 *  MATH (Minerva's format, which the LLaMA paper follows): the answer is the X of "Final Answer:
 *  The final answer is X. I hope it is correct.", else the last \boxed{…}; answers are compared
 *  after normalizing LaTeX spelling variants (\dfrac, \text{…}, units, $, spaces, 1,000 …).
 *  GSM8k: the number after "####", else the last number in the text; compared numerically.
 */

/** Contents of the last \boxed{…} (or \fbox{…}), respecting nested braces; null if none. */
export function lastBoxed(text: string): string | null {
  const i = Math.max(text.lastIndexOf('\\boxed'), text.lastIndexOf('\\fbox'));
  if (i < 0) return null;
  const open = text.indexOf('{', i);
  if (open < 0) {
    // "\boxed 5" form.
    const m = /^\\boxed ([^$\s]+)/.exec(text.slice(i));
    return m ? m[1] : null;
  }
  let depth = 0;
  for (let j = open; j < text.length; j++) {
    if (text[j] === '{') depth++;
    else if (text[j] === '}' && --depth === 0) return text.slice(open + 1, j);
  }
  return null;
}

export function extractMathAnswer(generated: string): string | null {
  const m = /The final answer is ([\s\S]*?)\. I hope it is correct/.exec(generated);
  if (m) return m[1].trim();
  return lastBoxed(generated);
}

const UNIT_WORDS = ['square', 'ways', 'integers', 'dollars', 'mph', 'inches', 'ft', 'hours', 'km', 'units', 'points', 'feet', 'minutes', 'digits', 'cents', 'degrees', 'cm', 'gm', 'pounds', 'meters', 'meals', 'edges', 'students', 'childrentickets', 'multiples'];

/** Canonical spelling of a MATH final answer so equivalent LaTeX compares equal. */
export function normalizeMathAnswer(answer: string): string {
  let s = answer.trim();
  const boxed = lastBoxed(s);
  if (boxed !== null) s = boxed;
  // "x = 5" → "5" (the value is what is asked for).
  if (s.includes('=') && !/\\(le|ge|ne)/.test(s)) s = s.slice(s.lastIndexOf('=') + 1);
  s = s.replace(/\\text\{\s*and\s*\}/g, ',').replace(/\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}/g, '$1');
  s = s.replaceAll('\\$', '').replaceAll('$', '').replaceAll('\\%', '').replaceAll('%', '');
  s = s.replace(/\^\s*\{?\\circ\}?/g, '').replaceAll('\\!', '').replaceAll('\\,', '').replaceAll('\\;', '').replaceAll('\\ ', '');
  s = s.replaceAll('\\left', '').replaceAll('\\right', '').replaceAll('\\dfrac', '\\frac').replaceAll('\\tfrac', '\\frac');
  s = s.replaceAll('{,}', '').replaceAll('\\dots', '').replaceAll('\\ldots', '');
  for (const w of UNIT_WORDS) s = s.replace(new RegExp(`(^|[^a-zA-Z\\\\])${w}\\b`, 'g'), '$1');
  s = s.replace(/\s+/g, '');
  // \frac12 → \frac{1}{2}; \frac{1}2 → \frac{1}{2}; \sqrt2 → \sqrt{2}.
  s = s.replace(/\\frac(\d)(\d)/g, '\\frac{$1}{$2}').replace(/\\frac\{([^{}]*)\}(\d)/g, '\\frac{$1}{$2}').replace(/\\sqrt(\d+)/g, '\\sqrt{$1}');
  s = s.replace(/\.$/, '');
  // 1,000 → 1000 for plain numbers only (a comma is a list separator elsewhere).
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replaceAll(',', '');
  // 5.0 → 5, 0.50 → 0.5
  if (/^-?\d+\.\d+$/.test(s)) s = String(Number(s));
  return s;
}

export function mathAnswersEqual(predicted: string | null, gold: string): boolean {
  if (predicted === null) return false;
  return normalizeMathAnswer(predicted) === normalizeMathAnswer(gold);
}

/** GSM8k: the number after "####" in a worked solution, else the last number in the text. */
export function extractGsmAnswer(text: string): string | null {
  const hash = /####\s*(-?[\d,]*\.?\d+)/.exec(text);
  if (hash) return canonicalNumber(hash[1]);
  const nums = text.match(/-?[\d,]*\.?\d+/g);
  return nums ? canonicalNumber(nums[nums.length - 1]) : null;
}

/** "1,234.50" → "1234.5"; "-0" → "0". */
export function canonicalNumber(s: string): string | null {
  const v = Number(s.replaceAll(',', '').replace(/\.$/, ''));
  if (!Number.isFinite(v)) return null;
  return String(v === 0 ? 0 : v);
}

/** GSM8k solutions carry calculator annotations "<<48/2=24>>"; prompts show them without. */
export function stripCalculatorTags(solution: string): string {
  return solution.replace(/<<[^>]*>>/g, '');
}
