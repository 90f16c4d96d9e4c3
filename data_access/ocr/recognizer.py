"""Reading the words of a page image: the interface, and Tesseract's command-line program behind it.

The workbench asks for words with their confidence and place, not for a text blob, so it can
build its own reading order, chunks and page confidence from them. Tesseract runs as a separate
process (Debian's `tesseract-ocr`, `brew install tesseract` on a Mac): a page that makes it crash
or hang fails that page only.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass

TESSERACT = "tesseract"
PAGE_TIMEOUT_S = 120  # a dense page at 300 dpi takes seconds; minutes means something is wrong with it
# One thread per page: the app shares 2 cores with the pages and other jobs, and Tesseract's
# OpenMP threads make a busy machine slower, not faster.
_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
# Page segmentation mode 4: a single column of text of variable sizes. Invoices and forms read
# line by line across the page; mode 3 (fully automatic) splits table columns into separate
# blocks and reads them one after another, which tears every row apart.
_PAGE_SEGMENTATION = "4"
_WORD_LEVEL = "5"
# Tesseract's heavy noise removal: scans are speckled, and without it specks and paper grain
# between table columns come back as dashes and stray punctuation (on the demo's scanned
# invoices, character accuracy 94% without it, 98% with it).
_OPTIONS = ("-c", "textord_heavy_nr=1")


class RecognizerError(RuntimeError):
    """The recognizer is missing or failed on this image; the message says which, for a person."""


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float  # 0..100, as Tesseract reports it
    block: int
    paragraph: int
    line: int
    left: int  # pixels of the image read
    top: int
    width: int
    height: int


class TextRecognizer(ABC):
    @abstractmethod
    def words(self, png: bytes, dpi: int) -> list[Word]:
        """The words of a page image, in the recognizer's reading order."""


class TesseractRecognizer(TextRecognizer):
    def __init__(self, language: str = "eng") -> None:
        self._language = language

    @staticmethod
    def available() -> bool:
        return shutil.which(TESSERACT) is not None

    def words(self, png: bytes, dpi: int) -> list[Word]:
        if not self.available():
            raise RecognizerError(
                "Tesseract is not installed, so pages without a text layer cannot be read: "
                "install Debian's tesseract-ocr (`make run` does) or `brew install tesseract` on a Mac."
            )
        command = [TESSERACT, "stdin", "stdout", "-l", self._language, "--psm", _PAGE_SEGMENTATION, "--dpi", str(dpi), *_OPTIONS, "tsv"]
        try:
            done = subprocess.run(command, input=png, capture_output=True, timeout=PAGE_TIMEOUT_S, env=_ENV, check=False)
        except subprocess.TimeoutExpired as error:
            raise RecognizerError(f"Tesseract took longer than {PAGE_TIMEOUT_S} s on this page and was stopped.") from error
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RecognizerError(f"Tesseract could not read this page: {detail[-1] if detail else f'exit code {done.returncode}'}.")
        return _words_of(done.stdout.decode("utf-8", "replace"))


def _words_of(tsv: str) -> list[Word]:
    rows = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    words = []
    for row in rows:
        text = (row.get("text") or "").strip()
        if row.get("level") != _WORD_LEVEL or not text:
            continue
        words.append(
            Word(
                text=text, confidence=float(row["conf"]), block=int(row["block_num"]), paragraph=int(row["par_num"]),
                line=int(row["line_num"]), left=int(row["left"]), top=int(row["top"]), width=int(row["width"]),
                height=int(row["height"]),
            )
        )
    return words
