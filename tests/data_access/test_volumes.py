import os

import pytest

from data_access.volumes import LocalVolumeFiles, VolumeFileError, VolumePath, VolumePathError, check_allowed


@pytest.mark.parametrize(
    "path",
    [
        "/Volumes/main/raw/docs/../../../etc/passwd",
        "/Volumes/main/raw/docs/./a.pdf",
        "/etc/passwd",
        "Volumes/main/raw/docs/a.pdf",
        "/Volumes/main/raw",
        "/Volumes/main/ra w/docs/a.pdf",
        "/Volumes/main/raw/docs/a\\..\\b.pdf",
    ],
)
def test_malformed_or_escaping_volume_paths_are_refused(path):
    with pytest.raises(VolumePathError):
        VolumePath.parse(path)


def test_a_path_outside_the_sheets_volumes_is_refused():
    allowed = ["/Volumes/main/raw/docs"]
    assert str(check_allowed("/Volumes/main/raw/docs/sub/a.pdf", allowed)) == "/Volumes/main/raw/docs/sub/a.pdf"
    with pytest.raises(VolumePathError, match="outside this sheet's volumes"):
        check_allowed("/Volumes/main/raw/images/a.png", allowed)
    with pytest.raises(VolumePathError, match="outside"):
        check_allowed("/Volumes/main/raw/docs2/a.pdf", allowed)


def test_local_volumes_mirror_volume_paths_under_the_home(tmp_path):
    files = LocalVolumeFiles(tmp_path)
    files.write_bytes("/Volumes/main/raw/docs/a/b.txt", b"hello")
    assert (tmp_path / "volumes/main/raw/docs/a/b.txt").read_bytes() == b"hello"
    assert files.read_bytes("/Volumes/main/raw/docs/a/b.txt") == b"hello"
    assert [e.name for e in files.list_directory("/Volumes/main/raw/docs")] == ["a"]
    assert files.list_directory("/Volumes/main/raw/docs/a")[0].size == 5
    assert files.volume_names("main", "raw") == ["docs"]


def test_reading_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path):
    files = LocalVolumeFiles(tmp_path)
    files.write_bytes("/Volumes/main/raw/docs/big.bin", b"x" * 2048)
    with pytest.raises(VolumeFileError, match="limit"):
        files.read_bytes("/Volumes/main/raw/docs/big.bin", max_bytes=1024)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(VolumeFileError, match="does not exist"):
        LocalVolumeFiles(tmp_path).read_bytes("/Volumes/main/raw/docs/none.pdf")


def test_a_symlink_inside_the_mirror_cannot_lead_outside_it(tmp_path):
    files = LocalVolumeFiles(tmp_path / "home")
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    (tmp_path / "home/volumes/main/raw/docs").mkdir(parents=True)
    os.symlink(secret, tmp_path / "home/volumes/main/raw/docs/link.txt")
    with pytest.raises(VolumePathError, match="outside"):
        files.read_bytes("/Volumes/main/raw/docs/link.txt")


def test_a_new_local_file_appears_whole_and_never_replaces_one(tmp_path):
    files = LocalVolumeFiles(tmp_path)
    path = "/Volumes/c/s/v/exports/e1/train.jsonl"
    with files.open_new_file(path) as handle:
        handle.write(b"line\n")
        assert not files.exists(path)
    assert files.read_bytes(path) == b"line\n"
    with pytest.raises(VolumeFileError, match="already exists"), files.open_new_file(path) as handle:
        handle.write(b"other")
    assert files.read_bytes(path) == b"line\n"
    assert [e.name for e in files.list_directory("/Volumes/c/s/v/exports/e1")] == ["train.jsonl"]  # no partial file left


def test_an_error_while_writing_a_local_file_leaves_nothing(tmp_path):
    files = LocalVolumeFiles(tmp_path)
    with pytest.raises(RuntimeError), files.open_new_file("/Volumes/c/s/v/e/train.jsonl") as handle:
        handle.write(b"half")
        raise RuntimeError("stopped")
    assert files.list_directory("/Volumes/c/s/v/e") == []
    files.delete_file("/Volumes/c/s/v/e/train.jsonl")  # missing: fine
