/**
 * Mercure 1.0 "Terminology": topics (and matchers, update ids and types)
 * must be valid UTF-8 and hold no C0 or C1 control, no DEL and no Unicode
 * format character (Cf: bidirectional and zero-width controls), which are
 * invisible and let one identifier pass for another. A JavaScript string is
 * valid UTF-8 once encoded exactly when it has no lone surrogate.
 */

const FORMAT = /\p{Cf}/u;

/** Why the value breaks those rules, or null when it is fine. */
export function topicProblem(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x20 || (unit >= 0x7f && unit <= 0x9f)) return `contains the control character ${codePoint(unit)}`;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const low = value.charCodeAt(i + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return `contains a lone surrogate ${codePoint(unit)} (not valid UTF-8)`;
      const point = value.codePointAt(i)!;
      if (FORMAT.test(String.fromCodePoint(point))) return `contains the invisible format character ${codePoint(point)}`;
      i++;
      continue;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return `contains a lone surrogate ${codePoint(unit)} (not valid UTF-8)`;
    if (unit >= 0xad && FORMAT.test(value[i])) return `contains the invisible format character ${codePoint(unit)}`;
  }
  return null;
}

function codePoint(point: number): string {
  return `U+${point.toString(16).toUpperCase().padStart(4, "0")}`;
}
