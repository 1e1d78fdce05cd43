"""The list of native tools of the contract (see DESIGN.md), in the order they are offered.

Adding a tool is one line here plus its tests. Imports are local so that importing the
registry stays cheap until the tools are needed.
"""

from __future__ import annotations

from stoa.core.tools.base import Tool


def native_tools() -> list[Tool]:
    from stoa.core.tools import (
        apply_patch,
        background,
        edits,
        file_ops,
        files,
        image,
        memory,
        plan,
        search,
        shell,
        web,
    )

    return [
        files.ListDirectory(),
        files.ReadFile(),
        search.GlobFiles(),
        search.SearchCode(),
        files.WriteFile(),
        edits.EditFile(),
        apply_patch.ApplyPatch(),
        files.CreateDirectory(),
        file_ops.MoveFile(),
        file_ops.CopyFile(),
        file_ops.DeleteFile(),
        file_ops.DeleteDirectory(),
        shell.ExecuteBash(),
        background.BashOutput(),
        background.BashKill(),
        plan.UpdatePlan(),
        memory.Remember(),
        image.ViewImage(),
        web.WebFetch(),
    ]
