"""Output and store paths are checked before any work: src/ulterior/store/_paths.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ulterior.errors import UsageError
from ulterior.store import check_output_dir, check_output_file, check_store_path


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_good_paths_pass_and_nothing_is_made(tmp_path: Path) -> None:
    (tmp_path / "existing").mkdir()
    before = _files(tmp_path)
    assert check_output_dir(tmp_path / "existing") == tmp_path / "existing"
    assert check_output_dir(tmp_path / "new") == tmp_path / "new"
    assert check_output_file(tmp_path / "x.json", "--json") == tmp_path / "x.json"
    assert check_store_path(tmp_path / "deep" / "er" / "s.sqlite") is not None
    assert _files(tmp_path) == before


@pytest.mark.parametrize(
    ("check", "target", "fragment"),
    [
        (check_output_dir, "file", "is a file; give a folder"),
        (check_output_dir, "missing/out", "does not exist"),
        (check_output_dir, "file/out", "is a file, not a folder"),
        (check_output_file, "folder", "is a folder"),
        (check_output_file, "missing/x.json", "does not exist"),
        (check_output_file, "file/x.json", "is a file, not a folder"),
        (check_store_path, "folder", "is a folder"),
        (check_store_path, "file/s.sqlite", "is a file, not a folder"),
    ],
)
def test_bad_paths_are_one_line_errors(tmp_path: Path, check: object, target: str,
                                       fragment: str) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    with pytest.raises(UsageError, match=fragment) as caught:
        check(tmp_path / target, "--opt")  # type: ignore[operator]
    assert "\n" not in str(caught.value) and "--opt" in str(caught.value)


@pytest.mark.parametrize("check", [check_output_dir, check_output_file, check_store_path])
def test_a_folder_that_cannot_be_written_is_refused(check: object) -> None:
    # /proc refuses new files even to root, for whom permission bits do not count
    if not Path("/proc").is_dir():
        pytest.skip("no /proc")
    with pytest.raises(UsageError, match="not writable"):
        check(Path("/proc/ulterior-test"), "--opt")  # type: ignore[operator]


def test_a_read_only_folder_is_refused_for_other_users(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores permission bits")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UsageError, match="not writable"):
            check_output_dir(folder / "out")
    finally:
        folder.chmod(0o755)
