"""MkDocs hooks (mkdocs.yml ``hooks:``): pages that are written from the code at each build.

``<!-- cli-reference -->`` becomes every verb's ``--help`` (:func:`workbench.cli.cli_reference`);
``<!-- project-defaults -->`` the defaults of workbench.yaml (:data:`curation.DEFAULT_CONFIG`);
``<!-- tier-defaults -->`` what each tier fills in (:data:`curation.TIER_DEFAULTS`). A page that documents
them by hand would fall behind the code; these cannot.
"""

from __future__ import annotations


def _yaml(data) -> str:
    import yaml

    return "```yaml\n" + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100) + "```"


def _generated() -> dict:
    import curation
    from workbench.cli import cli_reference

    tiers = {
        t: {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}
        for t, d in curation.TIER_DEFAULTS.items()
    }
    return {
        "<!-- cli-reference -->": cli_reference,
        "<!-- project-defaults -->": lambda: _yaml(curation.DEFAULT_CONFIG),
        "<!-- tier-defaults -->": lambda: _yaml(tiers),
    }


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    if "<!-- " not in markdown:
        return markdown
    for marker, make in _generated().items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown
