"""Our WordPiece gives blingfire's bert_base_tok ids, token for token, on a varied corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from porch.embeddings.wordpiece import VOCAB_FILE, WordPiece

blingfire = pytest.importorskip("blingfire")  # dev only: the reference we replaced

ROOT = Path(__file__).resolve().parents[2]
EDGE_CASES = [
    "hello world",
    "Héllo, WÖRLD! Ça va? naïve café résumé",
    "max_connections=100; shared_buffers = '128MB' (see §19.4) — ok…",
    'ERROR 42P01: relation "users" does not exist at character 15',
    "東京 に 行きます 北京欢迎你 한국어 텍스트",
    "emoji 🙂 and symbols ©®™ ½ ¾ ∑ √ ≠ → ←",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "urls https://example.com/a/b?c=d&e=f#g and e-mail me@example.org",
    "supercalifragilisticexpialidocious " + "x" * 120,
    "C++ C# .NET node.js 3.14159 1,000,000 10% $5 @user #tag",
    "control\x00chars\x07here\ufffd and zero\u200bwidth",
    "Ωμέγα ελληνικά русский текст العربية עברית हिन्दी",
    "",
]


def _corpus() -> list[str]:
    texts = list(EDGE_CASES)
    for path in (
        sorted((ROOT / "docs").glob("*.md"))
        + sorted((ROOT / "src").rglob("*.py"))
        + sorted((ROOT / "tests").rglob("*.py"))
    ):
        content = path.read_text(encoding="utf-8")
        texts.extend(p for p in content.split("\n\n") if p.strip())
    return texts


@pytest.fixture(scope="module")
def reference() -> int:
    vocab = Path(blingfire.__file__).parent / "bert_base_tok.bin"
    handle: int = blingfire.load_model(str(vocab))
    return handle


@pytest.mark.parametrize("limit", [254, 16])
def test_ids_identical_to_blingfire(reference: int, limit: int) -> None:
    ours = WordPiece.load()
    corpus = _corpus()
    assert len(corpus) > 500
    differ = []
    for text in corpus:
        theirs = blingfire.text_to_ids(reference, text, limit, 100, True).tolist()
        mine = ours.ids(text, limit)
        if mine != theirs:
            differ.append((text[:80], mine[:12], theirs[:12]))
    assert differ == []


def _every_end(vocab: dict[str, int], word: str) -> list[int]:
    """The greedy longest match as written first: every end from the word's end down."""
    ids, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                ids.append(vocab[piece])
                start = end
                break
        else:
            return [vocab["[UNK]"]]
    return ids


def test_a_long_run_without_spaces_splits_as_before_and_at_once() -> None:
    """A pasted run without spaces (a base64 blob, a minified line): the same pieces as the
    match that tried every end of the word, which was quadratic in it (a 100 KB run held an
    embedding thread for minutes); 200 KB now tokenizes like any passage."""
    ours = WordPiece.load()
    vocab = {t: i for i, t in enumerate(VOCAB_FILE.read_text(encoding="utf-8").splitlines())}
    for text in ("0" * 3_000, "aGVsbG8gd29ybGQ" * 200, "x" * 120):
        assert ours.ids(text, 10_000) == _every_end(vocab, text.lower())
    assert ours.ids("0" * 200_000, 254) == _every_end(vocab, "0" * 3_000)[:254]
