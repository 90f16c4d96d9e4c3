"""A corpus of hostile and awkward files, made here from real encoders (Pillow, PyMuPDF) and then
damaged on purpose: each is named as an item would name it, with what a person must be told.

`HOSTILE` files must show their message and nothing else; `AWKWARD` files are valid images
that must render (modes that once failed); both go into volumes beside good files.
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pymupdf
from PIL import Image

from services.core.domain.sheet import SecondarySource, Sheet, SheetDraft, SourceKind
from services.core.workbench import Workbench
from services.data.sheets import SheetService

ENCRYPTED = "is encrypted and needs a password"
DAMAGED_IMAGE = "cannot be opened: the file is damaged or is not an image"
DAMAGED_PDF = "cannot be opened: the file is damaged or is not a PDF"
NOT_A_PDF = "is not a PDF"
EMPTY = "is empty (0 bytes)"
TOO_LARGE = "is too large to open"


@dataclass(frozen=True)
class CorpusFile:
    name: str  # the file name in the volume; its stem is the item's ref
    data: Callable[[], bytes]
    message: str = ""  # part of what a person is told; "" for a file that must render


def _saved(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _chunks(png: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, data length, type) of each chunk after the PNG signature."""
    found, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        found.append((at, length, png[at + 4 : at + 8]))
        at += 12 + length
    return found


def good_png(colour: str = "#4080c0", size: tuple[int, int] = (320, 240)) -> bytes:
    return _saved(Image.new("RGB", size, colour))


def pdf_document(text: str = "hello", width: float = 595, height: float = 842) -> pymupdf.Document:
    document = pymupdf.open()
    document.new_page(width=width, height=height).insert_text((72, 72), text)
    return document


def apng_with_frame_sequence_errors() -> bytes:
    """Three frames; the second frame's fcTL chunk is gone, so its data arrives out of sequence."""
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "green", "blue")]
    png = _saved(frames[0], save_all=True, append_images=frames[1:])
    controls = [(at, length) for at, length, kind in _chunks(png) if kind == b"fcTL"]
    at, length = controls[1]
    return png[:at] + png[at + 12 + length :]


def truncated_png() -> bytes:
    data = _saved(Image.effect_noise((400, 300), 64).convert("RGB"))
    return data[: len(data) // 2]


def gif_claiming_billions_of_pixels() -> bytes:
    data = bytearray(_saved(Image.new("P", (4, 4)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)  # the logical screen: 4.29 gigapixels
    return bytes(data)


def bmp_claiming_billions_of_pixels() -> bytes:
    data = bytearray(_saved(Image.new("RGB", (4, 4)), "BMP"))
    data[18:26] = struct.pack("<ii", 60000, 60000)  # 3.6 gigapixels
    return bytes(data)


@functools.cache
def png_of_119_9_megapixels() -> bytes:
    """A real, decodable 10,950 × 10,950 PNG (small on disk: one bit a pixel, all zeros)."""
    return _saved(Image.new("1", (10950, 10950)))


def one_bit_png_with_transparency() -> bytes:
    image = Image.new("1", (400, 300), 1)
    image.paste(0, (0, 0, 200, 300))
    return _saved(image, transparency=0)


def sixteen_bit_png_with_transparency() -> bytes:
    pixels = np.full((300, 400), 30000, dtype=np.uint16)
    pixels[:, :200] = 0
    return _saved(Image.fromarray(pixels), transparency=0)


def sixteen_bit_tiff() -> bytes:
    """Large enough that a thumbnail reduces it (where 16-bit modes used to fail)."""
    pixels = np.full((1500, 2000), 60000, dtype=np.uint16)
    return _saved(Image.fromarray(pixels), "TIFF")


def palette_png_with_transparency() -> bytes:
    image = Image.new("P", (400, 300), 1)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0, 0, 0] * 254)
    image.paste(0, (0, 0, 200, 300))
    return _saved(image, transparency=0)


def cmyk_jpeg() -> bytes:
    return _saved(Image.new("CMYK", (400, 300), (0, 255, 255, 0)), "JPEG")


def float_tiff() -> bytes:
    pixels = np.linspace(-1.0, 1.0, 400 * 300, dtype=np.float32).reshape(300, 400)
    return _saved(Image.fromarray(pixels), "TIFF")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (200, 100), colour) for colour in ("#c03030", "#30c030")]
    return _saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def encrypted_pdf() -> bytes:
    return pdf_document().tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")


