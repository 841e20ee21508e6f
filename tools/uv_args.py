"""Print the `uv pip install` options that reproduce this machine's pip configuration.

`make install` and the wheel-install test install with uv (several times faster than pip here: parallel
downloads, no per-file copy of torch's 1.5 GB) but must resolve what pip would: uv does not read pip's
configuration, so the find-links folders, constraint files and index URLs pip is configured with
(``pip config list``: files and ``PIP_*`` variables) are handed over as options. Entries that point at
a missing folder are left out (pip only warns about them; uv would fail). Standard library only: it runs
in a fresh virtualenv before anything else is installed.

    uv pip install --python .venv/bin/python $(.venv/bin/python tools/uv_args.py) -e '.[all,test]'
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

# pip's option -> uv's option; pip's values are whitespace-separated lists
OPTIONS = {
    "find-links": "--find-links",
    "constraint": "--constraint",
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
}


def pip_config(python: str = sys.executable) -> dict[str, list[str]]:
    """pip's configured values per option name, as ``python -m pip config list`` reports them."""
    out = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False)
    return parse_pip_config(out.stdout)


def parse_pip_config(text: str) -> dict[str, list[str]]:
    r"""The values of ``pip config list`` output per option name, every scope merged, each value once.

    >>> parse_pip_config("global.find-links='/opt/wheels'\n:env:.find-links='/opt/wheels'\nglobal.cert='/x'")
    {'find-links': ['/opt/wheels']}
    """
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if sep and name in OPTIONS:
            for item in shlex.split(value.strip().strip("'\"")):
                if item not in found.setdefault(name, []):
                    found[name].append(item)
    return found


def _exists(location: str) -> bool:
    """A local path or file:// URL that is there; any other URL counts as there."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme else location).exists()
    return True


def uv_args(config: dict[str, list[str]]) -> list[str]:
    """The uv options for ``config`` (see :func:`pip_config`), missing local locations left out.

    >>> uv_args({"find-links": ["/nonexistent-wheels"], "extra-index-url": ["https://example.org/simple"]})
    ['--extra-index-url', 'https://example.org/simple', '--index-strategy', 'unsafe-best-match']
    """
    args: list[str] = []
    for name, flag in OPTIONS.items():
        for value in config.get(name, []):
            if _exists(value):
                args += [flag, value]
    if "--extra-index-url" in args or "--find-links" in args:
        # pip picks the best version over every index; uv's default stops at the first index that has the name
        args += ["--index-strategy", "unsafe-best-match"]
    return args


if __name__ == "__main__":
    print(shlex.join(uv_args(pip_config())))
