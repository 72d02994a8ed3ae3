"""A full upload disk (issue 15, item 6): the form comes back with a clear message, 507, and no
file stays behind — not even the image whose thumbnail did not fit."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rfp_portal.rendering.images import process_upload
from tests import images
from tests.test_plots import plots_in_db, post_sketch, upload

FULL = "Storage is full: the image was not saved. Please try again later or tell an admin."


@pytest.fixture
def owned_rfp(web, make) -> int:
    rfp_id = make.rfp(make.user("owner"))
    web.login("owner")
    return rfp_id


def files_left(folder: str | Path) -> list[Path]:
    """Every file under ``folder`` but the shards' lock files (temporary files count)."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".lock")


def fill_the_disk_from_the_second_write(monkeypatch, folder: str) -> None:
    """The store's low-level write (its fsync) fails with ENOSPC for every file in ``folder``
    after the first: the image is written, its thumbnail is not."""
    real_fsync, calls = os.fsync, []

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(Path(folder).resolve())):
            calls.append(fd)
            if len(calls) >= 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def assert_the_form_came_back_full(response, caption: str) -> None:
    assert response.status_code == 507
    html = response.get_data(as_text=True)
    assert FULL in html
    assert f'value="{caption}"' in html  # what was typed is kept


@pytest.mark.engine_independent  # files, not rows
def test_an_image_whose_thumbnail_does_not_fit_leaves_nothing_behind(
    web, app, owned_rfp, monkeypatch
):
    fill_the_disk_from_the_second_write(monkeypatch, app.config["UPLOAD_FOLDER"])
    response = upload(web, owned_rfp, images.png(), caption="Loss against warmup steps")
    assert_the_form_came_back_full(response, "Loss against warmup steps")
    assert plots_in_db(app) == [] and files_left(app.config["UPLOAD_FOLDER"]) == []


@pytest.mark.engine_independent
def test_a_sketch_on_a_full_disk_comes_back_with_its_spec(web, app, owned_rfp, monkeypatch):
    fill_the_disk_from_the_second_write(monkeypatch, app.config["UPLOAD_FOLDER"])
    response = post_sketch(web, owned_rfp, caption="A hypothesis, hand drawn")
    assert_the_form_came_back_full(response, "A hypothesis, hand drawn")
    assert plots_in_db(app) == [] and files_left(app.config["UPLOAD_FOLDER"]) == []


@pytest.fixture
def tiny_filesystem(tmp_path) -> Path:
    """A 64 KiB tmpfs (skipped unless this process may mount one: root, outside a locked-down
    container)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def leave_room_for(folder: Path, size: int) -> None:
    """Fill ``folder``'s file system but for ``size`` bytes (rounded up to whole pages)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    page = 4096
    room = -(-size // page) * page
    os.truncate(filler, max(0, filler.stat().st_size - room))


@pytest.mark.engine_independent
def test_an_upload_to_a_really_full_filesystem_leaves_no_file(web, app, owned_rfp, tiny_filesystem):
    uploads = tiny_filesystem / "uploads"
    app.config["UPLOAD_FOLDER"] = str(uploads)
    app.extensions.pop("rfp_store", None)  # the store is made again, on the tiny file system
    data = images.png(1200, 900)
    image = process_upload(data).image
    leave_room_for(tiny_filesystem, len(image.data))  # the image fits; its thumbnail does not

    response = upload(web, owned_rfp, data, caption="Accuracy against model size")
    assert_the_form_came_back_full(response, "Accuracy against model size")
    assert plots_in_db(app) == [] and files_left(uploads) == []

    (tiny_filesystem / "filler").unlink()  # room again: the same upload is saved
    assert upload(web, owned_rfp, data, caption="Accuracy against model size").status_code == 302
    assert len(plots_in_db(app)) == 1
