"""One turn of a session and its checkpoint: where it starts in the conversation, and what it
changed in the files.

While the turn runs, the checkpoint gathers *captures*: the state of each path a file tool was
about to change (its pre-image, first capture wins) and, before the first shell command or MCP
tool that may change files, a *base* snapshot of the whole workspace. When the turn ends it is
*sealed* (``core.checkpoints.seal``): the captures and the base are compared with the files as
the turn left them, giving ``changes`` (each path's state before and after the turn), which is
what ``/undo`` and ``/rewind`` put back and ``/diff`` shows. Everything is saved as JSON in the
``turns`` table (``core.checkpoints.saved``); file contents are blobs of the shadow repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from stoa.core.checkpoints.states import FileState

TurnState = Literal["open", "done", "undone", "rewound"]


@dataclass
class Capture:
    seq: int
    state: FileState


@dataclass
class Base:
    """The workspace snapshot taken before the turn's first shell command (or MCP tool)."""

    tree: str
    seq: int
    # Files left out of it (too large, unreadable): path -> (reason, size, mtime_ns).
    skipped: dict[str, tuple[str, int, int]] = field(default_factory=dict)


@dataclass
class Change:
    """One path the turn changed: its state before the turn and when the turn ended."""

    path: str
    before: FileState
    after: FileState

    @property
    def verb(self) -> str:
        if not self.before.exists:
            return "created"
        if not self.after.exists:
            return "deleted"
        if self.before.kind != self.after.kind:
            return "replaced"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before.to_json(), "after": self.after.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(
            path=str(data["path"]),
            before=FileState.from_json(data.get("before") or {}),
            after=FileState.from_json(data.get("after") or {}),
        )


@dataclass
class Turn:
    number: int
    prompt: str
    # Where the turn's user message starts in the agent's history: the message, and the first
    # block of the prompt in it (a prompt after an interrupted turn is merged into the message
    # holding that turn's last results).
    message_index: int
    block_offset: int
    # The display record of the prompt (``records.seq``): the turn's records start there.
    record_seq: int
    started_at: float
    ended_at: float | None = None
    state: TurnState = "open"
    seq: int = 0
    captures: dict[str, Capture] = field(default_factory=dict)
    base: Base | None = None
    changes: list[Change] = field(default_factory=list)
    # Trees of the changed paths inside the workspace before / after the turn (for /diff), and
    # the tree that keeps every blob of the checkpoint from being pruned.
    pre_tree: str | None = None
    post_tree: str | None = None
    keep: str | None = None
    # What could not be captured, in words.
    notes: list[str] = field(default_factory=list)
    # Why checkpoints were off for this turn (nothing of it can be undone), or None.
    off: str | None = None
    # Why its checkpoint was dropped later (the session's budget), or None.
    dropped: str | None = None
    bytes: int = 0
    # What /undo or /rewind did to it.
    undo: dict[str, Any] | None = None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    @property
    def live(self) -> bool:
        """Still part of the conversation (not rewound)."""
        return self.state != "rewound"

    @property
    def undoable(self) -> bool:
        return self.state == "done" and bool(self.changes) and self.off is None and self.dropped is None

    @property
    def title(self) -> str:
        line = next((ln.strip() for ln in self.prompt.splitlines() if ln.strip()), "")
        line = " ".join(line.split())
        return line if len(line) <= 60 else line[:59].rstrip() + "…"

    def why_not_undoable(self) -> str:
        if self.state == "undone":
            return f"turn {self.number} was already undone"
        if self.state == "rewound":
            return f"turn {self.number} was rewound"
        if self.off is not None:
            return (
                f"checkpoints were off for turn {self.number} ({self.off}), so its changes cannot be undone"
            )
        if self.dropped is not None:
            return f"the checkpoint of turn {self.number} was dropped ({self.dropped})"
        if not self.changes:
            return f"turn {self.number} changed no files"
        if self.state == "open":
            return f"turn {self.number} is still running"
        return ""

    def summary(self) -> str:
        """``2 files (1 created, 1 changed)`` or ``no file changes``."""
        if not self.changes:
            return "no file changes"
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.verb] = counts.get(change.verb, 0) + 1
        n = len(self.changes)
        files = f"{n} file{'s' if n != 1 else ''}"
        if len(counts) == 1:
            return f"{files} {next(iter(counts))}"
        return f"{files} ({', '.join(f'{v} {k}' for k, v in counts.items())})"

    # ---- JSON ---------------------------------------------------------------------------------

    def checkpoint_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "seq": self.seq,
            "captures": {k: {"seq": c.seq, "state": c.state.to_json()} for k, c in self.captures.items()},
            "changes": [c.to_json() for c in self.changes],
            "notes": self.notes,
        }
        if self.base is not None:
            data["base"] = {"tree": self.base.tree, "seq": self.base.seq, "skipped": self.base.skipped}
        for name in ("pre_tree", "post_tree", "keep", "off", "dropped", "undo"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    def load_checkpoint(self, data: dict[str, Any]) -> None:
        self.seq = int(data.get("seq", 0))
        self.captures = {
            str(k): Capture(int(v.get("seq", 0)), FileState.from_json(v.get("state") or {}))
            for k, v in (data.get("captures") or {}).items()
        }
        base = data.get("base")
        if isinstance(base, dict) and base.get("tree"):
            skipped = {
                str(k): (str(v[0]), int(v[1]), int(v[2]))
                for k, v in (base.get("skipped") or {}).items()
                if isinstance(v, list | tuple) and len(v) == 3
            }
            self.base = Base(tree=str(base["tree"]), seq=int(base.get("seq", 0)), skipped=skipped)
        self.changes = [Change.from_json(c) for c in data.get("changes") or [] if isinstance(c, dict)]
        self.notes = [str(n) for n in data.get("notes") or []]
        self.pre_tree = data.get("pre_tree")
        self.post_tree = data.get("post_tree")
        self.keep = data.get("keep")
        self.off = data.get("off")
        self.dropped = data.get("dropped")
        self.undo = data.get("undo")

    def kept_objects(self) -> list[str]:
        """The objects this turn's checkpoint needs kept (pruning keeps what these reach)."""
        out = [t for t in (self.keep,) if t]
        sealed_empty = self.state != "open" and self.off is None and not self.changes
        if self.keep is None and not sealed_empty:
            # Not sealed yet (running, or cut short by a crash); a sealed turn that changed
            # nothing needs nothing kept.
            if self.base is not None:
                out.append(self.base.tree)
            out += [c.state.oid for c in self.captures.values() if c.state.oid]
        return out
