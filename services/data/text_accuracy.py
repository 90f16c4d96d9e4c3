"""How close read text is to the text it should be: character accuracy, the OCR measure.

Character accuracy = 1 − (Levenshtein distance / length of the expected text), after runs of
whitespace are made single spaces on both sides (layout, not reading, decides line breaks and
spacing); nothing else is normalised.
"""

from __future__ import annotations

import numpy as np


def normalised_whitespace(text: str) -> str:
    return " ".join(text.split())


def character_accuracy(expected: str, read: str) -> float:
    want, got = normalised_whitespace(expected), normalised_whitespace(read)
    if not want:
        return 1.0 if not got else 0.0
    return max(0.0, 1.0 - levenshtein(want, got) / len(want))


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), one row of the table at a time in
    numpy: the running minimum turns the row's insertions into one vector operation."""
    if not a or not b:
        return len(a) + len(b)
    target = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    steps = np.arange(len(b) + 1, dtype=np.int64)
    previous = steps.copy()
    for i, char in enumerate(a, start=1):
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[1:] + 1, previous[:-1] + (target != ord(char)))
        previous = np.minimum.accumulate(current - steps) + steps
    return int(previous[-1])
