"""Block structure in one pass over the `{% %}` tags: every `{% if %}` closed, in order, not nested too deep.

Also gives the text the HTML structure check reads: template tags blanked, and only the first branch of each
conditional kept (later branches blanked), every line and column where it was. Linear in the template's size:
each tag is looked at once, and open blocks are counted by name rather than searched.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from klaviyo_sync.language.source import MASK, Source, Tag
from klaviyo_sync.language.vocabulary import BLOCK_TAGS, BRANCH_TAGS

# Django parses nested blocks recursively; much deeper than this and a render would exhaust Python's stack.
MAX_DEPTH = 100
_OPENERS = re.compile(r"\{\{|\{%|\{#")
_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_NAMES = {"{{": "variable", "{%": "tag", "{#": "comment"}
_NOT_NEWLINE = re.compile(r"[^\n]")
_QUIET = ("comment", "verbatim")  # blocks whose content is not template syntax


@dataclass(frozen=True)
class BlockProblem:
    offset: int
    message: str
    hint: str
    structural: bool = True  # False for a tag left open in text: the blocks can still be compiled


@dataclass
class _Open:
    tag: Tag
    branch_start: int = -1  # where its later branches start, once past the first


@dataclass
class BlockCheck:
    problems: list[BlockProblem]
    hidden: list[tuple[int, int]] = field(default_factory=list)  # later branches and quiet blocks: (start, end)
    quiet: list[tuple[int, int]] = field(default_factory=list)

    def first_branch(self, source: Source) -> str:
        blanked = source.masked.replace(MASK, " ")
        pieces, position = [], 0
        for start, end in _merge(self.hidden):
            pieces += [blanked[position:start], _NOT_NEWLINE.sub(" ", blanked[start:end])]
            position = end
        pieces.append(blanked[position:])
        return "".join(pieces)


def check_blocks(source: Source) -> BlockCheck:
    check = BlockCheck([])
    problems = check.problems
    stack: list[_Open] = []
    open_names: Counter[str] = Counter()

    def pop(tag: Tag) -> None:
        block = stack.pop()
        open_names[block.tag.name] -= 1
        if block.branch_start >= 0:
            check.hidden.append((block.branch_start, tag.start))
        if block.tag.name in _QUIET:
            check.quiet.append((block.tag.end, tag.start))

    def close(name: str, tag: Tag) -> None:
        line = source.where(tag.start)[0]
        while stack[-1].tag.name != name:
            inner = stack[-1].tag
            problems.append(
                BlockProblem(
                    inner.start,
                    f"`{{% {inner.name} %}}` is not closed before `{{% {tag.name} %}}` on line {line}",
                    f"add `{{% end{inner.name} %}}` before line {line}",
                )
            )
            pop(tag)
        pop(tag)

    for tag in source.blocks():
        name = tag.name
        if stack and stack[-1].tag.name in _QUIET:
            if name == f"end{stack[-1].tag.name}":
                pop(tag)
            continue
        if not name:
            problems.append(BlockProblem(tag.start, "empty tag `{% %}`", "write a tag name inside it, or remove it"))
        elif name.startswith("end") and name[3:] in BLOCK_TAGS:
            if open_names[name[3:]] > 0:
                close(name[3:], tag)
            else:
                problems.append(
                    BlockProblem(
                        tag.start,
                        f"`{{% {name} %}}` has no matching `{{% {name[3:]} %}}`",
                        f"remove it or add the `{{% {name[3:]} %}}`",
                    )
                )
        elif name in BRANCH_TAGS:
            owners = BRANCH_TAGS[name]
            if stack and stack[-1].tag.name in owners:
                if stack[-1].branch_start < 0:
                    stack[-1].branch_start = tag.start
            else:
                quoted = [f"`{{% {owner} %}}`" for owner in owners]
                names = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
                problems.append(BlockProblem(tag.start, f"`{{% {name} %}}` outside {names}", f"move it inside {names}"))
        elif name in BLOCK_TAGS:
            stack.append(_Open(tag))
            open_names[name] += 1
            if len(stack) > MAX_DEPTH:
                problems.append(
                    BlockProblem(
                        tag.start,
                        f"blocks are nested more than {MAX_DEPTH} deep here",
                        "flatten the conditions (`{% elif %}`, `and`, `or`): Klaviyo's renderer cannot nest this deep",
                    )
                )
                return check
    for block in stack:
        problems.append(
            BlockProblem(block.tag.start, f"`{{% {block.tag.name} %}}` is never closed", f"add `{{% end{block.tag.name} %}}`")
        )
        if block.tag.name in _QUIET:
            check.quiet.append((block.tag.end, len(source.text)))
    problems += _unclosed_openers(source, check.quiet)
    return check


def _unclosed_openers(source: Source, quiet: list[tuple[int, int]]) -> list[BlockProblem]:
    """`{{`, `{%` or `{#` left after the tags are masked: Django reads a tag only when it closes on its line."""
    regions = _merge(quiet)
    problems = []
    index = 0
    for match in _OPENERS.finditer(source.masked):
        while index < len(regions) and regions[index][1] <= match.start():
            index += 1
        if index < len(regions) and regions[index][0] <= match.start():
            continue
        opener = match.group()
        problems.append(
            BlockProblem(
                match.start(),
                f"`{opener}` is not closed on its line",
                f"close the {_NAMES[opener]} with `{_CLOSERS[opener]}` on the same line:"
                " Klaviyo reads a tag only within one line",
                structural=False,
            )
        )
    return problems


def _merge(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(regions):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
