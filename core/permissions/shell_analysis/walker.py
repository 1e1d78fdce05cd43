"""The walk over the parse tree: from a command line to the simple commands in it.

The line is parsed with tree-sitter-bash. ``Analyzer`` walks the tree (lists, pipelines,
subshells, loops, functions, command and process substitutions, redirections, assignments,
declarations, arithmetic) and hands every simple command to the classifier, the layer below
it; structural features (substitutions, here-documents, redirections to files, function
definitions, unparseable input) become findings of their own. ``analyze`` is the entry point.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stoa.core.permissions.shell_analysis.classifier import Classifier
from stoa.core.permissions.shell_analysis.command import Cmd, chain_via
from stoa.core.permissions.shell_analysis.findings import Finding, Kind, PathUse, ShellAnalysis
from stoa.core.permissions.shell_analysis.judges.proc_env import ENVIRON_PATH, ENVIRON_REASON, names_environ
from stoa.core.permissions.shell_analysis.path_uses import default_resolver
from stoa.core.permissions.shell_analysis.sensitive import dangerous_assignment, device_kind
from stoa.core.permissions.shell_analysis.state import Resolver
from stoa.core.permissions.shell_analysis.words import Word, node_text

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

MAX_COMMAND_CHARS = 100_000
MAX_DEPTH = 4

_parser_lock = threading.Lock()
_local = threading.local()


def _parser() -> Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        with _parser_lock:
            import tree_sitter
            import tree_sitter_bash

            parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
        _local.parser = parser
    return parser


class Analyzer(Classifier):
    """Reads one command line: walks its tree and collects the findings."""

    def analyze(self, source: str, via: str = "", depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            self._structural("risky", f"commands nested more than {MAX_DEPTH} levels deep", via)
            return
        if "\x00" in source:
            self.parsed = False
            self._structural("risky", "the command contains a NUL byte", via)
            return
        if re.search(r"[^\s\\]\\\n[^\s]", source):
            # bash removes backslash-newline before splitting words (r\<newline>m is rm); the
            # grammar treats it as a space. Judge the joined text too.
            self._structural("risky", "a line continuation joins two words", via)
            self.nested(re.sub(r"\\\n", "", source), chain_via(via, "joined lines"), depth)
        tree = _parser().parse(source.encode("utf-8", "surrogatepass"))
        root = tree.root_node
        if root.has_error:
            self.parsed = False
            self._structural("risky", "the command could not be parsed (a syntax error); it needs approval", via)
            # Still classify what can be seen, so forbidden commands stay forbidden.
        self.depth = depth
        self._walk(root, via, depth)

    def _structural(self, kind: Kind, reason: str, via: str, text: str = "", paths: Sequence[PathUse] = ()) -> None:
        self.findings.append(Finding(kind=kind, reasons=(reason,), paths=tuple(paths), text=text, via=via))

    def _walk(self, node: Node, via: str, depth: int) -> None:
        kind = node.type
        if node.is_missing or kind == "ERROR":
            self.parsed = False
        if kind == "command":
            self._command(node, via, depth)
            return
        if kind == "redirected_statement":
            self._redirected(node, via, depth)
            return
        if kind in ("command_substitution", "process_substitution"):
            what = "command substitution" if kind == "command_substitution" else "process substitution"
            self._structural("risky", f"uses {what}: {node_text(node)[:80]}", via, node_text(node))
        elif kind == "heredoc_redirect":
            self._structural("risky", "feeds a here-document to a command", via, node_text(node)[:200])
        elif kind == "herestring_redirect":
            self._structural("risky", "feeds a here-string to a command", via, node_text(node)[:200])
        elif kind == "file_redirect":
            self._redirect(node, via)
            return
        elif kind == "function_definition":
            self._function(node, via)
        elif kind == "variable_assignment":
            self._assignment(node, via, standalone=True)
            return
        elif kind == "declaration_command":
            self._declaration(node, via, depth)
            return
        elif kind in ("for_statement", "c_style_for_statement", "select_statement"):
            var = node.child_by_field_name("variable")
            if var is not None:
                self.vars[node_text(var)] = self._loop_value(node) if kind == "for_statement" else None
        elif kind == "expansion":
            prompt = re.match(r"^\$\{(\w+)@P\}$", node_text(node))
            if prompt and (prompt.group(1) not in self.vars or self.vars[prompt.group(1)] is None):
                self._structural("risky", f"expands {prompt.group(1)} as a prompt (command substitutions in it run)", via, node_text(node))
            assigned = re.match(r"^\$\{(\w+):?=", node_text(node))
            if assigned:
                # ${x:=default} / ${x=default} assign x as a side effect.
                self.forget(assigned.group(1), node_text(node))
        if _arithmetic_context(node):
            self._arithmetic(node, via)
        for child in node.children:
            self._walk(child, via, depth)

    def _redirected(self, node: Node, via: str, depth: int) -> None:
        body = node.child_by_field_name("body")
        extra = [d for child in node.children if child.type == "file_redirect" for d in _extra_destinations(child)]
        for child in node.children:
            if child is body or (body is not None and child.id == body.id):
                if child.type == "command":
                    self._command(child, via, depth, extra)
                    extra = []
                else:
                    self._walk(child, via, depth)
            else:
                self._walk(child, via, depth)
        if extra:
            self._structural("risky", "words after a redirection that bash would pass on", via, node_text(node))
            self._walk_words(extra, via, depth)

    def _loop_value(self, node: Node) -> str | None:
        """What a for loop's variable stands for in path checks: when every listed word is
        static, the first one outside the workspace (or the first one); else unknown."""
        words: list[Word] = []
        for value in node.children_by_field_name("value"):
            words.extend(self.split_word(self.word(value)))
        if not words or any(w.value is None for w in words):
            return None
        for word in words:
            assert word.value is not None
            use = self.path_use(word.value, write=False)
            if use.path is None or use.outside:
                return word.value
        return words[0].value

    def _walk_words(self, nodes: Iterable[Node], via: str, depth: int) -> None:
        """Visit argument words for substitutions nested in them."""
        for node in nodes:
            self._walk(node, via, depth)

    def _function(self, node: Node, via: str) -> None:
        name_node = node.child_by_field_name("name")
        name = node_text(name_node) if name_node is not None else "?"
        self.functions.add(name)
        body = node.child_by_field_name("body")
        calls_itself = body is not None and any(
            node_text(n) == name for n in _descendants(body) if n.type == "command_name"
        )
        if calls_itself and body is not None and "&" in node_text(body):
            self._structural("forbidden", f"a fork bomb (function {name} runs itself in the background)", via)
        else:
            self._structural("risky", f"defines a shell function ({name})", via, node_text(node)[:200])

    def _assignment(self, node: Node, via: str, *, standalone: bool) -> None:
        name_node = node.child_by_field_name("name")
        name = node_text(name_node) if name_node is not None else ""
        if name_node is not None and name_node.type == "subscript":
            # a[$(cmd)]=x: the index is evaluated, and substitutions in it run.
            self._walk(name_node, via, self.depth)
            inner = name_node.child_by_field_name("name")
            name = node_text(inner) + "[]" if inner is not None else name
        value_node = node.child_by_field_name("value")
        if value_node is not None:
            self._walk(value_node, via, self.depth)
        value = self.word(value_node).value if value_node is not None else ""
        if value is not None and ("$(" in value or "`" in value):
            # x='a[$(rm -rf src)]'; echo $((x)): bash evaluates a variable's text in arithmetic
            # (and eval, [[ -eq ]], array indexes), running the substitution in it.
            self._structural(
                "risky",
                f"assigns text that holds a command substitution to {name} (bash runs it if the value is evaluated)",
                via,
                node_text(node),
            )
        if dangerous_assignment(name, value):
            self._structural(
                "risky",
                f"sets {name}, which changes what later commands run or read",
                via,
                node_text(node),
            )
        if standalone:
            if any(not c.is_named and node_text(c) == "+=" for c in node.children):
                before = self.vars[name] if name in self.vars else self.lookup(name)
                value = before + value if before is not None and value is not None else None
            self.vars[name] = value
            if value is None:
                self.hints[name] = node_text(value_node) if value_node is not None else ""
            else:
                self.hints.pop(name, None)

    def _arithmetic(self, node: Node, via: str) -> None:
        """Arithmetic evaluates the text of the variables it names as expressions, and a
        subscript in that text runs command substitutions: a variable whose value is not known
        (read from a file, ...) makes it unsafe."""
        if node.type == "subscript":
            index = node.child_by_field_name("index")
            if index is None:
                return
            node = index
        for child in [node, *_descendants(node)]:
            if child.type not in ("variable_name", "word"):
                continue
            name = node_text(child)
            if name in self.vars and (self.vars[name] is None or re.search(r"[`$\[]", self.vars[name] or "")):
                self._structural(
                    "risky",
                    f"evaluates {name} as arithmetic, and its value is known only at run time (it could run commands)",
                    via,
                    node_text(node)[:200],
                )
                return

    def _declaration(self, node: Node, via: str, depth: int) -> None:
        flags = "".join(node_text(c)[1:] for c in node.children if c.type == "word" and node_text(c).startswith("-"))
        for child in node.children:
            if child.type == "variable_assignment":
                self._assignment(child, via, standalone=True)
                if "n" in flags:
                    # declare -n x=HOME: x names another variable ($x is $HOME).
                    target = child.child_by_field_name("name")
                    if target is not None:
                        self.forget(node_text(target), "${" + node_text(child).split("=", 1)[-1] + "}")
            elif child.type in ("word", "variable_name") and dangerous_assignment(node_text(child), None):
                self._structural("risky", f"exports {node_text(child)}", via, node_text(node))
            else:
                self._walk(child, via, depth)

    def _redirect(self, node: Node, via: str) -> None:
        operator = ""
        for child in node.children:
            if not child.is_named:
                operator = node_text(child)
        dest = node.child_by_field_name("destination")
        if dest is None:
            return
        for child in dest.children:
            self._walk(child, via, self.depth)
        if operator in (">&", "<&") and dest.type == "number":
            return  # 2>&1: duplicating a descriptor
        word = self.word(dest)
        if operator in (">&", "<&") and word.value is not None and word.value.rstrip("-").isdigit():
            return
        if word.value == "-" and operator in (">&", "<&"):
            return
        writes = operator not in ("<", "<&")
        text = node_text(node)
        environ = None if writes else names_environ([word.value if word.value is not None else word.raw], self.cwd)
        if environ is not None:
            use = PathUse(environ, ENVIRON_PATH, write=False, outside=True)
            reason = ENVIRON_REASON.format(text=environ)
            self.findings.append(Finding(kind="read", reasons=(reason,), paths=(use,), text=text, via=via))
            return
        if word.value is None and not writes:
            use = self.dynamic_use(word, write=False)
            if use.outside:
                self.findings.append(
                    Finding(kind="read", reasons=(f"reads {word.raw} by redirection",), paths=(use,), text=text, via=via)
                )
                return
        if word.value is None or word.glob:
            kind: Kind = "risky" if writes else "unknown"
            self._structural(kind, f"redirects {'output to' if writes else 'input from'} a file named at run time", via, text)
            return
        value = word.value
        device = device_kind(value)
        if device == "harmless":
            return
        if device == "network":
            self._structural("risky", f"opens a network connection through {value}", via, text)
            return
        if device == "forbidden" and writes:
            self._structural("forbidden", f"writes to a device or kernel file: {value}", via, text)
            return
        use = self.path_use(value, write=writes)
        if writes:
            paths = (use,)
            reason = f"writes to {use.path or value} by redirection"
            self._structural("risky", reason, via, text, paths)
        else:
            self.findings.append(
                Finding(kind="read", reasons=(f"reads {use.path or value} by redirection",), paths=(use,), text=text, via=via)
            )

    def _command(self, node: Node, via: str, depth: int, extra: Sequence[Node] = ()) -> None:
        """A simple command. ``extra``: words the grammar hung on a redirection that follows the
        command (``cat < x secret``: bash passes ``secret`` to cat)."""
        words: list[Word] = []
        name_node = node.child_by_field_name("name")
        arg_nodes: list[Node] = list(extra)
        for index, child in enumerate(node.children):
            if child.type == "variable_assignment":
                self._assignment(child, via, standalone=False)
            elif child.type == "command_name":
                arg_nodes.append(child)
            elif node.field_name_for_child(index) == "argument":
                arg_nodes.append(child)
            elif child.type in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
                arg_nodes.extend(_extra_destinations(child))
                self._walk(child, via, depth)
        arg_nodes.sort(key=lambda n: n.start_byte)
        if name_node is None and arg_nodes:
            # Only words after redirections: the first is the command name.
            self._structural("risky", "a command written after its redirections", via, node_text(node))
        self._walk_words(arg_nodes, via, depth)
        for arg in arg_nodes:
            target = arg.named_children[0] if arg.type == "command_name" and arg.named_children else arg
            words.extend(self.split_word(self.word(target)))
        if not words:
            return
        self.simple(Cmd(words, node_text(node), via), depth)


def _extra_destinations(node: Node) -> list[Node]:
    """Words after a redirection's target, which the grammar files under the redirection."""
    if node.type != "file_redirect":
        return []
    return list(node.children_by_field_name("destination"))[1:]


