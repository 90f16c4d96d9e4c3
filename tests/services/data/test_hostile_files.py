"""Every way a file is shown or sent, over the hostile corpus: a bad file gets its own message
(a PreviewError naming it), a valid but awkward one renders, and nothing else escapes."""

import io
import re
from dataclasses import replace

import pytest
from PIL import Image

from services.data.source_previews import (
    Box,
    PreviewError,
    clear_render_cache,
    image_for_model,
    image_size,
    image_thumbnail,
    image_with_boxes,
    render_pdf_page,
)
from tests import hostile_files as corpus

FOLDER = "/Volumes/mirion_vital/raw/corpus"
IMAGE_VIEWS = {
    "thumbnail": lambda wb, path: image_thumbnail(wb, path, 220),
    "drawing surface": lambda wb, path: image_thumbnail(wb, path, 1024),
    "image with boxes": lambda wb, path: image_with_boxes(wb, path, [Box(1, 1, 20, 20, "crack")]),
    "image for a model": lambda wb, path: image_for_model(wb, path, 25 * 1024 * 1024),
}
# The size boxes are checked against comes from the header alone: these files give themselves away there.
BAD_HEADERS = [f for f in corpus.HOSTILE_IMAGES if f.message != corpus.DAMAGED_IMAGE]


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_render_cache()
    yield
    clear_render_cache()


def _written(workbench, file):
    path = f"{FOLDER}/{file.name}"
    workbench.backend.files.write_bytes(path, file.data())
    return path


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


def _with_pixel_limit(workbench, limit):
    return replace(workbench, backend=replace(workbench.backend, settings=replace(workbench.settings, max_image_pixels=limit)))


@pytest.mark.parametrize("view", IMAGE_VIEWS)
@pytest.mark.parametrize("file", corpus.HOSTILE_IMAGES, ids=lambda f: f.name)
def test_a_hostile_image_gets_its_own_message_wherever_it_is_opened(workbench, file, view):
    path = _written(workbench, file)
    with pytest.raises(PreviewError, match=f"^{re.escape(file.name)} {re.escape(file.message)}"):
        IMAGE_VIEWS[view](workbench, path)


@pytest.mark.parametrize("file", BAD_HEADERS, ids=lambda f: f.name)
def test_the_size_of_an_image_with_a_hostile_header_gets_its_message(workbench, file):
    path = _written(workbench, file)
    with pytest.raises(PreviewError, match=f"^{re.escape(file.name)} {re.escape(file.message)}"):
        image_size(workbench, path)


@pytest.mark.parametrize("file", corpus.AWKWARD_IMAGES, ids=lambda f: f.name)
def test_a_valid_image_in_an_awkward_mode_renders(workbench, file):
    path = _written(workbench, file)
    thumb = _png(image_thumbnail(workbench, path, 200).png)
    assert thumb.mode in ("RGB", "RGBA", "L") and max(thumb.size) == 200
    boxed = _png(image_with_boxes(workbench, path, [Box(10, 10, 50, 50, "crack")]).png)
    assert boxed.mode in ("RGB", "RGBA")
    assert image_size(workbench, path) == Image.open(io.BytesIO(file.data())).size


def test_sixteen_bit_images_are_scaled_to_eight_bits_not_clipped(workbench):
    tiff = _png(image_thumbnail(workbench, _written(workbench, corpus.named("IMG-sixteen-bit-tiff.tif")), 200).png)
    assert tiff.convert("L").getpixel((100, 75)) == 60000 >> 8
    png = _png(image_thumbnail(workbench, _written(workbench, corpus.named("IMG-sixteen-bit.png")), 200).png).convert("LA")
    assert png.getpixel((150, 75)) == (30000 >> 8, 255)
    assert png.getpixel((10, 75))[1] == 0  # the transparent grey value is transparent


def test_a_one_bit_or_palette_image_keeps_its_transparency(workbench):
    for file in (corpus.named("IMG-one-bit.png"), corpus.named("IMG-palette.png")):
        thumb = _png(image_thumbnail(workbench, _written(workbench, file), 200).png).convert("RGBA")
        assert thumb.getpixel((10, 75))[3] == 0 and thumb.getpixel((190, 75))[3] == 255


