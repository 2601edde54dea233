#!/usr/bin/env python3
"""Finds import loops between the files of each crate of the workspace.

Every `crate::a::b` and `super::...` path a file names (outside its test
module) is an edge from the file's module to the module that owns the item.
A parent's `mod` declarations and its `pub use` re-exports of its own
children are structure, not imports, and are not counted. Prints every
loop (a strongly connected group of more than one module) and the files over
the size limit, and exits 1 if there is any.

Usage: python3 scripts/import-loops.py [--max-lines 700]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ['datasets-core', 'datasets-derive', 'datasets-server', 'datasets-bench', '.']
PATH = re.compile(r'\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)')
USE_GROUP = re.compile(r'\buse\s+(crate|super)::\{([^;]*)\};', re.S)


def module_of(src: Path, file: Path) -> tuple[str, ...]:
    parts = list(file.relative_to(src).with_suffix('').parts)
    if parts[-1] in ('lib', 'main', 'mod'):
        parts = parts[:-1]
    return tuple(parts)


def strip_tests(text: str) -> str:
    """The text before the file's `#[cfg(test)] mod tests`, comments removed."""
    match = re.search(r'#\[cfg\(test\)\]\s*mod\s+tests', text)
    if match:
        text = text[: match.start()]
    text = re.sub(r'//[^\n]*', '', text)
    return text


def targets(module: tuple[str, ...], text: str, modules: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def resolve(base: tuple[str, ...], rest: list[str]) -> None:
        path = base + tuple(rest)
        # The longest module prefix of the path owns the item.
        while path and path not in modules:
            path = path[:-1]
        found.add(path)

    def base_of(anchor: str) -> tuple[str, ...]:
        return () if anchor == 'crate' else module[:-1]

    for anchor, group in USE_GROUP.findall(text):
        for item in re.split(r',\s*', group):
            names = [n for n in re.findall(r'[A-Za-z_][A-Za-z0-9_]*', item.split(' as ')[0])]
            if names and names[0] not in ('self',):
                resolve(base_of(anchor), names[:1] if names[0][0].isupper() else names[:2])
    for anchor, rest in PATH.findall(text):
        if rest == '::{':
            continue
        resolve(base_of(anchor), [p for p in rest.split('::') if p])
    # A parent naming its own children (mod declarations, re-exports) is structure.
    return {t for t in found if t != module and not (len(t) > len(module) and t[: len(module)] == module)}


def loops(graph: dict[tuple[str, ...], set[tuple[str, ...]]]) -> list[list[tuple[str, ...]]]:
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    groups: list = []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for next_node in graph.get(node, ()):
            if next_node not in index:
                visit(next_node)
                low[node] = min(low[node], low[next_node])
            elif next_node in on_stack:
                low[node] = min(low[node], index[next_node])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in list(graph):
        if node not in index:
            visit(node)
    return groups


def main() -> int:
    max_lines = 700
    if '--max-lines' in sys.argv:
        max_lines = int(sys.argv[sys.argv.index('--max-lines') + 1])
    failed = False
    for crate in CRATES:
        src = ROOT / crate / 'src'
        files = sorted(src.rglob('*.rs'))
        modules = {module_of(src, f) for f in files}
        graph: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for file in files:
            module = module_of(src, file)
            text = strip_tests(file.read_text())
            graph.setdefault(module, set()).update(targets(module, text, modules))
            code_lines = len(text.splitlines())
            if code_lines > max_lines:
                print(f'{file.relative_to(ROOT)}: {code_lines} lines before its tests (limit {max_lines})')
                failed = True
        for group in loops(graph):
            names = ', '.join('::'.join(m) or 'crate' for m in group)
            print(f'{crate}: import loop between {names}')
            failed = True
    if not failed:
        print('no import loops; no file over the limit')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
