"""The local file state store: durable records, the per-service lock, control requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from canaryctl.errors import (
    DeploymentNotFound,
    InvalidInput,
    LockHeld,
    RecordConflict,
    StateError,
)
from canaryctl.state import open_store
from canaryctl.state.file import FileStateStore


@pytest.fixture
def store(tmp_path):
    return FileStateStore(tmp_path / "state")


def test_save_load_roundtrip_and_list_newest_first(store):
    for i, service in enumerate(["a", "b", "a"]):
        store.save({"id": f"{service}-{i}", "service": service, "created_at": 100.0 + i})
    assert store.load("a-2")["service"] == "a"
    assert [r["id"] for r in store.list()] == ["a-2", "b-1", "a-0"]
    assert [r["id"] for r in store.list("a", limit=1)] == ["a-2"]


def test_a_save_replaces_the_file_atomically(store, tmp_path):
    store.save({"id": "x", "n": 1})
    store.save({"id": "x", "n": 2})
    folder = tmp_path / "state" / "deployments"
    assert [p.name for p in folder.iterdir()] == ["x.json"]  # no temporary files left
    assert json.loads((folder / "x.json").read_text())["n"] == 2


def test_unknown_and_corrupt_records(store, tmp_path):
    with pytest.raises(DeploymentNotFound, match="no deployment 'nope'"):
        store.load("nope")
    (tmp_path / "state" / "deployments").mkdir(parents=True)
    (tmp_path / "state" / "deployments" / "bad.json").write_text("{not json")
    with pytest.raises(StateError, match="corrupt"):
        store.load("bad")
    assert store.list() == []  # a damaged record does not hide the others


def test_ids_cannot_escape_the_directory(store):
    with pytest.raises(InvalidInput):
        store.load("../../etc/passwd")


def test_one_holder_at_a_time_naming_the_holder(store):
    store.acquire("svc", "dep-1")
    with pytest.raises(LockHeld, match="locked by deployment dep-1") as info:
        store.acquire("svc", "dep-2")
    assert info.value.exit_code == 5 and info.value.stale is False
    store.acquire("svc", "dep-1")  # the holder itself (resume) re-acquires
    store.release("svc", "dep-2")  # not the holder: no effect
    assert store.holder("svc") == "dep-1"
    store.release("svc", "dep-1")
    assert store.holder("svc") is None
    store.acquire("svc", "dep-2")


def test_concurrent_acquire_has_exactly_one_winner(tmp_path):
    winners, barrier = [], threading.Barrier(8)

    def grab(i: int) -> None:
        barrier.wait()
        try:
            FileStateStore(tmp_path / "s").acquire("svc", f"dep-{i}")
            winners.append(i)
        except LockHeld:
            pass

    threads = [threading.Thread(target=grab, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(winners) == 1


def test_a_lock_whose_process_is_gone_is_reported_stale_not_taken(store, tmp_path):
    # Another process takes the lock and dies without releasing it.
    code = (
        "import sys; from canaryctl.state.file import FileStateStore;"
        f"FileStateStore({str(tmp_path / 'state')!r}).acquire('svc', 'dep-dead')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with pytest.raises(LockHeld) as info:
        store.acquire("svc", "dep-new")
    assert info.value.stale is True and info.value.holder == "dep-dead"
    assert store.holder("svc") == "dep-dead"  # still there until resumed or aborted
    store.acquire("svc", "dep-dead")  # its resume re-acquires
    assert store.lock_info("svc")["pid"] == os.getpid()


def test_control_requests_are_kept_apart_from_the_record(store):
    store.save({"id": "d1", "phase": "analyzing"})
    store.post_request("d1", {"action": "pause", "by": "a"})
    store.save({"id": "d1", "phase": "analyzing", "n": 2})  # the engine's next save
    store.post_request("d1", {"action": "abort", "by": "b", "id": "fixed"})
    requests = store.requests("d1")
    assert [r["action"] for r in requests] == ["pause", "abort"]
    assert requests[1]["id"] == "fixed" and requests[0]["id"] and requests[0]["at"] > 0
    assert store.requests("other") == []


def test_state_dir_from_flag_env_or_default(tmp_path, monkeypatch):
    monkeypatch.setenv("CANARYCTL_STATE_DIR", str(tmp_path / "env"))
    assert open_store(None).root == tmp_path / "env"
    assert open_store(str(tmp_path / "flag")).root == tmp_path / "flag"
    monkeypatch.delenv("CANARYCTL_STATE_DIR")
    assert str(open_store(None).root) == ".canaryctl"


def test_a_second_writer_is_refused_not_merged(tmp_path):
    """Two processes read revision 1; the first to write wins, the other's save is refused
    and the record keeps the winner's content (a takeover fences the old engine)."""
    FileStateStore(tmp_path).save({"id": "d1", "phase": "analyzing", "engine": {"pid": 1}})
    old, new = FileStateStore(tmp_path), FileStateStore(tmp_path)
    mine, theirs = old.load("d1"), new.load("d1")
    assert mine["rev"] == theirs["rev"] == 1

    theirs.update(phase="rolling_back", engine={"pid": 2, "host": "laptop"})
    new.save(theirs)
    assert theirs["rev"] == 2
    mine["phase"] = "promoting"
    with pytest.raises(RecordConflict, match=r"d1 was written by another .*pid 2 on laptop"):
        old.save(mine)
    assert FileStateStore(tmp_path).load("d1")["phase"] == "rolling_back"
    assert RecordConflict.exit_code == 5


def test_a_record_may_be_created_only_once(tmp_path):
    FileStateStore(tmp_path).save({"id": "d1", "n": 1})
    with pytest.raises(RecordConflict):
        FileStateStore(tmp_path).save({"id": "d1", "n": 2})  # never read: a blind overwrite


def test_concurrent_saves_of_one_revision_let_exactly_one_through(tmp_path):
    FileStateStore(tmp_path).save({"id": "d1", "n": 0})
    readers = [FileStateStore(tmp_path) for _ in range(8)]
    records = [r.load("d1") for r in readers]
    won, lost = [], []
    barrier = threading.Barrier(len(readers))

    def write(i: int) -> None:
        barrier.wait()
        try:
            readers[i].save({**records[i], "n": i})
            won.append(i)
        except RecordConflict:
            lost.append(i)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(readers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(won) == 1 and len(lost) == len(readers) - 1
    assert FileStateStore(tmp_path).load("d1")["n"] == won[0]


def test_a_full_disk_while_locking_leaves_no_lock(store, monkeypatch):
    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StateError, match=r"cannot lock service 'svc'.*No space left"):
        store.acquire("svc", "dep-1")
    monkeypatch.undo()
    assert store.holder("svc") is None
    assert list((store.root / "locks").iterdir()) == []  # no empty lock, no temporary file
    store.acquire("svc", "dep-2")
    assert store.holder("svc") == "dep-2"
