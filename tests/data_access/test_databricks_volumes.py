"""DatabricksVolumeFiles through the real databricks-sdk Files API against a loopback REST fake."""

from collections.abc import Iterator

import pytest

from data_access.volumes import VolumeEntry, VolumeFileError, VolumePathError
from data_access.volumes_databricks import DatabricksVolumeFiles
from tests.fakes.databricks_rest import FakeDatabricksRest

VOLUME = "/Volumes/mirion_vital/raw/invoice_pdfs"


@pytest.fixture
def rest() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as rest:
        rest.add_volume("mirion_vital.raw.invoice_pdfs")
        yield rest


@pytest.fixture
def files(rest) -> DatabricksVolumeFiles:
    return DatabricksVolumeFiles(rest.client())


def test_a_written_file_reads_back_byte_for_byte_and_is_stored_in_the_volume(files, rest):
    data = bytes(range(256)) * 40
    files.write_bytes(f"{VOLUME}/2024/INV-0001.pdf", data)
    assert files.read_bytes(f"{VOLUME}/2024/INV-0001.pdf") == data
    assert files.size(f"{VOLUME}/2024/INV-0001.pdf") == len(data)
    assert rest.files[f"{VOLUME}/2024/INV-0001.pdf"].data == data


def test_writing_again_overwrites_the_file(files):
    files.write_bytes(f"{VOLUME}/notes.txt", b"first")
    files.write_bytes(f"{VOLUME}/notes.txt", b"second")
    assert files.read_bytes(f"{VOLUME}/notes.txt") == b"second"


def test_a_files_fingerprint_is_stable_until_it_is_replaced(files):
    files.write_bytes(f"{VOLUME}/notes.txt", b"first")
    before = files.fingerprint(f"{VOLUME}/notes.txt")
    assert files.fingerprint(f"{VOLUME}/notes.txt") == before
    files.write_bytes(f"{VOLUME}/notes.txt", b"replaced")
    assert files.fingerprint(f"{VOLUME}/notes.txt") != before


def test_a_listing_shows_files_with_sizes_and_folders_without(files):
    files.write_bytes(f"{VOLUME}/b.pdf", b"12345")
    files.write_bytes(f"{VOLUME}/a.png", b"1")
    files.write_bytes(f"{VOLUME}/2024/c.pdf", b"123")
    assert files.list_directory(VOLUME) == [
        VolumeEntry(f"{VOLUME}/2024", "2024", True, None),
        VolumeEntry(f"{VOLUME}/a.png", "a.png", False, 1),
        VolumeEntry(f"{VOLUME}/b.pdf", "b.pdf", False, 5),
    ]
    assert files.list_directory(f"{VOLUME}/2024") == [VolumeEntry(f"{VOLUME}/2024/c.pdf", "c.pdf", False, 3)]


@pytest.mark.parametrize(
    "path",
    [f"{VOLUME}/../other/secret.pdf", "/Volumes/mirion_vital/raw/../x/y.pdf", "/etc/passwd", "relative/file.pdf"],
)
def test_paths_that_leave_the_volumes_are_refused_before_any_request(files, rest, path):
    sent = len(rest.requests)
    with pytest.raises(VolumePathError):
        files.read_bytes(path)
    with pytest.raises(VolumePathError):
        files.write_bytes(path, b"x")
    assert len(rest.requests) == sent


def test_a_file_over_the_limit_is_refused_without_downloading_it(files, rest):
    files.write_bytes(f"{VOLUME}/big.pdf", b"x" * 5000)
    with pytest.raises(VolumeFileError, match="limit"):
        files.read_bytes(f"{VOLUME}/big.pdf", max_bytes=1000)
    methods = {r.method for r in rest.requests_for("big.pdf")}
    assert methods == {"PUT", "HEAD"}


def test_a_missing_file_says_it_does_not_exist(files):
    with pytest.raises(VolumeFileError, match=f"{VOLUME}/missing.pdf does not exist"):
        files.read_bytes(f"{VOLUME}/missing.pdf")
    assert not files.exists(f"{VOLUME}/missing.pdf")
    with pytest.raises(VolumeFileError, match="does not exist"):
        files.list_directory(f"{VOLUME}/no-such-folder")


def test_writing_into_a_volume_that_does_not_exist_says_so(files):
    with pytest.raises(VolumeFileError, match="does not exist"):
        files.write_bytes("/Volumes/mirion_vital/raw/nowhere/a.txt", b"x")


def test_a_file_the_user_may_not_read_names_the_permission_needed(files, rest):
    files.write_bytes(f"{VOLUME}/restricted/a.pdf", b"x")
    rest.deny(f"{VOLUME}/restricted")
    with pytest.raises(VolumeFileError, match=r"permission.*READ VOLUME"):
        files.read_bytes(f"{VOLUME}/restricted/a.pdf")


def test_a_volume_itself_is_not_a_file(files):
    with pytest.raises(VolumeFileError, match="is a volume"):
        files.read_bytes(VOLUME)


def test_a_new_file_is_written_in_pieces_and_appears_whole_when_closed(files, rest):
    path = f"{VOLUME}/exports/e1/train.jsonl"
    with files.open_new_file(path) as handle:
        for _ in range(1000):
            handle.write(b'{"messages": []}\n')
        assert path not in rest.files  # nothing is uploaded before the file is complete
    assert rest.files[path].data == b'{"messages": []}\n' * 1000
    assert [r.method for r in rest.requests_for("e1/train.jsonl")] == ["PUT"]


def test_a_new_file_never_replaces_an_existing_one(files, rest):
    path = f"{VOLUME}/exports/e1/manifest.json"
    files.write_bytes(path, b"version 1")
    with pytest.raises(VolumeFileError, match="already exists"), files.open_new_file(path) as handle:
        handle.write(b"version 2")
    assert rest.files[path].data == b"version 1"


def test_an_error_while_writing_leaves_no_file(files, rest):
    path = f"{VOLUME}/exports/e2/train.jsonl"
    with pytest.raises(RuntimeError), files.open_new_file(path) as handle:
        handle.write(b"half")
        raise RuntimeError("the export stopped")
    assert path not in rest.files


def test_deleting_a_file_removes_it_and_a_missing_one_is_fine(files, rest):
    files.write_bytes(f"{VOLUME}/exports/e3/train.jsonl", b"x")
    files.delete_file(f"{VOLUME}/exports/e3/train.jsonl")
    files.delete_file(f"{VOLUME}/exports/e3/train.jsonl")
    assert f"{VOLUME}/exports/e3/train.jsonl" not in rest.files


def test_a_new_file_larger_than_memory_spool_is_uploaded_from_disk(files, rest, monkeypatch):
    from data_access import volumes_databricks

    monkeypatch.setattr(volumes_databricks, "SPOOL_IN_MEMORY_BYTES", 1024)
    path = f"{VOLUME}/exports/e4/train.jsonl"
    with files.open_new_file(path) as handle:
        handle.write(b"y" * 100_000)
        assert handle._rolled  # type: ignore[attr-defined]  # spilled to a temporary file
    assert rest.files[path].data == b"y" * 100_000
