import pytest

from data_access.identity import current_user
from data_access.settings import SettingsError, load_settings


def test_the_laptop_backend_is_the_default():
    settings = load_settings({})
    assert settings.backend == "local"
    assert settings.table("sheets") == "mirion_vital.workbench.sheets"


def test_a_databricks_app_environment_selects_the_databricks_backend():
    assert load_settings({"DATABRICKS_APP_NAME": "vital-workbench"}).backend == "databricks"
    assert load_settings({"DATABRICKS_WAREHOUSE_ID": "abc"}).backend == "databricks"
    assert load_settings({"DATABRICKS_WAREHOUSE_ID": "abc", "WORKBENCH_BACKEND": "local"}).backend == "local"


def test_a_catalog_name_that_is_not_an_identifier_is_refused():
    with pytest.raises(SettingsError, match="WORKBENCH_CATALOG"):
        load_settings({"WORKBENCH_CATALOG": "main; DROP SCHEMA x"})


def test_the_local_user_comes_from_workbench_user():
    settings = load_settings({"WORKBENCH_USER": "ana@mirion.example"})
    assert current_user(settings, {"X-Forwarded-Email": "someone@else"}).email == "ana@mirion.example"


def test_the_image_pixel_limit_is_a_setting_with_a_safe_default():
    assert load_settings({}).max_image_pixels == 60_000_000
    assert load_settings({"WORKBENCH_MAX_IMAGE_PIXELS": "120000000"}).max_image_pixels == 120_000_000
    for bad in ("lots", "0", "5000000000"):
        with pytest.raises(SettingsError, match="WORKBENCH_MAX_IMAGE_PIXELS"):
            load_settings({"WORKBENCH_MAX_IMAGE_PIXELS": bad})


def test_exports_go_to_the_workbench_schemas_exports_volume_unless_one_is_named():
    assert load_settings({}).export_volume_path == "/Volumes/mirion_vital/workbench/exports"
    assert load_settings({"WORKBENCH_CATALOG": "acme", "WORKBENCH_SCHEMA": "ml"}).export_volume_path == "/Volumes/acme/ml/exports"
    assert load_settings({"WORKBENCH_EXPORT_VOLUME": "shared.training.jsonl"}).export_volume_path == "/Volumes/shared/training/jsonl"


@pytest.mark.parametrize("name", ["exports", "a.b", "a.b.c.d", "a.b.c d", "a.b/../c.d"])
def test_an_export_volume_that_is_not_catalog_schema_volume_is_refused(name):
    with pytest.raises(SettingsError, match="WORKBENCH_EXPORT_VOLUME"):
        load_settings({"WORKBENCH_EXPORT_VOLUME": name})


def test_training_settings_have_working_defaults_and_refuse_nonsense():
    settings = load_settings({})
    assert (settings.train_threads, settings.train_accelerator, settings.mlflow_ui_url) == (0, "GPU_1xA10", "http://127.0.0.1:5000")
    assert load_settings({"WORKBENCH_TRAIN_THREADS": "3", "WORKBENCH_MLFLOW_UI_URL": "http://mlflow.lan:5000/"}).train_threads == 3
    assert load_settings({"WORKBENCH_MLFLOW_UI_URL": "http://mlflow.lan:5000/"}).mlflow_ui_url == "http://mlflow.lan:5000"
    with pytest.raises(SettingsError, match="WORKBENCH_TRAIN_THREADS"):
        load_settings({"WORKBENCH_TRAIN_THREADS": "many"})