def rc4_encrypted_pdf() -> bytes:
    return pdf_document().tobytes(encryption=pymupdf.PDF_ENCRYPT_RC4_128, user_pw="secret", owner_pw="owner")


def owner_password_only_pdf() -> bytes:
    """Encrypted against editing, not against reading: it opens without a password."""
    return pdf_document().tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", permissions=0)


def huge_page_pdf() -> bytes:
    """One page of 200 × 200 inches: at 100% zoom, 207 megapixels."""
    return pdf_document(width=14400, height=14400).tobytes()


def truncated_pdf() -> bytes:
    data = pdf_document().tobytes()
    return data[: len(data) // 3]


def pdf_with_no_pages() -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    body, offsets = b"%PDF-1.7\n", []
    for number, content in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 3\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return body + b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref



HOSTILE_IMAGES = (
    CorpusFile("IMG-apng.png", apng_with_frame_sequence_errors, DAMAGED_IMAGE),
    CorpusFile("IMG-truncated.png", truncated_png, DAMAGED_IMAGE),
    CorpusFile("IMG-empty.png", lambda: b"", EMPTY),
    CorpusFile("IMG-a-pdf.png", lambda: pdf_document().tobytes(), "is a PDF, not an image"),
    CorpusFile("IMG-gif-bomb.gif", gif_claiming_billions_of_pixels, TOO_LARGE),
    CorpusFile("IMG-bmp-bomb.bmp", bmp_claiming_billions_of_pixels, TOO_LARGE),
    CorpusFile("IMG-huge.png", png_of_119_9_megapixels, TOO_LARGE),
)
AWKWARD_IMAGES = (
    CorpusFile("IMG-one-bit.png", one_bit_png_with_transparency),
    CorpusFile("IMG-sixteen-bit.png", sixteen_bit_png_with_transparency),
    CorpusFile("IMG-sixteen-bit-tiff.tif", sixteen_bit_tiff),
    CorpusFile("IMG-palette.png", palette_png_with_transparency),
    CorpusFile("IMG-cmyk.jpg", cmyk_jpeg),
    CorpusFile("IMG-float.tif", float_tiff),
    CorpusFile("IMG-animated.gif", animated_gif),
)
HOSTILE_PDFS = (
    CorpusFile("DOC-encrypted.pdf", encrypted_pdf, ENCRYPTED),
    CorpusFile("DOC-rc4.pdf", rc4_encrypted_pdf, ENCRYPTED),
    CorpusFile("DOC-empty.pdf", lambda: b"", EMPTY),
    CorpusFile("DOC-truncated.pdf", truncated_pdf, DAMAGED_PDF),
    CorpusFile("DOC-a-png.pdf", good_png, NOT_A_PDF),
    CorpusFile("DOC-no-pages.pdf", pdf_with_no_pages, "has no pages"),
)
AWKWARD_PDFS = (
    CorpusFile("DOC-owner-only.pdf", owner_password_only_pdf),
    CorpusFile("DOC-huge-page.pdf", huge_page_pdf),
)
LONG_NAME = "x" * 300  # longer than any file system allows a name to be (255 bytes)


def named(name: str) -> CorpusFile:
    return next(f for f in (*HOSTILE_IMAGES, *AWKWARD_IMAGES, *HOSTILE_PDFS, *AWKWARD_PDFS) if f.name == name)


CORPUS_VOLUME = "/Volumes/mirion_vital/raw/corpus"
GOOD_ITEMS = 6  # plain, valid PNGs beside the corpus: they must render whatever their neighbours do


def stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def corpus_sheet(workbench: Workbench, files: Sequence[CorpusFile], name: str = "Corpus") -> Sheet:
    """A sheet whose items are the given files (ref = file stem) and GOOD_ITEMS good images."""
    good = [CorpusFile(f"OK-{i:02d}.png", functools.partial(good_png, "#30a060")) for i in range(GOOD_ITEMS)]
    engine = workbench.backend.engine
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute(
        "CREATE TABLE mirion_vital.raw.corpus AS SELECT item_id, concat('about ', item_id) AS note FROM (SELECT explode(:refs) AS item_id)",
        {"refs": [stem(f.name) for f in (*files, *good)]},
    )
    for file in (*files, *good):
        workbench.backend.files.write_bytes(f"{CORPUS_VOLUME}/{file.name}", file.data())
    volume = SecondarySource(SourceKind.VOLUME, CORPUS_VOLUME, "item_id")
    return SheetService(workbench).create(SheetDraft(name, "mirion_vital.raw.corpus", "item_id", secondary_sources=(volume,)))
