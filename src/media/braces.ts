/** Brace expansion of changer lists, as chg-multi does it in C++ (csrc/devices/changer.cc). */

/** Splits on commas outside braces. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const c of s) {
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Brace expansion as chg-multi does it (csrc/devices/changer.cc): {a,b}, {1..4}, {01..10}. */
export function expandBraces(s: string): string[] {
  const one = (item: string): string[] => {
    const open = item.indexOf('{');
    if (open < 0) return [item];
    let depth = 0;
    let close = -1;
    for (let i = open; i < item.length; i++) {
      if (item[i] === '{') depth++;
      if (item[i] === '}' && --depth === 0) {
        close = i;
        break;
      }
    }
    if (close < 0) throw new Error(`"${item}": a '{' without its '}'`);
    const inner = item.slice(open + 1, close);
    const range = /^(\d+)\.\.(\d+)$/.exec(inner);
    let alts: string[];
    if (range) {
      const width = range[1].length > 1 && range[1][0] === '0' ? range[1].length : 0;
      alts = [];
      for (let i = Number(range[1]); i <= Number(range[2]); i++) alts.push(String(i).padStart(width, '0'));
    } else alts = splitTop(inner).flatMap(one);
    const tails = one(item.slice(close + 1));
    return alts.flatMap((a) => tails.map((t) => item.slice(0, open) + a + t));
  };
  return splitTop(s).filter((x) => x !== '').flatMap(one);
}
