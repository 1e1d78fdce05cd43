"""Redaction of tool results, end to end: hex and base64 forms of secret values, and values
shaped like credentials that Stoa was never told about, never reach a request; commit ids
and checksums in git output stay readable.

The real ``stoa -p`` (allowed to run and read everything, no sandbox: the content itself must
be clean) reads a workspace holding the secrets in a ``.env`` file and a config file, through
``xxd -p``, ``od``, ``base64``, ``cat`` and ``read_file``, and runs ``git log`` in a real
repository; the fake provider records every request body.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fake_server import FakeServer, reply, tool_call

STOA = [sys.executable, "-m", "stoa.app.cli"]
REPO = Path(__file__).resolve().parents[2]

SECRETS = {
    "FOO_TOKEN": "LEAKCANARY-foo-token-3e8a91",
    # A hex secret under a secret name: its value, and hex forms of it, must go.
    "DEPLOY_SECRET": "9c1185a5c5e9fc54612808977ee8f548b2258d31",
}
# Never in Stoa's environment: recognised by their shape alone.
UNKNOWN = {
    "github": "ghp_" + "Zk3" * 12,
    "slack": "xoxb-2048-1234567890-LeakCanarySlack",
    "aws": "AKIA" + "LEAKCANARY123456",
    "openai": "sk-proj-" + "LeakCanary0123456789" * 2,
    "hex_api_secret": "5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b",
}
COMMANDS = [
    "xxd -p .env",
    "xxd -p -u .env",
    "od -An -tx1 .env",
    "base64 .env",
    "cat .env",
    "cat service.conf",
    "git log --format='%H %s' -n 3",
    "sha1sum README.md",
]


def _hex_forms(value: str) -> list[str]:
    raw = value.encode().hex()
    return [raw, raw.upper()]


def test_secret_forms_and_key_shaped_values_never_reach_a_request(
    stoa_env: dict[str, str], fake_server: FakeServer, tmp_path: Path
) -> None:
    ws = tmp_path / "project"
    (ws / ".stoa").mkdir(parents=True)
    (ws / ".stoa" / "config.local.toml").write_text('[sandbox]\nenabled = false\n[permissions]\nallow = ["Bash", "Read"]\n')
    (ws / ".env").write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    (ws / "service.conf").write_text(
        f"github_token = {UNKNOWN['github']}\nslack: {UNKNOWN['slack']}\naws_access_key_id={UNKNOWN['aws']}\n"
        f"openai = \"{UNKNOWN['openai']}\"\n\"api_secret\": \"{UNKNOWN['hex_api_secret']}\"\nname = demo\n"
    )
    (ws / "README.md").write_text("# demo\n")
    git = ["git", "-C", str(ws), "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "README.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first commit"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    checksum = subprocess.run(["sha1sum", str(ws / "README.md")], check=True, capture_output=True, text=True).stdout.split()[0]

    calls = [tool_call("execute_bash", {"command": c}, id=f"sh_{i}") for i, c in enumerate(COMMANDS)]
    calls += [tool_call("read_file", {"path": "service.conf"}, id="rf_conf")]
    fake_server.script(reply(tool_calls=calls), reply(text="done"))
    env = {**stoa_env, **SECRETS, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [*STOA, "-p", "look around"], env=env, cwd=ws, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]

    bodies = [r.raw_body.decode("utf-8", "replace") for r in fake_server.requests]
    results = {r.id: r.text for r in fake_server.model_requests()[-1].tool_results}
    forbidden = [*SECRETS.values(), *UNKNOWN.values()]
    forbidden += [form for value in SECRETS.values() for form in _hex_forms(value)]
    for body in bodies:
        for value in forbidden:
            assert value not in body, f"{value[:20]}… reached a request"
    # The hex dumps, split as xxd and od split them, were recognised (not merely absent).
    assert "[redacted FOO_TOKEN, hex]" in results["sh_0"] and "[redacted DEPLOY_SECRET, hex]" in results["sh_0"]
    assert "[redacted FOO_TOKEN, hex]" in results["sh_1"] and "[redacted FOO_TOKEN, hex]" in results["sh_2"]
    assert "[redacted FOO_TOKEN, base64]" in results["sh_3"]
    assert "[redacted DEPLOY_SECRET]" in results["sh_4"]
    conf = results["rf_conf"]
    assert conf.count("[redacted key-shaped value]") == 4 and "[redacted hex secret]" in conf
    assert "name = demo" in conf and "github_token = [redacted" in conf
    # Ordinary hashes stay readable: the commit id and a checksum.
    assert sha in results["sh_6"] and "first commit" in results["sh_6"]
    assert checksum in results["sh_7"]
    assert os.path.basename("README.md") in results["sh_7"]
