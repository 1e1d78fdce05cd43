"""``stoa models``: what the configured keys can use, grouped by provider.

Each cloud provider with a key is listed from its own model list (fetched now when the cached
one is more than a day old, or always with ``--refresh``), merged with the built-in table:
context window, price per million tokens in / out ("price unknown" where none is published)
and effort range; legacy models are marked, aliases and the default shown. Local servers that
answer (Ollama, LM Studio) follow. ``--offline`` uses the cache and the table only.

``stoa models`` is a subcommand only as the first word of the command line; ``stoa -p models``
(or ``stoa -- models``) sends the word "models" as a prompt.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from stoa.core.config import StoaConfig
from stoa.core.keys import key_variable
from stoa.core.models import ALL_PROVIDERS, CLOUD_PROVIDERS, DEFAULT_MODEL, DEFAULT_OPENAI_MODEL, ModelInfo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stoa models",
        description="List the models your keys can use, by provider: window, price, efforts.",
    )
    parser.add_argument("--provider", choices=ALL_PROVIDERS, help="only this provider")
    parser.add_argument("--refresh", action="store_true", help="fetch the providers' lists now, even if cached today")
    parser.add_argument("--offline", action="store_true", help="do not fetch: the cached lists and the built-in table")
    return parser


def _window(tokens: int) -> str:
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    return f"{tokens // 1_000}K"


def _price(model: ModelInfo) -> str:
    if model.prices is None:
        return "price unknown"
    return f"${model.prices.input:.2f} / ${model.prices.output:.2f}"


def model_line(model: ModelInfo, default: str | None) -> str:
    notes = [*model.aliases]
    if model.tier is not None:
        tier = model.tier.prices
        notes.append(f"over {_window(model.tier.above_input_tokens)}: ${tier.input:.2f} / ${tier.output:.2f}")
    if model.id == default:
        notes.append("default")
    if model.legacy:
        notes.append("legacy")
    if model.source == "live":
        notes.append("from the provider's list")
    elif model.source == "config":
        notes.append("from config")
    tail = f"  ({', '.join(notes)})" if notes else ""
    return (
        f"  {model.id:<24} {_window(model.context_window):>6} ctx  {_price(model):<16} "
        f"{model.effort_range:<12}{tail}"
    ).rstrip()


def list_models(config: StoaConfig, args: argparse.Namespace, out: TextIO) -> int:
    from stoa.core.runtime import Choices, make_catalog

    catalog = make_catalog(config, Choices(provider=args.provider))
    wanted = [p for p in CLOUD_PROVIDERS if args.provider in (None, p)]
    with_keys = [p for p in wanted if config.api_key(p)]
    if not args.offline:
        catalog.refresh_sync(with_keys, force=args.refresh)
    defaults = {"anthropic": DEFAULT_MODEL, "openai": DEFAULT_OPENAI_MODEL}
    for provider in wanted:
        if provider not in with_keys:
            var = key_variable(provider)
            print(f"{provider}: no key (set {var} or add one with /key); not listed", file=out)
            continue
        cached = catalog.lists.get(provider)
        if cached is not None:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(cached.fetched_at))
            source = f"the provider's list of {when}"
        else:
            failure = catalog.failures.get(provider)
            source = "the built-in table" + (f"; the list could not be fetched: {failure}" if failure else "")
        models = catalog.models([provider])
        print(f"{provider} ({len(models)} models, from {source})", file=out)
        for model in models:
            print(model_line(model, defaults.get(provider)), file=out)
    if args.provider in (None, "ollama", "lmstudio") and not args.offline:
        _local(config, out)
    print("prices: USD per million tokens, input / output", file=out)
    return 0


def _local(config: StoaConfig, out: TextIO) -> None:
    import asyncio

    from stoa.core.providers.detect import detect_local_servers

    try:
        servers = asyncio.run(detect_local_servers(env=config.env))
    except Exception:  # a probe must never break the listing
        return
    for server in servers:
        print(f"{server.provider} ({server.label}, {len(server.models)} models)", file=out)
        for model_id in server.models:
            print(f"  {model_id}", file=out)


def main(argv: list[str]) -> int:
    from pathlib import Path

    from stoa.core.config import ConfigError, load_config

    args = build_parser().parse_args(argv)
    try:
        config = load_config(Path.cwd())
        return list_models(config, args, sys.stdout)
    except ConfigError as exc:
        print(f"stoa: {exc}", file=sys.stderr)
        return 1
