"""Editing a manifest file in place: ruamel.yaml's round trip, held to changing only the lines an edit touches.

ruamel.yaml keeps comments, key order, quoting and flow style when it loads and dumps a file, but it dumps
with one indentation style and may respell what it does not keep (extra spaces, a document marker). So the
edited document is not written as dumped: the lines that differ between a dump of the file as loaded and a
dump of the edited document are carried over onto the original text, and every other line stays byte for byte.
An edit whose lines ruamel respelled (so they cannot be found in the original) is refused instead of guessed.
"""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from klaviyo_sync.errors import ConfigError

BOM = "\ufeff"


class Respelled(Exception):
    """The edit touches lines ruamel.yaml writes differently from the file."""


@dataclass
class ManifestFile:
    """One manifest file loaded for editing: its document (ruamel's round-trip types) and its text as read."""

    path: Path
    rel: str  # project-relative posix path, for messages
    text: str  # as read, LF line endings, no byte-order mark
    doc: Any
    yaml: YAML = field(repr=False)
    crlf: bool = False
    bom: bool = False
    pristine: str = field(default="", repr=False)  # ruamel's dump of the file as loaded

    @classmethod
    def load(cls, path: Path, rel: str) -> ManifestFile:
        try:
            raw = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8"
            raise ConfigError(f"cannot read {rel}: {reason}", hint="fix the file, then run export --into again") from None
        bom = raw.startswith(BOM)
        text = raw.removeprefix(BOM)
        crlf = "\r\n" in text
        text = text.replace("\r\n", "\n")
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 1_000_000  # never fold a long line that was not folded
        try:
            _, sequence_indent, offset = load_yaml_guess_indent(text) if text.strip() else (None, 4, 2)
            yaml.indent(mapping=2, sequence=sequence_indent or 4, offset=offset or 0)
            doc = yaml.load(text)
        except YAMLError as exc:
            raise ConfigError(f"cannot edit {rel}: {exc}", hint="fix the YAML, then run export --into again") from None
        manifest = cls(path, rel, text, doc, yaml, crlf, bom)
        manifest.pristine = manifest.dump()
        return manifest

    def dump(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.doc, out)
        return out.getvalue()

    def edited_text(self) -> str:
        """The file's new text: the original with only the lines the edits changed replaced. Raises Respelled."""
        text = carry_over(self.pristine, self.dump(), self.text)
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return (BOM if self.bom else "") + text


def carry_over(base: str, edited: str, original: str) -> str:
    """Apply the line changes from `base` to `edited` onto `original`, where `original` reads like `base`
    except for lines ruamel.yaml respelled. A change next to or inside a respelled line raises Respelled."""
    if base == original:
        return edited
    base_lines, edited_lines, original_lines = (t.splitlines(keepends=True) for t in (base, edited, original))
    # base line index -> original line index, for the lines the two texts share
    aligned: dict[int, int] = {}
    for i, j, size in difflib.SequenceMatcher(None, base_lines, original_lines, autojunk=False).get_matching_blocks():
        aligned.update({i + k: j + k for k in range(size)})
    aligned[len(base_lines)] = len(original_lines)  # the end of the file, for changes that append
    result: list[str] = []
    copied = 0  # original lines taken so far
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base_lines, edited_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        # The changed base lines, and the line after them, must all be found in the original, in order.
        span = range(i1, i2 + 1)
        if any(i not in aligned for i in span) or any(aligned[i + 1] != aligned[i] + 1 for i in range(i1, i2)):
            raise Respelled(f"line {i1 + 1}")
        start = aligned[i2] - (i2 - i1)
        result += original_lines[copied:start]
        result += edited_lines[j1:j2]
        copied = aligned[i2]
    result += original_lines[copied:]
    return "".join(result)


def append_entry(seq: CommentedSeq, entry: CommentedMap) -> None:
    """Append a mapping to a block sequence as its neighbours are laid out: after a blank line if they are
    separated by one, and keeping the blank lines that followed the last of them (before the next section) last."""
    separated = any(_blank_lines_after(item) for item in list(seq)[:-1])
    following = ""
    if seq and isinstance(seq[-1], CommentedMap):
        token = _trailing_comment(seq[-1])
        if token is not None and _blank_lines_after(seq[-1]):
            kept = token.value.rstrip("\n") + "\n"
            following = token.value[len(kept) :]
            token.value = kept
    seq.append(entry)
    if following and len(entry):
        entry.ca.items[list(entry)[-1]] = [None, None, CommentToken("\n" + following, CommentMark(0), None), None]
    if separated:
        seq.yaml_set_comment_before_after_key(len(seq) - 1, before="\n")


def _trailing_comment(item: object) -> CommentToken | None:
    """The comment ruamel.yaml keeps after a mapping's last value (with the blank lines that follow it)."""
    if not isinstance(item, CommentedMap) or not len(item):
        return None
    slots = item.ca.items.get(list(item)[-1])
    token = slots[2] if slots and len(slots) > 2 else None
    return token if isinstance(token, CommentToken) else None


def _blank_lines_after(item: object) -> bool:
    token = _trailing_comment(item)
    return token is not None and token.value.endswith("\n\n")
