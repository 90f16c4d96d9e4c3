def test_the_home_page_shows_live_counts_for_every_stage(open_page, invoice_source):
    from services.core.domain.sheet import SheetDraft
    from services.data.sheets import SheetService

    SheetService(invoice_source).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id"))
    app = open_page("pages/home.py")
    assert not app.exception
    stages = [m.value for m in app.markdown if m.value.startswith("**") and m.value.strip("*").isupper()]
    assert stages == ["**DATA**", "**GENERATE**", "**LABEL**", "**TRAIN**", "**DEPLOY**", "**MONITOR**", "**IMPROVE**"]
    figures = [m.value for m in app.markdown if m.value.startswith("### ")]
    assert figures[:2] == ["### 1", "### 0"]  # one sheet, no Training Sheet yet
    assert "Not part of this build yet" in " ".join(c.value for c in app.caption)
