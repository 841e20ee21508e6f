"""The shared kernel: what every layer of the workbench needs and none owns. One error shape
(:class:`WorkbenchError`: what was expected, what arrived, how to fix it), one "name -> declaration" table
(:class:`Registry`), crash-safe writes (atomic files, one SQLite transaction shape, canonical JSON, a file's
hash), one clock
(:func:`utc_now`), and the packages' name tables (imported on first use; old names kept one release with a
:class:`WorkbenchDeprecationWarning`).

Layers: ``foundation`` <- ``curation`` <- ``training`` <- ``workbench``. ``foundation`` imports nothing else of
ours and nothing outside the standard library; every layer may import it.
"""

from ._atomic import atomic_write_bytes, atomic_write_text, canonical_json, file_sha256, immediate_transaction
from ._clock import utc_now
from ._errors import WorkbenchError
from ._names import WorkbenchDeprecationWarning, lazy_names, moved_names, warn_moved
from ._registry import Registry

__all__ = [
    "WorkbenchError",
    "Registry",
    "atomic_write_bytes",
    "atomic_write_text",
    "canonical_json",
    "file_sha256",
    "immediate_transaction",
    "utc_now",
    "lazy_names",
    "moved_names",
    "warn_moved",
    "WorkbenchDeprecationWarning",
]
