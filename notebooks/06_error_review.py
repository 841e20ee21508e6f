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
# # 06 · Error review
#
# What this is for: what the model gets wrong or is unsure of (train, valid and calib — never holdout) goes to annotators, worst first; their corrections come back as labels and the next retrain uses them.
#
# Meanwhile in Argilla: open **error-review**, correct the labels.

# %%
from workbench import open_project

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)
project

# %%
from training import TrainSpec, train_model
from foundation import utc_now

model = train_model(
    project,
    project.layout.models / f"errors-{utc_now()[:19].replace(':', '')}",
    TrainSpec(recipe="heads", group="safety", mix=False),
)
model.labels

# %%
from workbench.panels import ReviewPanel

review = ReviewPanel(project, model=model)
review.push_errors()
review

# %% [markdown]
# **Now in Argilla**: correct the error-review records, then run the cells below.

# %%
snapshot_before = project.snapshots.id()
review.pull()
review.last_result["applied"]

# %%
snapshot_before, project.snapshots.id()
