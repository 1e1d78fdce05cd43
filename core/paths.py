"""Where Stoa keeps its state: configuration, data (sessions, checkpoints), logs, caches.

``STOA_HOME`` puts everything under one folder; otherwise the XDG folders (or their defaults
under the home folder). Kept free of pydantic and the rest of the configuration so the very
start of ``stoa`` can find the data folder (``dataclass_cache``) before anything else loads;
``stoa.core.config`` re-exports ``StoaPaths``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoaPaths:
    home: Path | None  # STOA_HOME, when set
    config_dir: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path | None = None

    @property
    def model_cache(self) -> Path:
        """The catalogue's disk cache of the providers' model lists."""
        return (self.cache_dir or self.data_dir) / "models.json"

    @property
    def global_config(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def keys_file(self) -> Path:
        return self.config_dir / "keys.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "sessions.db"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> StoaPaths:
        env = dict(os.environ) if env is None else env
        home = env.get("STOA_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(
                home=root, config_dir=root, data_dir=root / "data", log_dir=root / "logs", cache_dir=root / "cache"
            )
        user_home = Path(env.get("HOME") or Path.home())
        config_root = Path(env.get("XDG_CONFIG_HOME") or user_home / ".config")
        data_root = Path(env.get("XDG_DATA_HOME") or user_home / ".local" / "share")
        state_root = Path(env.get("XDG_STATE_HOME") or user_home / ".local" / "state")
        cache_root = Path(env.get("XDG_CACHE_HOME") or user_home / ".cache")
        return cls(
            home=None,
            config_dir=config_root / "stoa",
            data_dir=data_root / "stoa",
            log_dir=state_root / "stoa",
            cache_dir=cache_root / "stoa",
        )
