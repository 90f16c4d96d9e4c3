from data_access.sql.duckdb_engine import release_home
from tests.store_holder import store_held_by_another_process


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
    assert "Not part of this build yet" not in " ".join(c.value for c in app.caption)  # IMPROVE is built too


def test_on_databricks_a_request_without_a_forwarded_identity_gets_a_refusal_page(open_page, monkeypatch):
    monkeypatch.setenv("WORKBENCH_BACKEND", "databricks")
    monkeypatch.setenv("DATABRICKS_WAREHOUSE_ID", "abc123")
    app = open_page("pages/home.py")
    assert not app.exception
    [error] = app.error
    assert "did not say who you are" in error.value
    assert not [m for m in app.markdown if m.value == "**DATA**"]  # nothing of the workbench is shown
def test_a_store_held_by_another_process_is_a_message_naming_it_and_the_page_opens_once_it_is_gone(open_page, app_env):
    with store_held_by_another_process(app_env.home) as holder:
        app = open_page("pages/data.py")
        assert not app.exception
        (error,) = [e.value for e in app.error]
        assert error.startswith(f"The local store at {app_env.home.resolve()} is open in another process (PID {holder.pid}: ")
        assert not app.title  # the page stops at the message
    app.run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Data"]
    release_home(app_env.home)
