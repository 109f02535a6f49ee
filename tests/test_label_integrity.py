"""`moderation label` output integrity: resume fingerprints, no link following, device and FIFO outputs,
one run per output, torn partial files, one-line errors with exit 2, and memory flat in the archive's size."""

from __future__ import annotations

import csv
import errno
import json
import os
import stat
import sys
import threading
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moderation import Label, Prediction, WarningPolicy
from moderation import engines
from moderation import labelling
from moderation.cli import app
from moderation.labelling import label_archive
from moderation.records import InputError, OutputError, read_records

runner = CliRunner()


@dataclass
class Stub:
    """A moderator without a model: scores from the text's length; ``interrupt_after`` calls, then Ctrl-C."""

    version: str = "stub-1"
    backend: str = "fp32"
    desk: str | None = None
    thresholds: dict[Label, float] = field(default_factory=lambda: {l: 0.5 for l in Label})
    policy: WarningPolicy = field(default_factory=WarningPolicy)
    interrupt_after: int | None = None
    calls: int = 0

    def predict(self, texts):
        if self.interrupt_after is not None and self.calls >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls += 1
        return [self._prediction(len(t) % 100 / 100) for t in texts]

    def _prediction(self, score: float) -> Prediction:
        labels = tuple(l for l in Label if score >= self.thresholds[l])
        return Prediction(scores={l: score for l in Label}, labels=labels, warnings=self.policy.warnings_for(labels),
                          model_version=self.version)


def write_jsonl(path: Path, n: int = 7, text: str = "Item {i}: the council met about the roads é—🙂.") -> Path:
    path.write_text("".join(json.dumps({"id": f"n{i}-é🙂", "text": text.format(i=i)}, ensure_ascii=False) + "\n"
                            for i in range(n)), encoding="utf-8")
    return path


def interrupt(src: Path, out: Path, after: int = 2) -> Path:
    """Leave ``OUT.partial.jsonl`` as a run killed after ``after`` chunks of two records would."""
    with pytest.raises(KeyboardInterrupt):
        label_archive(Stub(interrupt_after=after), str(src), str(out), batch_size=2, progress=False)
    partial = out.with_name(out.name + ".partial.jsonl")
    assert partial.exists() and not out.exists()
    return partial


def fresh(src: Path, tmp_path: Path) -> bytes:
    """The output of an uninterrupted run."""
    out = tmp_path / "fresh" / "out.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    label_archive(Stub(), str(src), str(out), batch_size=2, progress=False)
    return out.read_bytes()


def label_cli(monkeypatch, stub, *args):
    """``moderation label ARGS`` with ``stub`` as the model."""
    monkeypatch.setattr(engines, "load_moderator", lambda job: stub)
    return runner.invoke(app, ["label", *map(str, args), "--quiet"])


def assert_one_line_error(result, *words):
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- 1. resume checks the input's content and the settings ------------------------------------------
@pytest.mark.parametrize("change", ["done_text", "pending_text", "appended", "removed"])
def test_resume_refuses_changed_input(tmp_path, monkeypatch, change):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    partial = interrupt(src, out)
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    if change == "done_text":  # same ids and length: only the text of a labelled record differs
        lines[0] = lines[0].replace("roads", "ROADS")
    elif change == "pending_text":
        lines[-1] = lines[-1].replace("roads", "ROADS")
    elif change == "appended":
        lines.append(json.dumps({"id": "new", "text": "new"}) + "\n")
    else:
        lines.pop()
    src.write_text("".join(lines), encoding="utf-8")
    before = partial.read_bytes()
    result = label_cli(monkeypatch, Stub(), src, "-o", out, "--resume")
    assert_one_line_error(result, "does not belong to this input")
    assert partial.read_bytes() == before and not out.exists()


