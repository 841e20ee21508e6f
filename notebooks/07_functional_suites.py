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
from curation import expand_project_suites, leakage_report

cases = expand_project_suites(project.root, project.taxonomy)
leaks = leakage_report(cases, project.frame(active_only=True))
sum(c.side == "test" for c in cases), sum(c.side == "train" for c in cases), len(leaks)

# %% [markdown]
# The suite cases have not been reviewed in this demo, so the models below are gated on them with the explicit flag `suite_pending=True` (the default gates only on cases reviewers kept).

# %%
from training import TrainSpec, train_model

spec = TrainSpec(recipe="tfidf", mix=False, suite_pending=True)
m0 = train_model(project, project.root / "models" / "suite-m0", spec)
r0 = m0.run_suite()
r0.functionalities

# %%
# the failing functionalities, each with its worst cases
[f.line() for f in r0.verdict.failures]

# %%
from workbench.generate import generate_from_suite

made = generate_from_suite(project, m0)
[(b.seed_id, b.stored) for b in made["batches"]]

# %% [markdown]
# In a real loop these batches are reviewed in Argilla (`workbench review push-batches DIR`, notebook 03): only an accepted batch enters the next snapshot. This demo accepts them explicitly; who and why are recorded.

# %%
for b in made["batches"]:
    project.accept_batch(b.batch_id, reason="notebook 07 demo: train-side suite material", actor="notebook-07")
m1 = train_model(project, project.root / "models" / "suite-m1", spec)
r1 = m1.run_suite()

# %%
from workbench.panels import suite_comparison, suite_figure

suite_figure({"M0": r0, "M1": r1})

# %%
table = suite_comparison({"M0": r0, "M1": r1})
table

# %%
# overall test-side pass rate before and after the loop turn
round(float(r0.cases["passed"].mean()), 3), round(float(r1.cases["passed"].mean()), 3)
