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
    with pytest.raises(VolumePathError, match="leads out of its volume"):
        files.read_bytes("/Volumes/main/raw/docs/link.txt")


def _store_with_volume(tmp_path):
    files = LocalVolumeFiles(tmp_path / "home")
    files.write_bytes("/Volumes/main/raw/docs/a.pdf", b"%PDF-1.7 a")
    files.write_bytes("/Volumes/other/secret/vault/x.pdf", b"%PDF-1.7 secret")
    return files, tmp_path / "home/volumes"


@pytest.mark.parametrize("target", ["outside the store", "another volume"])
def test_a_volume_that_is_a_link_is_not_served_and_says_so(tmp_path, target):
    files, volumes = _store_with_volume(tmp_path)
    elsewhere = tmp_path / "elsewhere" if target == "outside the store" else volumes / "other/secret/vault"
    (elsewhere / "y.pdf").parent.mkdir(parents=True, exist_ok=True)
    (elsewhere / "y.pdf").write_bytes(b"%PDF-1.7 y")
    os.symlink(elsewhere, volumes / "main/raw/linked")
    message = "Volume /Volumes/main/raw/linked is a link to a folder elsewhere; a volume must be a folder of the store, so it is not served."
    for read in (files.list_directory, files.size, files.read_bytes, files.fingerprint):
        with pytest.raises(VolumePathError) as raised:
            read("/Volumes/main/raw/linked" if read is files.list_directory else "/Volumes/main/raw/linked/y.pdf")
        assert str(raised.value) == message


def test_a_link_inside_a_volume_into_another_catalogs_volume_is_not_served(tmp_path):
    files, volumes = _store_with_volume(tmp_path)
    os.symlink(volumes / "other/secret/vault/x.pdf", volumes / "main/raw/docs/INV-1.pdf")
    with pytest.raises(VolumePathError) as raised:
        files.read_bytes("/Volumes/main/raw/docs/INV-1.pdf")
    assert str(raised.value) == "/Volumes/main/raw/docs/INV-1.pdf is a link that leads out of its volume, so it is not served."
    listed = {e.name: e for e in files.list_directory("/Volumes/main/raw/docs")}
    assert listed["INV-1.pdf"].size is None  # listed, so its item says why it cannot be shown


def test_a_link_within_its_own_volume_is_served(tmp_path):
    files, volumes = _store_with_volume(tmp_path)
    os.symlink(volumes / "main/raw/docs/a.pdf", volumes / "main/raw/docs/INV-2.pdf")
    assert files.read_bytes("/Volumes/main/raw/docs/INV-2.pdf") == b"%PDF-1.7 a"


def test_a_broken_link_or_a_link_loop_breaks_only_itself(tmp_path):
    files, volumes = _store_with_volume(tmp_path)
    docs = volumes / "main/raw/docs"
    os.symlink(docs / "gone.pdf", docs / "broken.pdf")
    os.symlink(docs / "loop-b.pdf", docs / "loop-a.pdf")
    os.symlink(docs / "loop-a.pdf", docs / "loop-b.pdf")
    assert sorted(e.name for e in files.list_directory("/Volumes/main/raw/docs")) == ["a.pdf", "broken.pdf", "loop-a.pdf", "loop-b.pdf"]
    with pytest.raises(VolumeFileError, match="does not exist"):
        files.read_bytes("/Volumes/main/raw/docs/broken.pdf")
    with pytest.raises(VolumeFileError, match="loop"):
        files.read_bytes("/Volumes/main/raw/docs/loop-a.pdf")


@pytest.mark.parametrize(
    "path", ["/Volumes/main/raw/docs/" + "x" * 256 + ".pdf", "/Volumes/main/raw/docs/" + "/".join(["d" * 200] * 30) + "/a.pdf"]
)
def test_a_path_longer_than_a_file_system_allows_is_refused_before_it_is_used(tmp_path, path):
    with pytest.raises(VolumePathError, match="too long"):
        VolumePath.parse(path)
    with pytest.raises(VolumePathError, match="too long"):
        LocalVolumeFiles(tmp_path).size(path)


def test_an_unreadable_file_is_a_volume_file_error(tmp_path):
    files, volumes = _store_with_volume(tmp_path)
    (volumes / "main/raw/docs/folder.pdf").mkdir()
    with pytest.raises(VolumeFileError, match="does not exist"):
        files.read_bytes("/Volumes/main/raw/docs/folder.pdf")
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