def test_resume_goes_by_content_not_by_name_or_time(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    interrupt(src, out)
    moved = tmp_path / "moved.jsonl"
    moved.write_bytes(src.read_bytes())
    summary = label_archive(Stub(), str(moved), str(out), batch_size=2, progress=False, resume=True)
    assert summary.resumed == 4 and summary.records == 7
    assert out.read_bytes() == fresh(src, tmp_path)


@pytest.mark.parametrize("change, differs", [
    ({"version": "stub-2"}, "model_version"),
    ({"backend": "bf16"}, "backend"),
    ({"thresholds": {l: 0.2 for l in Label}}, "thresholds"),
    ({"desk": "sport"}, "desk"),
    ({"policy": WarningPolicy(wording={Label.SOLICITATION: "Advertising."})}, "warnings"),
])
def test_resume_refuses_other_settings(tmp_path, change, differs):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    partial = interrupt(src, out)
    before = partial.read_bytes()
    with pytest.raises(InputError, match=f"other settings \\({differs} differ\\)"):
        label_archive(Stub(**change), str(src), str(out), batch_size=2, progress=False, resume=True)
    assert partial.read_bytes() == before and not out.exists()


def test_resume_refuses_other_reading_limits(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    interrupt(src, out)
    monkeypatch.setenv("MODERATION_MAX_RECORD_CHARS", "10")
    with pytest.raises(InputError, match="max_record_chars differ"):
        label_archive(Stub(), str(src), str(out), batch_size=2, progress=False, resume=True)


def test_resume_refuses_stdin_input(tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    result = label_cli(monkeypatch, Stub(), "-", "-o", out, "--resume")
    assert_one_line_error(result, "regular file")


def test_resume_with_another_desk_or_policy_on_the_real_model(tiny_model, tmp_path, monkeypatch):
    from moderation.model import Moderator

    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    policy = tmp_path / "p.yaml"
    policy.write_text("desks:\n  news: {graphic_violence: 0.3}\n  sport: {graphic_violence: 0.7}\n")
    other = tmp_path / "q.yaml"
    other.write_text("labels:\n  solicitation: Paid content.\ndesks:\n  news: {graphic_violence: 0.3}\n")

    def label(*extra):
        args = ["label", src, "-o", out, "--model", tiny_model, "--backend", "fp32", "--batch-size", "2", "--quiet", *extra]
        return runner.invoke(app, [str(a) for a in args])

    predict = Moderator.predict
    calls = []

    def interrupted(self, texts):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return predict(self, texts)

    monkeypatch.setattr(Moderator, "predict", interrupted)
    killed = label("--policy", policy, "--desk", "news")
    assert killed.exit_code == 130 and "rerun with --resume to continue from" in killed.stderr
    monkeypatch.setattr(Moderator, "predict", predict)
    for extra, differs in ((["--policy", policy, "--desk", "sport"], "desk, thresholds"),
                           (["--policy", other, "--desk", "news"], "warnings"),
                           ([], "desk, thresholds")):
        assert_one_line_error(label(*extra, "--resume"), f"({differs} differ)")
    result = label("--policy", policy, "--desk", "news", "--resume")
    assert result.exit_code == 0 and "2 taken from the interrupted run" in result.stderr
    resumed = out.read_text(encoding="utf-8")
    out.unlink()
    assert label("--policy", policy, "--desk", "news").exit_code == 0
    assert out.read_text(encoding="utf-8") == resumed


# -- 2. files the tool creates are never opened through a link -------------------------------------
@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("name", ["out.jsonl.partial.jsonl", "out.jsonl.lock"])
def test_planted_symlink_is_refused_not_followed(tmp_path, monkeypatch, resume, name):
    src = write_jsonl(tmp_path / "in.jsonl")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / name).symlink_to(victim)
    result = label_cli(monkeypatch, Stub(), src, "-o", tmp_path / "out.jsonl", *(["--resume"] if resume else []))
    assert_one_line_error(result, "symbolic link", name)
    assert victim.read_text() == "precious\n" and not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("name", ["out.jsonl.partial.jsonl", "out.jsonl.lock"])
def test_dangling_symlink_creates_nothing_elsewhere(tmp_path, monkeypatch, name):
    src = write_jsonl(tmp_path / "in.jsonl")
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / name).symlink_to(elsewhere)
    result = label_cli(monkeypatch, Stub(), src, "-o", tmp_path / "out.jsonl")
    assert_one_line_error(result, "symbolic link")
    assert not elsewhere.exists()


def test_resume_refuses_a_hard_linked_or_fifo_partial_file(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    partial = out.with_name("out.jsonl.partial.jsonl")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"no newline at the end")
    os.link(victim, partial)
    assert_one_line_error(label_cli(monkeypatch, Stub(), src, "-o", out, "--resume"), "not a plain file")
    assert victim.read_bytes() == b"no newline at the end"
    partial.unlink()
    os.mkfifo(partial)
    assert_one_line_error(label_cli(monkeypatch, Stub(), src, "-o", out, "--resume"), "not a plain file")
    assert stat.S_ISFIFO(partial.lstat().st_mode)


# -- 3. output targets: devices and FIFOs in place, modes kept, the input never overwritten --------------
def make_char_device(path: Path, minor: int) -> Path:
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        os.close(os.open(path, os.O_WRONLY))
    except OSError as exc:  # no CAP_MKNOD, or a nodev mount
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


def test_output_to_a_character_device_is_written_in_place(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl")
    sink = make_char_device(tmp_path / "null.jsonl", 3)  # like /dev/null
    result = label_cli(monkeypatch, Stub(), src, "-o", sink)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(sink.lstat().st_mode) and leftovers(tmp_path) == ["in.jsonl", "null.jsonl"]
    assert_one_line_error(label_cli(monkeypatch, Stub(), src, "-o", sink, "--resume"), "--resume needs an output file")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_output_to_a_fifo_is_streamed_into_it(tmp_path, monkeypatch, fmt):
    src = write_jsonl(tmp_path / "in.jsonl")
    fifo = tmp_path / f"pipe.{fmt}"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the output stays below the pipe's buffer
    try:
        result = label_cli(monkeypatch, Stub(), src, "-o", fifo)
        data = b"".join(iter(lambda: os.read(reader, 1 << 16), b""))
    finally:
        os.close(reader)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and leftovers(tmp_path) == ["in.jsonl", fifo.name]
    expected = fresh(src, tmp_path / "x")
    if fmt == "jsonl":
        assert data == expected
    else:
        assert data.count(b"\n") == 8 and data.startswith(b"id,score_graphic_violence")


def test_output_naming_our_own_stdout_is_written_through_it(tmp_path, monkeypatch):
    """``-o /dev/stdout >> log``: the link stays a link, and the shell's redirection (here, appending) holds."""
    src = write_jsonl(tmp_path / "in.jsonl")
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"earlier\n")
    dev_stdout = tmp_path / "stdout"  # like /dev/stdout -> /proc/self/fd/1
    dev_stdout.symlink_to(log)
    with log.open("a") as redirected:
        monkeypatch.setattr(sys, "stdout", redirected)
        label_archive(Stub(), str(src), str(dev_stdout), batch_size=2, progress=False)
    assert dev_stdout.is_symlink() and log.read_bytes() == b"earlier\n" + fresh(src, tmp_path)
    assert leftovers(tmp_path) == ["fresh", "in.jsonl", "log.jsonl", "stdout"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_replaced_output_keeps_its_mode_and_new_output_gets_the_umask(tmp_path, monkeypatch, fmt):
    src = write_jsonl(tmp_path / "in.jsonl")
    kept, new = tmp_path / f"kept.{fmt}", tmp_path / f"new.{fmt}"
    kept.write_text("old")
    kept.chmod(0o640)
    old_umask = os.umask(0o027)
    try:
        for out in (kept, new):
            assert label_cli(monkeypatch, Stub(), src, "-o", out).exit_code == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_bytes() != b"old"
    assert stat.S_IMODE(new.stat().st_mode) == 0o640  # 0o666 less the umask, not mkstemp's 0o600
    assert leftovers(tmp_path) == sorted(["in.jsonl", kept.name, new.name])


def test_new_output_mode_follows_a_permissive_umask(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl")
    old_umask = os.umask(0o002)
    try:
        assert label_cli(monkeypatch, Stub(), src, "-o", tmp_path / "out.jsonl").exit_code == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == 0o664


@pytest.mark.parametrize("how", ["same path", "other spelling", "hard link", "symlink", "partial file"])
def test_output_that_is_the_input_is_refused(tmp_path, monkeypatch, how):
    src = write_jsonl(tmp_path / "in.jsonl")
    original = src.read_bytes()
    out = {
        "same path": src,
        "other spelling": tmp_path / "." / "sub" / ".." / "in.jsonl",
        "hard link": tmp_path / "link.jsonl",
        "symlink": tmp_path / "sym.jsonl",
        "partial file": tmp_path / "x.jsonl",
    }[how]
    (tmp_path / "sub").mkdir()
    if how == "hard link":
        os.link(src, out)
    elif how == "symlink":
        out.symlink_to(src)
    elif how == "partial file":
        os.link(src, tmp_path / "x.jsonl.partial.jsonl")
    result = label_cli(monkeypatch, Stub(), src, "-o", out)
    assert_one_line_error(result, "is the input file")
    assert src.read_bytes() == original


# -- 4. one run per output ---------------------------------------------------------------------------
def test_a_second_run_on_the_same_output_fails_while_the_first_goes_on(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    started, release = threading.Event(), threading.Event()

    class Slow(Stub):
        def predict(self, texts):
            started.set()
            assert release.wait(10)
            return super().predict(texts)

    first = threading.Thread(target=label_archive, args=(Slow(version="first"), str(src), str(out)),
                             kwargs={"batch_size": 2, "progress": False})
    first.start()
    try:
        assert started.wait(10)
        second = label_cli(monkeypatch, Stub(version="second"), src, "-o", out)
        assert_one_line_error(second, "another run is writing", "out.jsonl.lock")
        with pytest.raises(OutputError, match="another run"):
            label_archive(Stub(), str(src), str(out), resume=True, progress=False)
    finally:
        release.set()
        first.join(10)
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 7 and {r["model_version"] for r in rows} == {"first"}
    assert leftovers(tmp_path) == ["in.jsonl", "out.jsonl"]  # no lock or partial file left behind
    assert label_cli(monkeypatch, Stub(), src, "-o", out).exit_code == 0  # the lock is free again


# -- 5. a torn partial file is cut back to its last whole record ----------------------------------------
def test_resume_after_a_torn_partial_file(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    partial = interrupt(src, out, after=3)
    lines = partial.read_bytes().splitlines(keepends=True)  # a header and six records
    expected = fresh(src, tmp_path)
    head = b"".join(lines[:-1])
    cuts = [*range(1, 24), *range(24, len(lines[-1]), 9)]  # every byte of the id, inside "é" and "🙂" too
    tails = [lines[-1][:cut] for cut in cuts]
    tails += [b"\xff\xfe\n", b"{not json\n", b"[1, 2]\n", lines[-1][:-1] + b"\x00\n", lines[-1][:40] + b"\n"]
    for tail in tails:
        partial.write_bytes(head + tail)
        summary = label_archive(Stub(), str(src), str(out), batch_size=2, progress=False, resume=True)
        assert summary.resumed == 5 and summary.records == 7, tail
        assert out.read_bytes() == expected, tail
        assert not partial.exists()
        out.unlink()


@pytest.mark.parametrize("content", [b"", b'{"moderation_partial": 1, "inp', b"\xf0\x9f"])
def test_resume_from_a_partial_file_killed_before_its_header_was_whole(tmp_path, content):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    out.with_name("out.jsonl.partial.jsonl").write_bytes(content)
    summary = label_archive(Stub(), str(src), str(out), batch_size=2, progress=False, resume=True)
    assert summary.resumed == 0 and out.read_bytes() == fresh(src, tmp_path)


def test_torn_partial_file_through_the_cli(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    partial = interrupt(src, out)
    with partial.open("ab") as fh:
        fh.write('{"id": "n4-é🙂", "scores"'.encode()[:-1] + "é".encode()[:1])  # killed inside "é"
    for _ in range(2):  # not once per retry: the first retry finishes
        result = label_cli(monkeypatch, Stub(), src, "-o", out, "--resume")
        assert result.exit_code == 0, result.output
    assert out.read_bytes() == fresh(src, tmp_path)


# -- 6. every error is one line and exit 2 -------------------------------------------------------------
@pytest.fixture
def readonly_dir(tmp_path, monkeypatch):
    """A read-only directory (for root, whom permissions do not stop, creating files there fails as it would)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        real_open = os.open

        def open_(path, flags, mode=0o777, *args, **kwargs):
            if flags & os.O_CREAT and Path(path).parent == folder:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, mode, *args, **kwargs)

        monkeypatch.setattr(os, "open", open_)
    yield folder
    folder.chmod(0o755)


def test_read_only_output_directory(tmp_path, monkeypatch, readonly_dir):
    src = write_jsonl(tmp_path / "in.jsonl")
    result = label_cli(monkeypatch, Stub(), src, "-o", readonly_dir / "out.jsonl")
    assert_one_line_error(result, "cannot write", "Permission denied")
    assert leftovers(readonly_dir) == []


@pytest.mark.parametrize("resume", [False, True])
def test_output_naming_a_directory(tmp_path, monkeypatch, resume):
    src = write_jsonl(tmp_path / "in.jsonl")
    (tmp_path / "out.jsonl").mkdir()
    result = label_cli(monkeypatch, Stub(), src, "-o", tmp_path / "out.jsonl", *(["--resume"] if resume else []))
    assert_one_line_error(result, "is a directory")
    assert leftovers(tmp_path) == ["in.jsonl", "out.jsonl"]


def test_write_error_on_a_device_like_dev_full(tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl")
    full = make_char_device(tmp_path / "full.jsonl", 7)  # like /dev/full: every write fails with ENOSPC
    result = label_cli(monkeypatch, Stub(), src, "-o", full)
    assert_one_line_error(result, "No space left on device")
    assert stat.S_ISCHR(full.lstat().st_mode)


@pytest.mark.parametrize("failing", [".partial.jsonl", ".tmp"])
def test_disk_full_while_writing_then_resume(tmp_path, monkeypatch, failing):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    real_fsync = os.fsync

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(failing):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert_one_line_error(label_cli(monkeypatch, Stub(), src, "-o", out), "cannot write", "No space left on device")
    assert leftovers(tmp_path) == ["in.jsonl", "out.jsonl.partial.jsonl"]  # no temporary file, no lock
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert label_cli(monkeypatch, Stub(), src, "-o", out, "--resume").exit_code == 0
    assert out.read_bytes() == fresh(src, tmp_path)


@pytest.mark.parametrize("resume", [False, True])
def test_unwritable_partial_file(tmp_path, monkeypatch, resume):
    src = write_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    partial = out.with_name("out.jsonl.partial.jsonl")
    partial.write_text("")
    partial.chmod(0o444)
    real_open = os.open

    def open_(path, flags, *args, **kwargs):
        if Path(path) == partial and flags & (os.O_RDWR | os.O_WRONLY):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    result = label_cli(monkeypatch, Stub(), src, "-o", out, *(["--resume"] if resume else []))
    assert_one_line_error(result, "cannot write", "partial.jsonl", "Permission denied")
    partial.unlink(missing_ok=True)  # a run without --resume starts by removing it
    partial.mkdir()
    result = label_cli(monkeypatch, Stub(), src, "-o", out, *(["--resume"] if resume else []))
    assert_one_line_error(result, "partial.jsonl")


# -- 7. memory stays flat in the archive's size ------------------------------------------------------------
def _peak_memory(src: Path, out: Path, n: int) -> int:
    tracemalloc.start()
    try:
        summary = label_archive(Stub(), str(src), str(out), batch_size=100, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.records == n
    return peak


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_peak_memory_does_not_grow_with_the_archive(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(labelling, "WRITE_CHUNK", 100, raising=False)
    text = "The council met again about the roads and the budget, and nobody was hurt. " * 4
    peaks = []
    for n in (10, 500, 5000):
        src = tmp_path / f"{n}.{fmt}"
        if fmt == "jsonl":
            write_jsonl(src, n, text + "{i}")
        else:
            src.write_text("id,text\n" + "".join(f"r{i},{text}{i}\n" for i in range(n)))
        # a limit near the file's size, or reading it whole would hide behind a read buffer of the limit's size
        monkeypatch.setenv("MODERATION_MAX_INPUT_BYTES", str(2 * src.stat().st_size))
        peaks.append(_peak_memory(src, tmp_path / f"out{n}.{fmt}", n))
    small, large = peaks[1:]  # the first run pays for one-off imports
    assert large < 2 * small, f"peak {small:,} B for 500 records, {large:,} B for 5,000"


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_final_file_written_in_chunks_is_one_whole_file(tmp_path, monkeypatch, fmt):
    import pyarrow.parquet as pq

    monkeypatch.setattr(labelling, "WRITE_CHUNK", 3, raising=False)
    src = write_jsonl(tmp_path / "in.jsonl", 10)
    out = tmp_path / f"out.{fmt}"
    label_archive(Stub(), str(src), str(out), output_format=fmt, batch_size=4, progress=False)
    if fmt == "jsonl":
        rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    elif fmt == "csv":
        rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    else:
        rows = pq.read_table(out).to_pylist()
        assert pq.ParquetFile(out).num_row_groups == 4
    assert [r["id"] for r in rows] == [f"n{i}-é🙂" for i in range(10)]


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_streamed_reading_matches_decoding_the_whole_file(tmp_path, codec):
    rows = [{"id": f"r{i}", "text": f"{'é🙂—' * (i % 50)} line\u2028{i}\r"} for i in range(3000)]  # > 64 KiB blocks
    path = tmp_path / "in.jsonl"
    path.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(codec))
    got = [(r.id, r.text, r.error) for r in read_records(str(path))]
    assert got == [(r["id"], r["text"], None) for r in rows]


def test_streamed_reading_replaces_invalid_utf8_per_record(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"id": "a", "text": "caf\xc3"}\n' + b'{"id": "b", "text": "ok \xe2\x80"}\n' * 10_000)
    records = list(read_records(str(path)))
    assert len(records) == 10_001 and records[0].text == "caf\ufffd" and records[1].text == "ok \ufffd"
    assert records[1].error is None and records[2].error == f"{path}:3: duplicate id 'b'"
