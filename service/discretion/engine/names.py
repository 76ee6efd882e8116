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
    letter = category[0] in "LN" and category != "No" or (len(decomposed) == 1 and decomposed.isalpha())
    if ch.isascii():
        text = ch
    elif letter:
        # A letter and its capital must fold alike, and a capital of another script
        # looks like a Latin capital: the capital is mapped to its prototype first,
        # after it decomposes (`ĳ` is `ij`, `ᵃ` and `Ⓐ` are `a`).
        text = "".join([_capital(c) for c in unicodedata.normalize("NFKD", ch.upper())])
    else:
        # A symbol maps whole where the table knows it (`´` is `'`), else as it decomposes.
        text = _NON_ASCII_CONFUSABLES.get(ch) or _prototypes(decomposed, _NON_ASCII_CONFUSABLES)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = _prototypes(text, CONFUSABLES)
    folded = _clean(unicodedata.normalize("NFKD", text.casefold()))
    if letter:
        # A letter's prototype may carry a mark that is no letter (`ɓ` is `'b`).
        return "".join(c for c in folded if c.isalnum()) or folded
    if category[0] not in "LNM" or category == "No":
        # Punctuation, symbols and superscripts stay what they are where a word ends:
        # `|`, `™`, `¹` or `×` after a name are not the letters they resemble.
        if not folded:
            return INVISIBLE  # a blank that shows nothing (U+2800) or a lone spacing accent
        if any(c.isalnum() for c in folded):
            return ch if not ch.isalnum() else "\ufffc"
    return folded


@functools.lru_cache(maxsize=4096)
def fold(name: str) -> str:
    """`Open discussion`, `open  DISCUSSION`, `ｏpen\u200bdiscussion` and `ópen discussion` fold alike; "" if nothing is left.

    Only letters and digits count: spaces, punctuation and marks do not.
    """
    return "".join(c for c in "".join(map(fold_char, name)) if c.isalnum())
