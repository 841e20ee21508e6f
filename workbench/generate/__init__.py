"""Generation: seeds become batches of examples, with provenance, a cache that keeps what was made, and
*pending* review (pending records stay out of training until their batch is accepted).

One small protocol (:class:`Provider`), one module per provider:

- ``openai_compatible``: chat completions over HTTP (a hosted API, vLLM, llama.cpp server, Ollama),
  structured JSON output, retries with exponential backoff, a requests-per-minute limit;
- ``retrieval`` (offline): nearest neighbours of the seed in a pool of real texts, with diversity (MMR);
- ``perturbation`` (offline): label-preserving adversarial variants of existing records;
- ``from_suite`` (the ``suite`` provider, offline, ``--from-suite``): a model's failing functionalities
  as seeds, their batches from the functional suites' train-side cases and perturbations of them.

``plan`` decides each item's intended labels (multi-label by construction: a seed with overlap rate r
and batch size n gets round(r * n) items carrying both labels), ``prompt`` builds the request from the
taxonomy, ``cache`` keeps every item made, keyed by (provider, model, params, seed id, seed text hash,
item index), and ``run.generate`` ties them to the store. Seeds, batches and the pending state live in
``curation``. This package imports ``curation`` and ``training`` (the embedding cache), nothing of the
other ``workbench`` packages.
"""

from typing import TYPE_CHECKING

from foundation import lazy_names

if TYPE_CHECKING:  # imported on first use: the command line's parser reads only the provider names
    from .base import GenerationStats, Item, Provider, SeedSpec, Slot
    from .cache import GenerationCache
    from .from_suite import SuiteProvider, balanced_sizes, generate_from_suite
    from .openai_compatible import OpenAICompatibleProvider
    from .perturbation import PERTURBATIONS, PerturbationProvider, obfuscate_word, perturb
    from .plan import plan_slots
    from .retrieval import RetrievalProvider
    from .run import PROVIDERS, BatchSummary, generate, make_provider
    from .vectors import regression_vectors, write_regression_vectors

__all__ = [
    "BatchSummary",
    "GenerationCache",
    "GenerationStats",
    "Item",
    "OpenAICompatibleProvider",
    "PERTURBATIONS",
    "PROVIDERS",
    "PerturbationProvider",
    "Provider",
    "RetrievalProvider",
    "SuiteProvider",
    "balanced_sizes",
    "obfuscate_word",
    "generate_from_suite",
    "SeedSpec",
    "Slot",
    "generate",
    "make_provider",
    "perturb",
    "plan_slots",
    "regression_vectors",
    "write_regression_vectors",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
