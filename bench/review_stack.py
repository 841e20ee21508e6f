"""What the benches that review through the real path share: a fresh embedded Argilla stack in a temporary
home with the owner's client (stopped, and its home removed, when the block ends), and new annotators of a
project's workspace, each an Argilla client with its own key (answers go through the HTTP API, as the UI's)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def review_stack(prefix: str) -> Iterator:
    """Start a fresh embedded stack (home: a new temporary folder named ``prefix...``); yields the owner's
    Argilla client."""
    import argilla as rg

    from workbench.argilla.stack import ServerStack, StackSettings

    home = Path(tempfile.mkdtemp(prefix=prefix))
    stack = ServerStack(StackSettings(home=home))
    try:
        stack.start(timeout=300)
        env = stack.env()
        yield rg.Argilla(api_url=env["ARGILLA_API_URL"], api_key=env["ARGILLA_API_KEY"], timeout=300)
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


def new_annotator(owner, project):
    """A new annotator (random name and password) of ``project``'s workspace, which must exist, as a client."""
    import argilla as rg

    user = rg.User(
        username=f"bench-{uuid.uuid4().hex[:6]}", password=uuid.uuid4().hex, role="annotator", client=owner
    ).create()
    user.add_to_workspace(owner.workspaces(str(project.settings.name)))
    key = owner.api.http_client.get(f"/api/v1/users/{user.id}").json()["api_key"]
    return rg.Argilla(api_url=str(owner.api.http_client.base_url), api_key=key, timeout=300)
