"""Programs that reach other machines: network clients (curl, ssh, ...) and cloud, container
and orchestration tools (docker, kubectl, aws, gh, ...). They need a person and the real
network (never the sandbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.command import Cmd, Verdict
from stoa.core.permissions.shell_analysis.registry import judge
from stoa.core.permissions.shell_analysis.tables import CLOUD, NETWORK

if TYPE_CHECKING:
    from stoa.core.permissions.shell_analysis.classifier import Classifier


@judge(*NETWORK, family=True)
def network(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    return Verdict("risky", [f"{name} uses the network"], sandbox_ok=False)


@judge(*CLOUD, family=True)
def cloud(an: Classifier, name: str, cmd: Cmd, depth: int) -> Verdict:
    values = [w.value for w in cmd.words[1:]]
    if values[:1] in (["--version"], ["version"]):
        return Verdict("read", sandbox_ok=False)
    return Verdict("risky", [f"{name} acts on systems outside this machine or on containers"], sandbox_ok=False)
