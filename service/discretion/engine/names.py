"""Names as people read them: one fold for every name the engine compares loosely.

Meeting segments and the person and scope of a withdrawal are written by
hand on many platforms; two spellings a reader takes for the same name must
compare equal, or a segment's terms or a withdrawal would be escaped by a
stray mark. Compatibility forms and accents decompose (NFKD), case folds, and
only letters and digits count: spaces, punctuation, combining marks,
invisible and filler characters do not. Look-alike letters of other scripts
(Cyrillic `е` for Latin `e`) are not folded.
"""

from __future__ import annotations

import functools
import unicodedata

# Letters that show nothing (Hangul fillers, Khmer inherent vowels).
_FILLERS = frozenset("\u115f\u1160\u17b4\u17b5\u3164\uffa0")


@functools.lru_cache(maxsize=4096)
def fold(name: str) -> str:
    """`Open discussion`, `open  DISCUSSION`, `ｏpen\u200bdiscussion` and `ópen discussion` fold alike; "" if nothing is left."""
    decomposed = unicodedata.normalize("NFKD", name).casefold()
    return "".join(c for c in decomposed if c.isalnum() and c not in _FILLERS)
