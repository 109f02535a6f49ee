"""The int8 cache (content key, corrupt entries, cache folder) and the checks on moderation.json and policy files."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moderation.cli import app
from moderation.model import Moderator
from moderation.model_folder import BUNDLED_MODEL_DIR, ModelFolder, ModelLoadError, read_model_config
from moderation.policy import MAX_POLICY_BYTES, PolicyError, WarningPolicy

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["Council approves budget.", "Soldiers shot the guard. " * 40]

pytest.importorskip("onnxruntime")
from moderation import onnx_backend as ox  # noqa: E402  (needs onnxruntime's extra installed)


@pytest.fixture
def model(tiny_model, tmp_path) -> Path:
    """A private copy of the tiny model, free to change."""
    return Path(shutil.copytree(tiny_model, tmp_path / "model"))


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def no_default_cache(tmp_path, monkeypatch) -> Path:
    """No MODERATION_CACHE or XDG_CACHE_HOME, and a private temp dir; returns the temp dir."""
    monkeypatch.delenv("MODERATION_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def built(cache: Path) -> list[Path]:
    return sorted(cache.rglob("model.int8.onnx"))


def keep_size_and_mtime(path: Path, change) -> None:
    """Rewrite ``path`` with ``change(bytes)``, which must keep the size; restore the times."""
    info = path.stat()
    data = change(path.read_bytes())
    assert len(data) == info.st_size
    path.write_bytes(data)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_mtime_ns == info.st_mtime_ns


# -- 1. the cache key is the files' content ------------------------------------------


def test_new_weights_with_same_size_and_mtime_rebuild_the_int8_model(model, cache):
    from safetensors.torch import load_file, save_file

    Moderator.from_pretrained(model, backend="int8")
    weights = model / "model.safetensors"

    def shifted_bias(_: bytes) -> bytes:
        tensors = load_file(weights)
        tensors["classifier.bias"] = tensors["classifier.bias"] + 4.0  # clearly different scores
        save_file(tensors, weights.with_suffix(".new"), metadata={"format": "pt"})
        return weights.with_suffix(".new").read_bytes()

    keep_size_and_mtime(weights, shifted_bias)
    fp32 = Moderator.from_pretrained(model, backend="fp32").predict_proba(TEXTS)
    int8 = Moderator.from_pretrained(model, backend="int8").predict_proba(TEXTS)
    assert abs(int8 - fp32).max() < 0.05
    assert len(built(cache)) == 2


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "moderation.json", "tokenizer.json",
                                  "tokenizer_config.json"])
def test_digest_follows_every_model_file_content(model, name):
    before = ox.model_digest(model, None)
    keep_size_and_mtime(model / name, lambda data: data[:-1] + bytes([data[-1] ^ 1]))
    assert ox.model_digest(model, None) != before


def test_digest_follows_the_base_folder_content(model, tiny_base, tmp_path):
    base = Path(shutil.copytree(tiny_base, tmp_path / "base"))
    before = ox.model_digest(model, base)
    keep_size_and_mtime(base / "model.safetensors", lambda data: data[:-1] + bytes([data[-1] ^ 1]))
    assert ox.model_digest(model, base) != before


def test_digest_ignores_path_and_mtime(model, tmp_path):
    before = ox.model_digest(model, None)
    os.utime(model / "model.safetensors", ns=(0, 0))
    assert ox.model_digest(Path(shutil.copytree(model, tmp_path / "moved")), None) == before


def test_an_unreadable_model_file_is_a_model_load_error(model, monkeypatch):
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(ox, "open", refuse, raising=False)
    with pytest.raises(ModelLoadError, match="cannot read .*moderation.json"):
        ox.model_digest(model, None)


# -- 2. a corrupt cached model is rebuilt once -----------------------------------------


@pytest.mark.parametrize("corrupt", [lambda data: data[: len(data) // 2], lambda data: b""],
                         ids=["truncated", "empty"])
def test_corrupt_cached_int8_model_is_rebuilt_with_a_warning(model, cache, caplog, corrupt):
    Moderator.from_pretrained(model, backend="int8")
    [target] = built(cache)
    good = target.read_bytes()
    target.write_bytes(corrupt(good))
    with caplog.at_level(logging.WARNING, logger="moderation"):
        mod = Moderator.from_pretrained(model, backend="int8")
    assert any("cannot load the int8 model" in r.message and "rebuilding" in r.message for r in caplog.records)
    assert built(cache) == [target] and target.stat().st_size == len(good)
    assert mod.predict_proba(TEXTS).shape == (2, 3)


def test_a_rebuilt_model_that_still_does_not_load_is_not_retried(model, cache, monkeypatch):
    calls = []

    def broken_export(_, target: Path) -> Path:
        calls.append(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"not an onnx model")
        return target

    monkeypatch.setattr(ox, "export_int8", broken_export)
    with pytest.raises(ModelLoadError, match="just built does not load"):
        Moderator.from_pretrained(model, backend="int8")
    assert len(calls) == 1
    with pytest.warns(UserWarning, match="just built does not load"):
        assert Moderator.from_pretrained(model).backend in ("bf16", "fp32")  # auto: rebuilt once, then torch
    assert len(calls) == 2


# -- 3. the cache folder --------------------------------------------------------------


def test_cache_dir_order(tmp_path, monkeypatch, no_default_cache):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert ox.cache_dir() == home / ".cache" / "news-moderation"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ox.cache_dir() == tmp_path / "xdg" / "news-moderation"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/xdg")  # not absolute: ignored, as the spec says
    assert ox.cache_dir() == home / ".cache" / "news-moderation"
    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path / "explicit"))
    assert ox.cache_dir() == tmp_path / "explicit"


@pytest.mark.parametrize("home", ["file", "", "relative/home"])
def test_an_unusable_home_falls_back_to_a_private_temp_dir(tmp_path, monkeypatch, no_default_cache, home):
    if home == "file":
        home = str(tmp_path / "home-is-a-file")
        Path(home).write_text("")
    monkeypatch.setenv("HOME", home)
    folder = ox.cache_dir()
    assert folder == no_default_cache / f"news-moderation-{os.getuid()}"
    assert folder.is_dir() and not folder.stat().st_mode & 0o077


def test_a_temp_dir_others_can_write_is_not_used(tmp_path, monkeypatch, no_default_cache):
    monkeypatch.setenv("HOME", str(tmp_path / "home-is-a-file"))
    (tmp_path / "home-is-a-file").write_text("")
    shared = no_default_cache / f"news-moderation-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)
    assert ox.cache_dir() is None


def test_no_home_at_all_does_not_crash(model, monkeypatch, no_default_cache):
    import pwd

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.delenv("HOME")
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with pytest.raises(RuntimeError):
        Path.home()  # what the cache lookup used to call unguarded
    mod = Moderator.from_pretrained(model, backend="int8")
    assert str(mod.runner.path).startswith(str(no_default_cache / f"news-moderation-{os.getuid()}"))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to take away root's right to read any folder")
def test_a_home_the_process_cannot_read_does_not_crash(model, tmp_path, monkeypatch, no_default_cache):
    """HOME in a folder this process may not enter: the int8 model is cached in a private temp folder."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)  # somebody else's, and root below gives up reading other people's files
    monkeypatch.setenv("HOME", str(model / "config.json"))  # unusable here too: build in the temp folder now
    built_here = Moderator.from_pretrained(model, backend="int8").runner.path
    env = {k: v for k, v in os.environ.items() if k not in ("MODERATION_CACHE", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), TMPDIR=str(no_default_cache), PYTHONPATH=str(ROOT))
    code = ("import sys; from moderation.model import Moderator; "
            "print(Moderator.from_pretrained(sys.argv[1], backend='int8').runner.path)")
    out = subprocess.run(["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--",
                          sys.executable, "-c", code, str(model)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == str(built_here)
    assert built_here.parent.parent == no_default_cache / f"news-moderation-{os.getuid()}"


def test_unwritable_cache_warns_once_and_does_not_load_torch_twice(model, tmp_path, monkeypatch, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MODERATION_CACHE", str(blocked))
    loads = []
    real_load = ModelFolder.load_torch
    monkeypatch.setattr(ModelFolder, "load_torch", lambda self: loads.append(self) or real_load(self))
    with caplog.at_level(logging.INFO, logger="moderation"), pytest.warns(UserWarning) as warned:
        mod = Moderator.from_pretrained(model)
    assert mod.backend in ("bf16", "fp32") and len(loads) == 1
    assert not [r for r in caplog.records if r.name == "moderation"]  # said once, as a warning, not also logged
    assert len(warned) == 1, [str(w.message) for w in warned]
    message = str(warned[0].message)
    assert "cannot write the int8 model" in message and "MODERATION_CACHE" in message
    with pytest.raises(ModelLoadError, match="cannot write"):
        Moderator.from_pretrained(model, backend="int8")


def test_no_usable_cache_folder_at_all(model, tmp_path, monkeypatch, no_default_cache):
    monkeypatch.setattr(ox, "cache_dir", lambda: None)
    with pytest.warns(UserWarning, match="no usable folder"):
        assert Moderator.from_pretrained(model).backend in ("bf16", "fp32")
    with pytest.raises(ModelLoadError, match="no usable folder"):
        Moderator.from_pretrained(model, backend="int8")


def test_a_read_only_prebuilt_cache_is_used_as_is(model, cache, monkeypatch):
    Moderator.from_pretrained(model, backend="int8")

    def refuse(folder):
        raise PermissionError(13, "read-only", str(folder))

    monkeypatch.setattr(ox, "check_writable", refuse)
    monkeypatch.setattr(ox, "export_int8", refuse)
    assert Moderator.from_pretrained(model, backend="int8").backend == "int8"


# -- 4. moderation.json is checked at load ----------------------------------------------


def write_config(folder: Path, **changes) -> Path:
    data = json.loads((folder / "moderation.json").read_text())
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    (folder / "moderation.json").write_text(json.dumps(data))
    return folder


BAD_CONFIGS = [
    ({"temperatures": {"graphic_violence": 0, "unverified_rumour": 1, "solicitation": 1}}, "temperatures.graphic_violence"),
    ({"temperatures": {"graphic_violence": 1, "unverified_rumour": -1.5, "solicitation": 1}}, "temperatures.unverified_rumour"),
    ({"temperatures": {"graphic_violence": 1, "unverified_rumour": 1, "solicitation": "1.0"}}, "temperatures.solicitation"),
    ({"thresholds": {"graphic_violence": 1.5, "unverified_rumour": 0.5, "solicitation": 0.5}}, "thresholds.graphic_violence"),
    ({"thresholds": {"graphic_violence": 0.5, "unverified_rumour": -0.1, "solicitation": 0.5}}, "thresholds.unverified_rumour"),
    ({"thresholds": {"graphic_violence": 0.5, "unverified_rumour": 0.5, "solicitation": True}}, "thresholds.solicitation"),
    ({"thresholds": {"graphic_violence": float("nan"), "unverified_rumour": 0.5, "solicitation": 0.5}}, "thresholds.graphic_violence"),
    ({"thresholds": {"graphic_violence": 0.5, "unverified_rumour": 0.5}}, "thresholds.solicitation is missing"),
    ({"thresholds": {"graphic_violence": 0.5, "unverified_rumour": 0.5, "solicitation": 0.5, "gore": 0.5}}, "thresholds key"),
    ({"thresholds": [0.5, 0.5, 0.5]}, "thresholds"),
    ({"max_length": 2}, "max_length"),
    ({"max_length": 4096}, "max_length must be at most 512"),
    ({"max_length": "256"}, "max_length"),
    ({"max_length": 64.0}, "max_length"),
    ({"stride": 62}, "stride"),
    ({"stride": 64}, "stride"),
    ({"stride": -1}, "stride"),
    ({"stride": "16"}, "stride"),
    ({"labels": ["graphic_violence", "unverified_rumour"]}, "labels"),
    ({"labels": ["graphic_violence", "unverified_rumour", "gore"]}, "labels"),
    ({"labels": ["graphic_violence", "graphic_violence", "unverified_rumour", "solicitation"]}, "labels"),
    ({"version": 3}, "version"),
    ({"version": ...}, "version"),
    ({"lora": {"r": "16", "alpha": 32, "targets": ["query"]}}, "lora.r"),
    ({"colour": "red"}, "unknown keys"),
]


@pytest.mark.parametrize("changes, field", BAD_CONFIGS, ids=[f for _, f in BAD_CONFIGS])
def test_bad_moderation_json_is_a_one_line_load_error(model, changes, field):
    write_config(model, **changes)
    with pytest.raises(ModelLoadError, match=field.replace(".", r"\.")) as err:
        Moderator.from_pretrained(model, backend="fp32")
    assert "\n" not in str(err.value) and "moderation.json" in str(err.value)


@pytest.mark.parametrize("changes, field", [({"max_length": 4096}, "max_length"), ({"temperatures": {
    "graphic_violence": 0, "unverified_rumour": 1, "solicitation": 1}}, "temperatures")])
def test_bad_moderation_json_fails_before_the_int8_cache(model, cache, changes, field):
    write_config(model, **changes)
    with pytest.raises(ModelLoadError, match=field):
        Moderator.from_pretrained(model, backend="int8")
    with pytest.raises(ModelLoadError, match=field):
        Moderator.from_pretrained(model)  # auto does not fall back to torch on a bad config
    assert not cache.exists()


@pytest.mark.parametrize("changes", [
    {"max_length": 8, "stride": 5},
    {"max_length": 512, "stride": 0},
    {"thresholds": {"graphic_violence": 0, "unverified_rumour": 1, "solicitation": 0.5}},
    {"temperatures": {"graphic_violence": 2, "unverified_rumour": 0.5, "solicitation": 1}},
    {"labels": ..., "thresholds": ..., "temperatures": ..., "lora": None, "extra": {"note": "x"}},
], ids=["smallest", "largest", "threshold-ends", "int-temperature", "defaults"])
def test_good_moderation_json_loads(model, changes):
    write_config(model, **changes)
    config = Moderator.from_pretrained(model, backend="fp32").config
    assert all(type(v) is float for v in [*config.thresholds.values(), *config.temperatures.values()])


def test_shipped_moderation_json_loads():
    assert read_model_config(BUNDLED_MODEL_DIR).lora["r"] == 16


def test_moderation_json_that_is_not_an_object(model):
    (model / "moderation.json").write_text("[1, 2]")
    with pytest.raises(ModelLoadError, match="JSON object"):
        read_model_config(model)


# -- 5. policy files ------------------------------------------------------------------


def laughs(levels: int) -> str:
    """The billion-laughs pattern: each level lists the one before nine times."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "heading:\n" + "".join(f"  - {line}\n" for line in lines)


def policy_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_billion_laughs_policy_is_refused_quickly(tmp_path):
    path = policy_file(tmp_path, laughs(9))
    assert path.stat().st_size < 1000
    start = time.perf_counter()
    with pytest.raises(PolicyError, match="aliases") as err:
        WarningPolicy.from_yaml(path)
    assert time.perf_counter() - start < 1 and "\n" not in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("desks:\n  live: &t {graphic_violence: 0.3}\n  archive: *t\n", "aliases"),
    ("desks:\n  live: &t {graphic_violence: 0.3}\n  archive:\n    <<: *t\n", "aliases"),
    ("heading: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper"),
    ("heading: [\n", "cannot read"),
    (b"heading: \xff\xfe bad\n", "cannot read"),
])
def test_policy_yaml_structure_is_bounded(tmp_path, text, message):
    with pytest.raises(PolicyError, match=message) as err:
        WarningPolicy.from_yaml(policy_file(tmp_path, text))
    assert "\n" not in str(err.value)


def test_policy_size_cap(tmp_path):
    comment = "# padding\n"
    body = "heading: Note\n"
    fits = body + comment * ((MAX_POLICY_BYTES - len(body)) // len(comment))
    assert WarningPolicy.from_yaml(policy_file(tmp_path, fits)).heading == "Note"
    with pytest.raises(PolicyError, match="larger than"):
        WarningPolicy.from_yaml(policy_file(tmp_path, fits + comment))


BAD_POLICIES = [
    ("heading: [a, b]\n", "heading"),
    ("heading: 5\n", "heading"),
    ("heading: ''\n", "heading"),
    (f"heading: {'x' * 101}\n", "heading"),
    ('heading: "Warning\\n!! forged line"\n', "heading"),
    ("labels:\n  solicitation: {warning: 5}\n", "labels.solicitation"),
    ("labels:\n  solicitation: [a]\n", "labels.solicitation"),
    ("labels:\n  solicitation: {warning: x, colour: red}\n", "labels.solicitation"),
    ("labels: [solicitation]\n", "labels must be a mapping"),
    ("desks:\n  live: {solicitation: '0.5'}\n", "desks.live.solicitation"),
    ("desks:\n  live: {solicitation: true}\n", "desks.live.solicitation"),
    ("desks:\n  live: {solicitation: .nan}\n", "threshold"),
    ("desks:\n  live: {solicitation: 0}\n", "threshold"),
    ("desks:\n  live: [0.5]\n", "desks.live must be a mapping"),
    ("desks: [live]\n", "desks must be a mapping"),
    ("desks:\n  [a]: {solicitation: 0.5}\n", "cannot read"),  # an unhashable key
    ("desks:\n  3: {solicitation: 0.5}\n", "desk name"),
    ("desks:\n  live: {gore: 0.5}\n", "unknown label"),
    ("placement: 1\n", "placement"),
    ("placement: [before]\n", "placement"),
    ("order: graphic_violence\n", "order must be a list"),
    ("order: [[graphic_violence]]\n", "unknown label"),
    ("1: x\n", "unknown keys"),
    ("false\n", "mapping"),
]


@pytest.mark.parametrize("text, message", BAD_POLICIES, ids=[m for _, m in BAD_POLICIES])
def test_policy_field_types_are_checked(tmp_path, text, message):
    with pytest.raises(PolicyError, match=message) as err:
        WarningPolicy.from_yaml(policy_file(tmp_path, text))
    assert "\n" not in str(err.value)


def test_good_policy_values_are_accepted(tmp_path):
    text = (f"heading: &h {'H' * 100}\nplacement: after\nlabels:\n  solicitation: Ça demande de l’argent — 5 €\n"
            "  graphic_violence: {warning: Violence.}\ndesks:\n  live: {solicitation: 0.25, graphic_violence: 0.9}\n"
            "  empty:\n")
    policy = WarningPolicy.from_yaml(policy_file(tmp_path, text))
    assert policy.heading == "H" * 100 and policy.placement == "after"
    assert policy.thresholds_for("live") == {"solicitation": 0.25, "graphic_violence": 0.9}
    assert policy.thresholds_for("empty") == {}


def test_cli_reports_a_bad_policy_in_one_line_with_exit_2(tmp_path, tiny_model):
    path = policy_file(tmp_path, laughs(9))
    result = CliRunner().invoke(app, ["screen", str(ROOT / "examples" / "live_blog.txt"), "--model",
                                      str(tiny_model), "--backend", "fp32", "--policy", str(path)])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "aliases" in errors[0]
