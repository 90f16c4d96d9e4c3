import io
import re

import pytest
from PIL import Image

from services.data.source_previews import (
    MAX_IMAGE_BYTES,
    PreviewError,
    clear_render_cache,
    image_thumbnail,
    render_pdf_page,
)

PDFS = "/Volumes/mirion_vital/raw/invoice_pdfs"


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_render_cache()
    yield
    clear_render_cache()


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_a_pdf_page_renders_to_png_at_the_requested_zoom(invoice_source):
    page = render_pdf_page(invoice_source, f"{PDFS}/INV-0001.pdf", page_number=2, zoom=0.5)
    assert (page.page_number, page.page_count) == (2, 2)
    assert _png_size(page.png) == (page.width, page.height) == (298, 421)  # A4 at half scale


def test_a_page_number_past_the_end_shows_the_last_page(invoice_source):
    assert render_pdf_page(invoice_source, f"{PDFS}/INV-0001.pdf", page_number=9).page_number == 2


def test_a_second_render_of_the_same_page_comes_from_the_cache(invoice_source):
    first = render_pdf_page(invoice_source, f"{PDFS}/INV-0001.pdf")
    assert render_pdf_page(invoice_source, f"{PDFS}/INV-0001.pdf") is first


def test_a_replaced_file_is_rendered_again_even_at_the_same_size(invoice_source):
    files = invoice_source.backend.files
    first = render_pdf_page(invoice_source, f"{PDFS}/INV-0001.pdf")
    files.write_bytes(f"{PDFS}/INV-0001.pdf", files.read_bytes(f"{PDFS}/INV-0001.pdf"))  # same size, rewritten
    assert render_pdf_page(invoice_source, f"{PDFS}/INV-0001.pdf") is not first


def test_a_corrupt_pdf_gets_a_clear_message(invoice_source):
    with pytest.raises(PreviewError, match=re.escape("INV-0005.pdf cannot be opened: the file is damaged or is not a PDF")):
        render_pdf_page(invoice_source, f"{PDFS}/INV-0005.pdf")


def test_a_missing_file_or_a_path_escape_gets_a_clear_message(invoice_source):
    with pytest.raises(PreviewError, match="does not exist"):
        render_pdf_page(invoice_source, f"{PDFS}/INV-0199.pdf")
    with pytest.raises(PreviewError, match=re.escape("'..'")):
        render_pdf_page(invoice_source, f"{PDFS}/../../etc/passwd")


def test_an_image_is_scaled_to_a_thumbnail(invoice_source):
    buffer = io.BytesIO()
    Image.new("RGB", (800, 400), "navy").save(buffer, format="PNG")
    invoice_source.backend.files.write_bytes("/Volumes/mirion_vital/raw/images/a.png", buffer.getvalue())
    thumb = image_thumbnail(invoice_source, "/Volumes/mirion_vital/raw/images/a.png", max_side=200)
    assert _png_size(thumb.png) == (200, 100)


def test_a_40_mb_image_is_refused_before_it_is_decoded(invoice_source):
    invoice_source.backend.files.write_bytes("/Volumes/mirion_vital/raw/images/huge.png", b"\0" * (40 * 1024 * 1024))
    assert MAX_IMAGE_BYTES < 40 * 1024 * 1024
    with pytest.raises(PreviewError, match=r"huge.png is 41.9 MB; previews are limited to 26 MB"):
        image_thumbnail(invoice_source, "/Volumes/mirion_vital/raw/images/huge.png")


def test_an_image_with_too_many_pixels_is_refused(invoice_source):
    buffer = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buffer, format="PNG")  # small file, 144 megapixels
    invoice_source.backend.files.write_bytes("/Volumes/mirion_vital/raw/images/bomb.png", buffer.getvalue())
    with pytest.raises(PreviewError, match="too large to open: 12,000 × 12,000 pixels"):
        image_thumbnail(invoice_source, "/Volumes/mirion_vital/raw/images/bomb.png")


def test_a_file_that_is_not_an_image_gets_a_clear_message(invoice_source):
    invoice_source.backend.files.write_bytes("/Volumes/mirion_vital/raw/images/fake.png", b"not an image")
    with pytest.raises(PreviewError, match="damaged or is not an image"):
        image_thumbnail(invoice_source, "/Volumes/mirion_vital/raw/images/fake.png")
