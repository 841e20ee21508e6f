# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Functional suites: find what the model gets wrong, fix it with reviewed data
#
# What this is for: behavioural tests per label (CheckList-style). A suite lists **functionalities** (explicit derogation, negated hate, counter-speech, ...) with templates and fillers; **test-side** cases are what the gate measures, **train-side** ones are the only material the loop may train on. Run the suite, see the failing functionalities, generate batches from them, review, retrain, compare.
#
# Meanwhile in Argilla: `workbench review push-suite DIR` sends the test-side cases to **suite-review** (a case stays in the gate when two reviewers agree with it); the generated batches go to **batch-review** like any other (notebook 03).

# %%
from workbench import open_project
from workbench import add_starter_suites

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)
add_starter_suites(project)  # hate, harassment, violence: the labels this taxonomy has

# %%
from curation.suites import expand_project_suites, leakage_report

cases = expand_project_suites(project.root, project.taxonomy)
leaks = leakage_report(cases, project.records.frame(active_only=True))
sum(c.side == "test" for c in cases), sum(c.side == "train" for c in cases), len(leaks)

# %% [markdown]
# The suite cases have not been reviewed in this demo, so the models below are gated on them with the explicit flag `suite_pending=True` (the default gates only on cases reviewers kept).

# %%
from training import TrainSpec, train_model
from training.evaluation import suite_result

# heads: the packaged MiniLM, frozen, with a head per label (a minute or two here). A bag-of-words model
# (recipe="tfidf") cannot learn what the suites ask once groups are named on both signs: try it and see.
spec = TrainSpec(recipe="heads", mix=False, suite_pending=True)
m0 = train_model(project, project.layout.models / "suite-m0", spec)
r0 = suite_result(m0)
r0.functionalities

# %%
# the failing functionalities, each with its worst cases
[f.line() for f in r0.verdict.failures]

# %% [markdown]
# ## The loop, turned until it converges
#
# Each turn: the latest model's failing functionalities (and their contrasts, the passing ones that expect the opposite) become pending batches of **train-side** material — the cases spread evenly over the groups and over the two signs, then copies with hidden words and misspellings on the hateful and the benign side alike — the batches are reviewed, the next model is trained, the suite runs again. The loop stops when the model fails nothing, when nothing is left to generate from, or when a turn improves no functionality.
#
# In a real loop the batches are reviewed in Argilla (`workbench review push-batches DIR`, notebook 03): only an accepted batch enters the next snapshot. This demo accepts them explicitly; who and why are recorded.

# %%
from workbench.turns import accept_generated, run_turns


def train_turn(k):
    return train_model(project, project.layout.models / f"suite-m{k}", spec)


def accept_all(project, made):
    return accept_generated(project, made, reason="notebook 07 demo: train-side suite material", actor="notebook-07")


history = run_turns(project, m0, train=train_turn, review=accept_all, turns=2)
history.stopped, history.best, [(t.index, t.improved) for t in history.turns]

# %%
# what the first turn generated: one batch per failing functionality and contrast
[(b.seed_id, b.stored) for b in history.turns[0].made["batches"]]

# %%
from workbench.panels import suite_figure, turns_figure

turns_figure(history.results())

# %%
history.table()

# %% [markdown]
# Left, the minimum-functionality tests' pass rates; right, the failure rates of the invariance tests (a typo, leetspeak, spacing, another group named in a benign statement, a harmless clause added must not change the decision) and of the directional one (a threat added must not lower `hate`), each with its limit.

# %%
suite_figure({"M0": r0, f"M{len(history.turns)}": history.turns[-1].result})

# %% [markdown]
# The invariance tests need no label, so they also run on real posts: here the model's holdout split (`workbench suite run MODEL --on holdout`; `--on pool` takes the production posts).

# %%
from training.evaluation import perturbations_on

on_holdout = perturbations_on(history.best_model, "holdout")
(1 - on_holdout.functionalities["pass_rate"]).rename("failure rate on holdout posts").round(3)

# %% [markdown]
# Unintended bias: the share of the suite's **benign** cases the model fires on, per group named (a group well above the others is one the model treats as a label by itself).

# %%
import pandas as pd

pd.DataFrame({name: r.by_group()["fpr"] for name, r in history.results().items()})

# %%
# overall test-side pass rate, model by model
[round(x, 3) for x in history.overall().values()]
