"""The Stanford Sentiment Treebank (Socher et al. 2013) as labelled texts: SST-2.

The release ``trainDevTestTrees_PTB`` holds one tree a line in Penn-Treebank
brackets, a label 0-4 before every node: ``(3 (2 It) (4 (2 's) (3 good)))``.
The binary use of the literature ("SST-2"): drop the neutral 2, read 0-1 as
negative and 3-4 as positive; train on every node's phrase (deduplicated),
score dev and test on whole sentences (their root).

The words are PTB tokens (``-LRB-``, ``does n't``), but our models read text a
person types, so every phrase is detokenised first (``doesn't``, ``(``): the
models' own standardisation turns "doesn't" into IMDB's "doesnt", and "does
n't" into two words IMDB never wrote.

No TensorFlow here: train.py checks --sst before TensorFlow loads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sentiment.data.splits import DataError, Split

FILES = ("train", "dev", "test")
NEUTRAL = 2
FORMAT = "one tree a line in PTB brackets, a label 0-4 before every node: (3 (2 It) (4 (2 's) (3 good)))"
_TOKEN = re.compile(r"\(|\)|[^\s()]+")

# PTB's escapes for brackets; the rest of its escapes are a backslash before the character.
_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
# Tokens written against the word before them, and those written against the word after.
# PTB splits "can't" as "ca n't" and "won't" as "wo n't": glued back, they are words again.
_CLITICS = {"n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}
_CLOSING = {".", ",", "!", "?", ";", ":", "%", "...", "'", "''", ")", "]", "}"}
_OPENING = {"(", "[", "{", "``", "`", "$"}
_QUOTES = {"``": '"', "''": '"'}


@dataclass
class Tree:
    """A parsed tree: its words (PTB tokens) and its nodes as ``(label, start,
    end)`` spans over the words, each child before its parent: the root last."""

    words: list[str]
    nodes: list[tuple[int, int, int]]

    @property
    def root(self) -> tuple[int, int, int]:
        return self.nodes[-1]


@dataclass
class SST:
    """SST-2: the training phrases, and the dev and test sentences, as `Split`s
    (1 positive, 0 negative); and the training trees' whole sentences, which
    the contrast rule joins (sentiment/data/rules.py)."""

    train: Split
    dev: Split
    test: Split
    source: str
    notes: list[str] = field(default_factory=list)
    train_sentences: Split | None = None


def parse_tree(line: str, where: str = "tree") -> Tree:
    """One PTB-bracket tree; ``DataError`` naming ``where`` (``file:line``) and what is wrong."""
    words, nodes, open_nodes = [], [], []  # open_nodes: [label, start, children, words] of unclosed nodes
    expect_label = False
    tokens = _TOKEN.findall(line)
    for i, token in enumerate(tokens):
        if expect_label:
            if token in "()" or not token.isdigit() or not 0 <= int(token) <= 4:
                raise _bad(where, f"a node's label must be 0-4, got {token!r}", line)
            open_nodes[-1][0], expect_label = int(token), False
        elif token == "(":
            if not open_nodes and nodes:
                raise _bad(where, "a second tree on the same line", line)
            if open_nodes:
                open_nodes[-1][2] += 1
            open_nodes.append([None, len(words), 0, 0])
            expect_label = True
        elif token == ")":
            if not open_nodes:
                raise _bad(where, "a ')' closes no node", line)
            label, start, children, leaf_words = open_nodes.pop()
            # A leaf may hold a token with a space in it: (2 8 1\/2), the film "8 1/2".
            if children + leaf_words == 0 or (leaf_words and children):
                raise _bad(where, "a node holds either words or other nodes, not both nor neither", line)
            nodes.append((label, start, len(words)))
        else:
            if not open_nodes:
                raise _bad(where, f"the word {token!r} is outside the tree", line)
            open_nodes[-1][3] += 1
            words.append(token)
        if i + 1 == len(tokens) and (open_nodes or expect_label):
            raise _bad(where, f"{len(open_nodes)} node(s) left open at the end of the line", line)
    if not nodes:
        raise _bad(where, "no tree", line)
    return Tree(words, nodes)


def _bad(where: str, problem: str, line: str) -> DataError:
    shown = line.strip()
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return DataError(f"{where}: {problem}. An SST file holds {FORMAT}. Received: {shown!r}")


def detokenize(tokens: Sequence[str]) -> str:
    """PTB tokens as a person types them: ``["does", "n't", "-LRB-", "sic", "-RRB-"]`` -> ``"doesn't (sic)"``."""
    out: list[str] = []
    glue_next = False  # the last token opens: the next one follows it without a space
    for token in tokens:
        token = _BRACKETS.get(token, token).replace("\\", "")  # \/ -> /, \* -> *
        text = _QUOTES.get(token, token)
        if out and (glue_next or token.lower() in _CLITICS or token in _CLOSING):
            out[-1] += text
        else:
            out.append(text)
        glue_next = token in _OPENING
    return " ".join(out)


def binary(label: int) -> int | None:
    """SST-2's rule: 0-1 negative (0), 3-4 positive (1), neutral 2 dropped (None)."""
    return None if label == NEUTRAL else int(label > NEUTRAL)