def test_an_animation_shows_its_first_frame(workbench):
    thumb = _png(image_thumbnail(workbench, _written(workbench, corpus.named("IMG-animated.gif")), 200).png).convert("RGB")
    red, green, _ = thumb.getpixel((100, 50))
    assert red > 150 and green < 100


def test_the_pixel_limit_is_a_setting_checked_before_decoding(workbench):
    path = f"{FOLDER}/wide.png"
    workbench.backend.files.write_bytes(path, corpus.good_png(size=(1200, 1000)))
    assert image_thumbnail(workbench, path, 100).width == 100  # 1.2 megapixels: under the default limit
    strict = _with_pixel_limit(workbench, 1_000_000)
    for view in (*IMAGE_VIEWS.values(), image_size):
        with pytest.raises(PreviewError, match=r"^wide.png is too large to open: 1,200 × 1,000 pixels, above the limit of 1,000,000"):
            view(strict, path)


def test_a_png_of_119_9_megapixels_is_refused_with_its_size(workbench):
    path = _written(workbench, corpus.named("IMG-huge.png"))
    with pytest.raises(PreviewError, match="10,950 × 10,950 pixels, above the limit of 60,000,000"):
        image_thumbnail(workbench, path)


@pytest.mark.parametrize("file", corpus.HOSTILE_PDFS, ids=lambda f: f.name)
def test_a_hostile_pdf_gets_its_own_message(workbench, file):
    path = _written(workbench, file)
    with pytest.raises(PreviewError, match=f"^{re.escape(file.name)} {re.escape(file.message)}"):
        render_pdf_page(workbench, path, 1, zoom=0.4)


def test_an_encrypted_pdf_says_it_needs_a_password(workbench):
    path = _written(workbench, corpus.named("DOC-encrypted.pdf"))
    with pytest.raises(PreviewError) as raised:
        render_pdf_page(workbench, path)
    assert str(raised.value) == "DOC-encrypted.pdf is encrypted and needs a password; it cannot be shown here."


def test_a_pdf_protected_only_against_editing_renders(workbench):
    page = render_pdf_page(workbench, _written(workbench, corpus.named("DOC-owner-only.pdf")), 1, zoom=0.5)
    assert (page.page_count, page.note) == (1, "")


@pytest.mark.parametrize("zoom", [1.0, 2.0, 4.0])
def test_a_huge_pdf_page_is_rendered_scaled_to_the_pixel_limit_and_says_so(workbench, zoom):
    strict = _with_pixel_limit(workbench, 4_000_000)
    page = render_pdf_page(strict, _written(workbench, corpus.named("DOC-huge-page.pdf")), 1, zoom=zoom)
    assert page.width * page.height <= 4_000_000 and page.width > 1500
    assert _png(page.png).size == (page.width, page.height)
    assert page.note.startswith("This page is 200 × 200 in; it is shown at ")


def test_a_file_name_longer_than_any_file_system_allows_gets_a_message(workbench):
    for path in (f"{FOLDER}/{corpus.LONG_NAME}.pdf", f"{FOLDER}/{'/'.join(['d' * 200] * 30)}/a.pdf"):
        with pytest.raises(PreviewError, match="too long"):
            render_pdf_page(workbench, path)
        with pytest.raises(PreviewError, match="too long"):
            image_thumbnail(workbench, path.replace(".pdf", ".png"))


def test_a_huge_pdf_page_as_a_thumbnail_is_scaled_to_the_thumbnail_side(workbench):
    page = render_pdf_page(workbench, _written(workbench, corpus.named("DOC-huge-page.pdf")), 1, zoom=0.4, max_side=400)
    assert (page.width, page.height) == (400, 400)
    a4 = render_pdf_page(workbench, _written(workbench, corpus.named("DOC-owner-only.pdf")), 1, zoom=0.4, max_side=400)
    assert (a4.width, a4.height, a4.note) == (238, 337, "")  # an ordinary page is not affected
