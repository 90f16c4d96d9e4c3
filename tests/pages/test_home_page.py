def test_the_home_page_shows_live_counts_for_every_stage(open_page, invoice_source):
    from services.domain.sheet import SheetDraft
    from services.sheets import SheetService

    SheetService(invoice_source).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id"))
    app = open_page("pages/home.py")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert list(metrics) == ["DATA", "GENERATE", "LABEL", "TRAIN", "DEPLOY", "MONITOR", "IMPROVE"]
    assert metrics["DATA"] == "1"
    assert metrics["GENERATE"] == "0"