_ARITHMETIC_TESTS = frozenset("-eq -ne -lt -le -gt -ge".split())


def _arithmetic_context(node: Node) -> bool:
    """Whether bash evaluates ``node`` as arithmetic (where a variable's text is evaluated too)."""
    kind = node.type
    if kind in ("arithmetic_expansion", "subscript", "c_style_for_statement"):
        return True
    if kind == "compound_statement":
        return node_text(node).startswith("((")
    if kind == "binary_expression" and node.parent is not None and node.parent.type == "test_command":
        operator = node.child_by_field_name("operator")
        return operator is not None and node_text(operator) in _ARITHMETIC_TESTS
    if kind == "expansion":
        # ${s:offset:length} (not ${x:-default} and friends)
        return re.match(r"^\$\{\w+:[^-=?+]", node_text(node)) is not None
    return False


def _descendants(node: Node) -> Iterable[Node]:
    stack = list(node.children)
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def analyze(
    command: str,
    workspace: Path | str,
    *,
    home: str | None = None,
    env: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
) -> ShellAnalysis:
    """Analyse one command line for execute_bash. Never raises for bad input: what cannot be
    understood is reported as a risky finding (tier ask).

    Not cached on purpose: the answer depends on the file system (symlinks, existing files),
    which the previous command may have changed. It takes well under a millisecond.
    """
    environment = dict(os.environ if env is None else env)
    home_dir = home or environment.get("HOME") or os.path.expanduser("~")
    return _analyze(command, Path(workspace), home_dir, environment, resolver or default_resolver)


def _analyze(command: str, workspace: Path, home: str, env: Mapping[str, str], resolver: Resolver) -> ShellAnalysis:
    if not command.strip():
        return ShellAnalysis(command, (Finding("risky", ("the command is empty",)),), parsed=False)
    if len(command) > MAX_COMMAND_CHARS:
        return ShellAnalysis(
            command,
            (Finding("risky", (f"the command is longer than {MAX_COMMAND_CHARS:,} characters",)),),
            parsed=False,
        )
    analyzer = Analyzer(workspace, home, env, resolver)
    analyzer.depth = 0
    try:
        analyzer.analyze(command)
    except RecursionError:
        return ShellAnalysis(command, (Finding("risky", ("the command is nested too deeply to analyse",)),), parsed=False)
    findings = [f for f in analyzer.findings if f.kind != "skip"]  # type: ignore[comparison-overlap]
    if not findings:
        findings = [Finding("read", (), (), (), command)]
    return ShellAnalysis(command, tuple(findings), parsed=analyzer.parsed)
