"""No import cycle among the service modules (import-linter checks the packages' layers;
this checks the modules inside each package too, deferred imports included)."""

from __future__ import annotations

import graphlib

import grimp


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph` (module -> modules it imports), or [] when there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}})
    assert not _cycle({"a": {"b"}, "b": {"c"}, "c": set()})


def test_service_modules_import_each_other_without_a_cycle() -> None:
    imports = grimp.build_graph("app")
    services = {m for m in imports.modules if m.startswith("app.services.")}
    graph = {
        m: {d for d in imports.find_modules_directly_imported_by(m) if d in services}
        for m in services
    }
    assert _cycle(graph) == [], "service modules import each other in a circle"
