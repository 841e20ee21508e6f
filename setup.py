"""Ships the notebooks and the demo data inside the wheel (everything else is in pyproject.toml).

They live at the top of the checkout (``notebooks/``, ``data/demo/``), where people look for them; a
built wheel carries a copy under ``workbench/_shipped/`` so that ``workbench run`` and
``workbench init --demo`` work after ``pip install`` from any folder. An editable install reads them
from the checkout instead (:mod:`workbench._resources`).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = {"notebooks": HERE / "notebooks", "demo": HERE / "data" / "demo"}


class BuildPyWithResources(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders
        for name, source in SHIPPED.items():
            target = Path(self.build_lib) / "workbench" / "_shipped" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


setup(cmdclass={"build_py": BuildPyWithResources})
