"""Generate native/src/unicode/tables.rs: the Unicode facts the native engine reads, from Python.

    python native/generate_unicode.py          # rewrite the table
    python native/generate_unicode.py --check  # fail if the committed copy is stale

The Python evaluator folds names with `names.fold_char` and reads characters
through `str` methods, `re` classes and `unicodedata`, all of Python's Unicode
version; a Rust crate ships another. So the native engine reads none of its
own Unicode predicates: every fact it needs is asked of this Python here, and
written down, so that the two engines read each character alike:

- `PROPS`: each code point's general category and what `str.isspace`,
  `isalnum`, `isalpha`, `isupper`, `islower` and titlecase say of it (with
  `\\s` and `\\w` of `re`, which are the same predicates), whether `str.lower`
  skips it or stops at it as cased when it places a final sigma, and what kind
  of thing `fold_char` makes of it; as runs of code points alike;
- `FOLD`: `names.fold_char` of every code point it maps to letters;
- `NFKD`, `CCC`, `COMPOSE`: `unicodedata.normalize("NFKC")` as data (each
  character's full compatibility decomposition, its combining class, and the
  pairs NFC composes), for `scheme_key`;
- `LOWERCASE`, `CASEFOLD`: `str.lower` and `str.casefold` of one character.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import unicodedata

from discretion.engine.names import CONFUSABLES_VERSION, INVISIBLE, fold_char

TABLE = pathlib.Path(__file__).resolve().parent / "src" / "unicode" / "tables.rs"

CATEGORIES = ["Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe",
              "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"]
SPACE, ALNUM, ALPHA, UPPER, LOWER, TITLE, CASE_IGNORABLE, CASED = (1 << bit for bit in range(5, 13))
FOLD_SHIFT = 13
FOLD_OTHER, FOLD_INVISIBLE, FOLD_SPACE, FOLD_NOTHING = range(4)
HANGUL = range(0xAC00, 0xD7A4)  # syllables decompose by arithmetic, in both engines


def _characters():
    return (chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)


def _fold_kind(ch: str) -> int:
    folded = fold_char(ch)
    if folded == INVISIBLE:
        return FOLD_INVISIBLE
    if folded == " ":
        return FOLD_SPACE
    if folded == "":
        return FOLD_NOTHING
    return FOLD_OTHER


def _props(ch: str) -> int:
    value = CATEGORIES.index(unicodedata.category(ch))
    value |= SPACE if ch.isspace() else 0
    value |= ALNUM if ch.isalnum() else 0
    value |= ALPHA if ch.isalpha() else 0
    value |= UPPER if ch.isupper() else 0
    value |= LOWER if ch.islower() else 0
    # A titlecase letter: neither lower nor such that a capital before it leaves a string upper.
    value |= TITLE if not ch.islower() and not ("A" + ch).isupper() else 0
    # What `lower` places a final sigma by, seen from outside: skipped before a sigma, or a cased stop.
    stop = (ch + "\u03a3").lower()[-1] == "\u03c2"
    value |= CASE_IGNORABLE if ("A" + ch + "\u03a3").lower()[-1] == "\u03c2" and not stop else 0
    value |= CASED if stop else 0
    return value | _fold_kind(ch) << FOLD_SHIFT


def _runs(values) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for code, value in values:
        if not runs or runs[-1][1] != value:
            runs.append((code, value))
    return runs


def _mapping(name: str, doc: str, pairs: list[tuple[int, str]]) -> str:
    """A sorted table from code points to strings: keys, the ends of each value in one array of code points."""
    keys, ends, data = [], [], []
    for code, value in pairs:
        keys.append(code)
        data.extend(map(ord, value))
        ends.append(len(data))
    return (f"/// {doc}\npub static {name}: Mapping = Mapping {{\n"
            f"    keys: &[{_numbers(keys)}],\n    ends: &[{_numbers(ends)}],\n    data: &[{_numbers(data)}],\n}};\n")


def _numbers(values) -> str:
    values = list(values)
    lines = [", ".join(f"0x{v:X}" for v in values[i:i + 16]) for i in range(0, len(values), 16)]
    return "\n        " + ",\n        ".join(lines) + ",\n    " if lines else ""


def _compositions() -> list[tuple[int, int, int]]:
    """The pairs NFC composes: a canonical decomposition in two that NFC puts back together."""
    found = []
    for ch in _characters():
        decomposition = unicodedata.decomposition(ch)
        if not decomposition or decomposition.startswith("<") or ord(ch) in HANGUL:
            continue
        parts = [chr(int(part, 16)) for part in decomposition.split()]
        if len(parts) == 2 and unicodedata.normalize("NFC", "".join(parts)) == ch:
            found.append((ord(parts[0]), ord(parts[1]), ord(ch)))
    return sorted(found)


def generate() -> str:
    characters = list(_characters())
    props = _runs((ord(ch), _props(ch)) for ch in characters)
    ccc = _runs((ord(ch), unicodedata.combining(ch)) for ch in characters)
    fold = [(ord(ch), fold_char(ch)) for ch in characters if _fold_kind(ch) == FOLD_OTHER and fold_char(ch) != ch]
    nfkd = [(ord(ch), unicodedata.normalize("NFKD", ch)) for ch in characters
            if ord(ch) not in HANGUL and unicodedata.normalize("NFKD", ch) != ch]
    lower = [(ord(ch), ch.lower()) for ch in characters if ch.lower() != ch]
    casefold = [(ord(ch), ch.casefold()) for ch in characters if ch.casefold() != ch]
    compose = _compositions()
    out = [
        "//! Unicode as Python reads it, for the native engine: generated by native/generate_unicode.py",
        "//! from Python's `unicodedata`, `str` and `names.fold_char`. Do not edit; regenerate.",
        "//!",
        f"//! Pinned: Unicode {unicodedata.unidata_version} (Python's unicodedata), look-alikes from",
        f"//! confusables.tsv of Unicode {CONFUSABLES_VERSION}.",
        "#![allow(dead_code, clippy::unreadable_literal)]",
        "",
        f'pub const UNICODE_VERSION: &str = "{unicodedata.unidata_version}";',
        "",
        "/// General categories, as `PROPS` numbers them.",
        "pub static CATEGORIES: [&str; 30] = [" + ", ".join(f'"{c}"' for c in CATEGORIES) + "];",
        *(f"pub const {name}: u32 = 0x{value:X};" for name, value in [
            ("SPACE", SPACE), ("ALNUM", ALNUM), ("ALPHA", ALPHA), ("UPPER", UPPER), ("LOWER", LOWER),
            ("TITLE", TITLE), ("CASE_IGNORABLE", CASE_IGNORABLE), ("CASED", CASED)]),
        "/// `PROPS >> FOLD_SHIFT`: what `fold_char` makes of the character.",
        f"pub const FOLD_SHIFT: u32 = {FOLD_SHIFT};",
        *(f"pub const {name}: u32 = {value};" for name, value in [
            ("FOLD_OTHER", FOLD_OTHER), ("FOLD_INVISIBLE", FOLD_INVISIBLE), ("FOLD_SPACE", FOLD_SPACE),
            ("FOLD_NOTHING", FOLD_NOTHING)]),
        "",
        "/// A sorted table from code points to strings of code points.",
        "pub struct Mapping {",
        "    pub keys: &'static [u32],",
        "    /// Where each key's value ends in `data`; it begins where the one before ends.",
        "    pub ends: &'static [u32],",
        "    pub data: &'static [u32],",
        "}",
        "",
        "/// Runs of code points alike: (first code point, category number | flags | fold kind << FOLD_SHIFT).",
        f"pub static PROPS: &[(u32, u32)] = &[{_items([f'(0x{c:X}, 0x{v:X})' for c, v in props], 8)}];",
        "",
        "/// Runs of code points of one canonical combining class: (first code point, class).",
        f"pub static CCC: &[(u32, u8)] = &[{_items([f'(0x{c:X}, {v})' for c, v in ccc], 8)}];",
        "",
        "/// The pairs NFC composes, sorted: (first, second, composite).",
        f"pub static COMPOSE: &[(u32, u32, u32)] = &[{_items([f'(0x{a:X}, 0x{b:X}, 0x{c:X})' for a, b, c in compose], 4)}];",
        "",
        _mapping("FOLD", "`fold_char` where it gives letters other than the character itself.", fold),
        _mapping("NFKD", "The full compatibility decomposition (NFKD) of each character that has one, "
                 "Hangul syllables aside.", nfkd),
        _mapping("LOWERCASE", "`str.lower` of one character, where it changes it (a lone capital sigma: σ).", lower),
        _mapping("CASEFOLD", "`str.casefold` of one character, where it changes it.", casefold),
    ]
    return "\n".join(out)


def _items(items: list[str], per_line: int) -> str:
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "\n    " + ",\n    ".join(lines) + ",\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed table is stale")
    arguments = parser.parse_args()
    text = generate()
    if arguments.check:
        if not TABLE.exists() or TABLE.read_text(encoding="utf-8") != text:
            print(f"{TABLE} is stale: run python native/generate_unicode.py", file=sys.stderr)
            return 1
        return 0
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
