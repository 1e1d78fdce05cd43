"""Per-turn checkpoints: what each turn changed in the files, so it can be undone, rewound and
shown (``/undo``, ``/rewind``, ``/diff``). See ``core.checkpoints.manager`` for the walk through
a turn and ``core.checkpoints.shadow`` for where the contents are kept and why."""

from stoa.core.checkpoints.manager import Checkpoints, CheckpointSettings, settings_from_config
from stoa.core.checkpoints.shadow import CheckpointError, ShadowRepo
from stoa.core.checkpoints.turn import Change, Turn
from stoa.core.checkpoints.undo import UndoPlan, UndoResult, describe_result

__all__ = [
    "Change",
    "CheckpointError",
    "CheckpointSettings",
    "Checkpoints",
    "ShadowRepo",
    "Turn",
    "UndoPlan",
    "UndoResult",
    "describe_result",
    "settings_from_config",
]
