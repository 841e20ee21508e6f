"""The documentation site: the CLI page is generated from argparse and holds every verb; the README stays a
front page that links into the site; every page is in the navigation (the strict build, `make docs`, checks
links and anchors)."""

from __future__ import annotations

import argparse
import re

import yaml

from workbench.cli import build_parser, cli_reference

from .conftest import REPO


def _every_verb(parser: argparse.ArgumentParser, prefix: str = "workbench") -> list[str]:
    """Walk the parser by its subparser choices (not by the renderer's own walk); a spelling kept one release
    without a help line (hidden from --help) is left out, with what it contains."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            shown = {a.dest for a in action._choices_actions}
            for name, sub in action.choices.items():
                if name not in shown:
                    continue
                out.append(f"{prefix} {name}")
                out += _every_verb(sub, f"{prefix} {name}")
    return out


def _headings(markdown: str) -> set[str]:
    return {line[3:].strip() for line in markdown.splitlines() if line.startswith("## ")}


def test_the_cli_reference_has_every_verb_with_its_options():
    parser = build_parser()
    verbs = _every_verb(parser)
    assert {"workbench watch", "workbench review push-sample", "workbench server reindex"} <= set(verbs)
    assert "workbench production-log import" in verbs and "workbench feedback import" not in verbs  # hidden alias
    page = cli_reference(parser)
    missing = [v for v in verbs if v not in _headings(page)]
    assert not missing, f"verbs missing from the CLI reference: {missing}"
    # each verb's section is its own --help: the options are there, not only the name
    section = page.split("## workbench watch\n", 1)[1].split("\n## ", 1)[0]
    for option in ("--model", "--budget", "--retrain", "--recalibrate", "--out", "--json"):
        assert option in section, option


def test_a_verb_added_to_a_group_appears_without_editing_the_page():
    parser = build_parser()
    groups = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    review = next(a for a in groups.choices["review"]._actions if isinstance(a, argparse._SubParsersAction))
    added = review.add_parser("push-anything", help="a verb this test adds")
    added.add_argument("--flavour", help="an option of it")
    page = cli_reference(parser)
    assert "workbench review push-anything" in _headings(page)
    assert "--flavour" in page.split("## workbench review push-anything\n", 1)[1]
    # and the rendering of the real parser does not have it: the page follows the parser, not a list
    assert "workbench review push-anything" not in _headings(cli_reference())


def test_the_cli_page_is_generated_and_in_the_navigation():
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    assert "tools/docs_hooks.py" in config["hooks"]
    assert config["strict"] == "true"
    page = (REPO / "docs" / "reference" / "cli.md").read_text()
    assert "<!-- cli-reference -->" in page
    assert "## workbench" not in page, "the verbs are written at build time, not by hand"


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for v in node.values() for p in _nav_pages(v)]
    return [p for v in node for p in _nav_pages(v)]


def test_every_page_is_in_the_navigation_and_exists():
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    nav = _nav_pages(config["nav"])
    docs = REPO / "docs"
    pages = {str(p.relative_to(docs)) for p in docs.rglob("*.md")}
    assert set(nav) == pages, (sorted(set(nav) - pages), sorted(pages - set(nav)))
    for kind in ("tutorial/", "how-to/", "reference/", "explanation/", "measurements/"):
        assert any(p.startswith(kind) for p in nav), kind


def test_the_readme_is_a_front_page_that_links_into_the_site():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    links = re.findall(r"\]\((docs/[^)#]+)\)", readme)
    assert len(links) >= 20
    broken = [link for link in links if not (REPO / link).exists()]
    assert not broken, broken
    for must in ("docs/tutorial/index.md", "docs/reference/cli.md", "docs/reference/configuration.md"):
        assert must in links, must
