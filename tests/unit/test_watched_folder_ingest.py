"""`frontdoor ingest --watch`: a new extract in a folder is ingested once it settles, and not again after a restart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from services.cli import main
from services.ingest.watch import LEDGER_NAME, FolderWatch, Ledger, poll

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "ssd_contacts.example.csv"
TEST_KEY = "9d2f4b6a8c0e1f3a5b7c9d1e3f5a7b9c0d2e4f6a8b1c3d5e7f9a0b2c4d6e8f1a"  # 32 random bytes, hex; not a council's


def looks(folder: Path, times: int) -> list[str]:
    """The files ingested over `times` polls of `folder`, without sleeping."""
    taken: list[str] = []
    watch = FolderWatch(folder, "*.csv", Ledger.load(folder / LEDGER_NAME))
    poll(
        watch,
        lambda f: taken.append(f.name),
        poll_seconds=0,
        looks=times,
        sleep=lambda _: None,
    )
    return taken


def test_a_file_is_taken_only_once_it_has_stopped_changing_between_two_looks(tmp_path: Path) -> None:
    extract = tmp_path / "contacts-1.csv"
    extract.write_text("a,b\n")
    watch = FolderWatch(tmp_path, "*.csv", Ledger.load(tmp_path / LEDGER_NAME))
    assert watch.ready() == []  # first sight: it may still be being written
    extract.write_text("a,b\n1,2\n")
    assert watch.ready() == []  # it changed since the last look
    assert watch.ready() == [extract]


def test_a_file_done_before_a_restart_is_not_taken_again_but_a_new_one_is(tmp_path: Path) -> None:
    (tmp_path / "monday.csv").write_text("x\n")
    assert looks(tmp_path, 2) == ["monday.csv"]
    (tmp_path / "tuesday.csv").write_text("y\n")
    (tmp_path / "notes.txt").write_text("not an extract\n")
    assert looks(tmp_path, 3) == ["tuesday.csv"]  # a new watcher: the ledger on disk remembers Monday


def test_a_file_replaced_by_different_content_under_the_same_name_is_taken_again(tmp_path: Path) -> None:
    (tmp_path / "latest.csv").write_text("first\n")
    assert looks(tmp_path, 2) == ["latest.csv"]
    (tmp_path / "latest.csv").write_text("second, longer\n")
    assert looks(tmp_path, 2) == ["latest.csv"]


def test_a_file_whose_ingest_fails_is_not_marked_done(tmp_path: Path) -> None:
    (tmp_path / "broken.csv").write_text("x\n")
    watch = FolderWatch(tmp_path, "*.csv", Ledger.load(tmp_path / LEDGER_NAME))
    watch.ready()

    def fail(_: Path) -> None:
        raise RuntimeError("broker down")

    with pytest.raises(RuntimeError):
        poll(watch, fail, poll_seconds=0, looks=1, sleep=lambda _: None)
    assert Ledger.load(tmp_path / LEDGER_NAME).done == {}


def test_the_ingest_command_watches_a_folder_of_ssd_contacts_extracts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", json.dumps({"886": {"id": "886-test-a", "key": TEST_KEY}}))
    inbox, out = tmp_path / "inbox", tmp_path / "events.jsonl"
    inbox.mkdir()
    shutil.copy(EXAMPLE, inbox / "ssd_contacts_20240504.csv")
    command = ["ingest", str(inbox), "--watch", "--format", "ssd-contacts", "--la-code", "886", "--pattern", "*.csv"]
    command += ["--poll-seconds", "0", "--polls", "2", "--to", "jsonl", "--out", str(out)]
    assert main(command) == 0
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum(e["type"] == "ContactReceived" for e in events) == 5
    assert main(command) == 0  # restarted: the ledger says the file is done
    assert len(out.read_text().splitlines()) == len(events)
