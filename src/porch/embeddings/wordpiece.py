"""BERT-base-uncased WordPiece: the tokenizer all-MiniLM-L6-v2 was trained with.

The vocabulary (bert-base-uncased-vocab.txt beside this file, 30,522 entries, one per line,
line number = token id) is BERT's own. The steps are BERT's basic tokenizer (drop control
characters, space out CJK characters, lowercase, strip accents, split off punctuation)
then greedy longest-match WordPiece, where blingfire's bert_base_tok (which the model has
been fed so far) reads differently from BERT's Python code: control characters separate
words, only precomposed letters lose their accents, long words are split rather than
[UNK]. tests/embeddings/test_wordpiece.py proves the ids
identical to blingfire's bert_base_tok, which this replaces (99 MB installed for one file).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

VOCAB_FILE = Path(__file__).with_name("bert-base-uncased-vocab.txt")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # ASCII symbols count as punctuation ("$", "^", "`"), as BERT treats them.
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


# ASCII text (most of it) in one regex: runs of letters and digits, each mark alone;
# control characters and spaces fall between matches.
_ASCII_WORDS = re.compile(r"[A-Za-z0-9]+|[!-/:-@\[-`{-~]")


def _clean(text: str) -> str:
    out: list[str] = []
    for ch in text:
        cp = ord(ch)
        # Control and format characters separate words (blingfire's reading; BERT's
        # Python tokenizer deletes them, joining "a\x00b" into one word).
        if ch.isspace() or cp == 0xFFFD or unicodedata.category(ch)[0] in "CZ":
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=4096)
def _unaccent(ch: str) -> str:
    """A precomposed accented letter as its base letter ("é" → "e"). Hangul syllables and
    marks written on their own stay as they are, as blingfire's bert_base_tok has it."""
    if ch.isascii() or 0xAC00 <= ord(ch) <= 0xD7A3:
        return ch
    parts = unicodedata.normalize("NFD", ch)
    if len(parts) == 1:
        return ch
    return "".join(p for p in parts if unicodedata.category(p) != "Mn")


def _basic(text: str) -> list[str]:
    """Lowercased, accent-free words and punctuation marks, in order."""
    if text.isascii():
        return _ASCII_WORDS.findall(text.lower())
    words: list[str] = []
    for token in _clean(text).split():
        token = "".join(_unaccent(ch) for ch in token.lower())
        current: list[str] = []
        for ch in token:
            if _is_punctuation(ch):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(ch)
            else:
                current.append(ch)
        if current:
            words.append("".join(current))
    return words


class WordPiece:
    def __init__(self, vocab: dict[str, int], unk: str = "[UNK]") -> None:
        self._vocab = vocab
        self.unk_id = vocab[unk]
        self._longest = max(len(t.removeprefix("##")) for t in vocab)
        self._pieces = lru_cache(maxsize=65536)(self._word_pieces)

    @classmethod
    def load(cls, path: Path = VOCAB_FILE) -> WordPiece:
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls({token: i for i, token in enumerate(lines)})

    def _word_pieces(self, word: str) -> tuple[int, ...]:
        # The longest match starts no further than the longest piece in the vocabulary:
        # trying every end from the word's end made this quadratic, and one pasted 100 KB
        # run without spaces held an embedding thread for minutes.
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._longest)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self._vocab.get(piece)
                if found is not None:
                    ids.append(found)
                    break
                end -= 1
            else:
                return (self.unk_id,)  # a word with no split into known pieces is unknown
            start = end
        return tuple(ids)

    def ids(self, text: str, limit: int) -> list[int]:
        """Token ids of `text`, at most `limit` of them (no [CLS]/[SEP])."""
        out: list[int] = []
        for word in _basic(text):
            out.extend(self._pieces(word))
            if len(out) >= limit:
                return out[:limit]
        return out
