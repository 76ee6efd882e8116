"""Names as people read them: one fold for every name the engine compares loosely.

Two spellings a reader takes for the same name must compare equal, or a name
in a quote, a meeting segment or a withdrawal would be escaped by a stray
mark. `fold_char` is that fold for one character, and everything that
compares names loosely is built on it:

- compatibility forms and accents decompose (NFKD) and the accents go, so
  `ｏ`, `ó` and `o` are one letter; case folds (`ß` → `ss`);
- letters with a stroke or without a dot, which have no decomposition, lose
  it too (`ø` → `o`, `ł` → `l`), as they are written without it as readily;
- look-alike characters become their prototype from Unicode's confusables
  table (UTS #39, `unicode/confusables.tsv`, pinned to one Unicode version):
  Cyrillic `е` is Latin `e`, the digit `1` is `l`, `rn` and `m` meet in `rn`,
  a typographic apostrophe is `'`;
- punctuation, symbols and superscripts never become letters (`|` is not
  `l`, `™` is not `tm`), so a name next to them stays a word of its own;
- invisible characters (format and control characters, soft hyphens,
  zero-width spaces and joiners, fillers) are nothing, and every kind of
  white space is a space.

Case folds before look-alikes are mapped, so `I` is `i` (not the `l` it
resembles): matching stays case-insensitive, and a capital `I` written for an
`l` is not caught. A letter of another script is mapped through its capital
(Greek `ν` and `Ν` are Latin `n`, Cyrillic `в` and `В` are `b`), so a letter
and its capital always fold alike, and a capital that looks like `I` folds
as `I` does (Cyrillic `І` is `i`).
"""

from __future__ import annotations

import functools
import pathlib
import unicodedata

# What `fold_char` returns for an invisible character: nothing, but a place
# where a word may end (identify.py treats it as a possible word boundary).
INVISIBLE = "\0"

# Letters that show nothing (Hangul fillers, Khmer inherent vowels).
_FILLERS = frozenset("\u115f\u1160\u17b4\u17b5\u3164\uffa0")

# Letters with a stroke or without a dot have no Unicode decomposition.
_UNDECOMPOSED = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ı": "i"})

CONFUSABLES_PATH = pathlib.Path(__file__).parent / "unicode" / "confusables.tsv"


def _load_confusables() -> tuple[dict[str, str], str]:
    table: dict[str, str] = {}
    version = ""
    for line in CONFUSABLES_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            if line.startswith("# Unicode version:"):
                version = line.split(":", 1)[1].strip()
            continue
        source, target = line.split("\t")
        table[chr(int(source, 16))] = "".join(chr(int(c, 16)) for c in target.split())
    return table, version


CONFUSABLES, CONFUSABLES_VERSION = _load_confusables()
_NON_ASCII_CONFUSABLES = {k: v for k, v in CONFUSABLES.items() if not k.isascii()}


def _prototypes(text: str, table: dict[str, str]) -> str:
    return "".join([table.get(c, c) for c in text])


# Marks, invisible, control and unassigned characters: nothing a reader sees as a letter.
_NOTHING = frozenset({"Mn", "Me", "Cf", "Cc", "Cn", "Cs", "Co"})


def _clean(text: str) -> str:
    """Marks, white space and invisible characters out; stroked letters plain."""
    return "".join(c for c in text if not (c.isspace() or unicodedata.category(c) in _NOTHING)
                   ).translate(_UNDECOMPOSED)


def _capital(ch: str) -> str:
    """A capital's prototype; one whose prototype is `l` looks like the capital I, and folds as it does."""
    prototype = _NON_ASCII_CONFUSABLES.get(ch, ch)
    return "I" if prototype == "l" and ch.isupper() else prototype


def _finish(text: str) -> str:
    """Prototypes folded: case, compatibility forms, then the table again for what they became."""
    text = _prototypes(unicodedata.normalize("NFKD", text.casefold()), CONFUSABLES)
    return _clean(unicodedata.normalize("NFKD", text.casefold()))


def _fold_letter(ch: str) -> str:
    """A letter through its capital, so a letter and its capital fold alike.

    Two readings: the capital's own prototype (Greek `Ϲ` is `C`, `Ĳ` is `IJ`),
    and the prototypes of what it decomposes to (`ʳ` is `r`, `º` is `o`). A
    reading in Latin letters wins, the table's own first; marks a prototype
    carries are dropped (`ɓ` is `'b`, read `b`).
    """
    upper = ch.upper()
    direct = _NON_ASCII_CONFUSABLES.get(upper) if len(upper) == 1 else None
    own = _letters(_finish(direct.replace("l", "I") if upper.isupper() else direct)) if direct else ""
    decomposed = _letters(_finish("".join(map(_capital, unicodedata.normalize("NFKD", upper)))))
    if own and (own.isascii() or not decomposed.isascii()):
        return own
    return decomposed or own


def _letters(reading: str) -> str:
    """A letter's reading without the marks its prototype carries; whole if it has no letter (`ʼ` is `'`)."""
    kept = "".join(c for c in reading if c.isalnum())
    return kept or reading


def _fold_symbol(ch: str) -> str:
    """Punctuation, symbols and superscripts stay what they are where a word ends.

    `|`, `™`, `¹` or `×` after a name are not the letters they resemble; a
    symbol that folds to other punctuation does (`－` is `-`, `´` is `'`).
    """
    for reading in (_finish(unicodedata.normalize("NFKD", ch)), _finish(_NON_ASCII_CONFUSABLES.get(ch, ch))):
        if reading and not any(c.isalnum() for c in reading):
            return reading
    if not _finish(ch):
        return INVISIBLE  # a blank that shows nothing (U+2800) or a lone spacing accent
    return ch if not ch.isalnum() else "\ufffc"


@functools.lru_cache(maxsize=16384)
def fold_char(ch: str) -> str:
    """One character as a reader takes it: " " for white space, INVISIBLE, or its folded letters ("" for an accent)."""
    if ch.isspace():
        return " "
    category = unicodedata.category(ch)
    if ch in _FILLERS or category in ("Cf", "Cc", "Cn", "Cs", "Co"):
        return INVISIBLE
    if category in ("Mn", "Me"):
        return ""  # a mark: part of the letter before it
    decomposed = unicodedata.normalize("NFKD", ch)
    if ch.isascii():
        folded = _finish(ch)
        return folded if ch.isalnum() or not any(c.isalnum() for c in folded) else ch
    if category[0] in "LN" and category != "No" or (len(decomposed) == 1 and decomposed.isalpha()):
        return _fold_letter(ch)  # a letter, a digit, or a symbol that is a letter in a circle or square
    return _fold_symbol(ch)


@functools.lru_cache(maxsize=4096)
def fold(name: str) -> str:
    """`Open discussion`, `open  DISCUSSION`, `ｏpen\u200bdiscussion` and `ópen discussion` fold alike; "" if nothing is left.

    Only letters and digits count: spaces, punctuation and marks do not.
    """
    return "".join(c for c in "".join(map(fold_char, name)) if c.isalnum())
