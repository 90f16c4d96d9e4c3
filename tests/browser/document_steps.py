"""DATA page steps the document tests share: upload a file into a sheet's volume, parse the
volume, and open an item's parsed text on its card."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import open_expander, wait_for_app

PARSE_TIMEOUT_MS = 120_000  # a few pages, OCR included; minutes only on a machine far too loaded


def upload_into_volume(page: object, file: Path, items: int) -> None:
    """Drop `file` on the sheet's uploader and upload it; the sheet then has `items` items."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(file))
    page.get_by_text(file.name, exact=True).wait_for()
    wait_for_app(page)
    page.get_by_role("button", name="Upload", exact=True).click()
    page.get_by_text(f"Uploaded 1 of 1 files; the sheet has {items} items.").wait_for()
    wait_for_app(page)


def parse_documents(page: object, files: int) -> None:
    """Parse documents, and wait for the job to go through all `files` of the volume."""
    page.get_by_role("button", name="Parse documents", exact=True).click()
    page.get_by_text(f"{files} of {files} items · succeeded").wait_for(timeout=PARSE_TIMEOUT_MS)
    wait_for_app(page)


def parsed_text_card(page: object, item_ref: str) -> object:
    """The item's card with its Parsed text fold opened."""
    card = page.locator('[data-testid="stVerticalBlock"]').filter(has=page.get_by_text(item_ref, exact=True)).last
    open_expander(card, "Parsed text")
    return card