def read_trees(path: str) -> list[Tree]:
    """The trees of one SST file, one a line (blank lines skipped)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise DataError(f"Cannot read {path} ({err.strerror}): check its permissions.") from err
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err.reason}): is it the SST release's {FORMAT}?") from err
    trees = [parse_tree(line, f"{path}:{n}") for n, line in enumerate(lines, 1) if line.strip()]
    if not trees:
        raise DataError(f"{path} holds no trees; an SST file holds {FORMAT}.")
    return trees


def phrases(trees: Sequence[Tree], name: str = "train") -> tuple[Split, int]:
    """Every non-neutral node's phrase, each distinct text once (the first
    tree's, in file order), with its SST-2 label; and how many texts were
    dropped because two nodes of the same text disagree on its class."""
    first: dict[str, tuple[int, str]] = {}
    conflicted: set[str] = set()
    for t, tree in enumerate(trees, 1):
        for label, start, end in tree.nodes:
            y = binary(label)
            if y is None:
                continue
            text = detokenize(tree.words[start:end])
            if text not in first:
                first[text] = (y, f"sst/{name}:{t}")
            elif first[text][0] != y:
                conflicted.add(text)
    kept = [(text, y, where) for text, (y, where) in first.items() if text not in conflicted]
    return _split(kept), len(conflicted)


def sentences(trees: Sequence[Tree], name: str) -> Split:
    """Each non-neutral tree's whole sentence (its root), with its SST-2 label."""
    rows = []
    for t, tree in enumerate(trees, 1):
        label, start, end = tree.root
        if binary(label) is not None:
            rows.append((detokenize(tree.words[start:end]), binary(label), f"sst/{name}:{t}"))
    return _split(rows)


def _split(rows) -> Split:
    return Split([r[0] for r in rows], np.array([r[1] for r in rows], dtype="int32"), ids=[r[2] for r in rows])


def check_sst(folder: str | os.PathLike, flag: str = "--sst") -> dict[str, str]:
    """The paths of train.txt, dev.txt and test.txt in ``folder``, or a
    ``DataError`` naming what was looked for and what to pass instead. Reads nothing."""
    folder = os.fspath(folder)
    paths = {name: os.path.join(folder, f"{name}.txt") for name in FILES}
    missing = [p for p in paths.values() if not os.path.isfile(p)]
    if missing:
        what = "no such folder" if not os.path.isdir(folder) else f"no {', '.join(map(os.path.basename, missing))}"
        raise DataError(
            f"{flag} {folder}: {what} (looked for {', '.join(missing)}). Pass the folder of the Stanford "
            "Sentiment Treebank's trainDevTestTrees_PTB files train.txt, dev.txt and test.txt "
            f"(here: ../shared/data/sst), or leave {flag} out to use IMDB alone."
        )
    return paths


def load_sst(folder: str | os.PathLike, flag: str = "--sst") -> SST:
    """SST-2 from the folder of ``train.txt``, ``dev.txt`` and ``test.txt``:
    the training phrases, the dev and test sentences. ``DataError`` where a
    file is missing or not the treebank's format."""
    paths = check_sst(folder, flag)
    train_trees = read_trees(paths["train"])
    train, conflicted = phrases(train_trees, "train")
    dev, test = (sentences(read_trees(paths[name]), name) for name in ("dev", "test"))
    disagree = f"{conflicted:,} training phrases dropped: nodes of the same text disagree on its class"
    notes = [disagree] if conflicted else []
    return SST(train, dev, test, f"SST folder {os.fspath(folder)}", notes, sentences(train_trees, "train"))
