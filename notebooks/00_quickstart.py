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
# # 00 · Quick start
#
# What this is for: a first look at the demo project — what is in the store, how its labels are spread, and the loop the other notebooks walk through (import → review → generate → review → train → gate → error review).
#
# Meanwhile in Argilla: nothing yet; `02_seed_review` pushes the first dataset.

# %%
from workbench import open_project

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)
project

# %%
import pandas as pd

stats = project.reports.stats()
pd.Series({k: stats[k] for k in ("snapshot_id", "n_records", "n_active", "n_quarantined")})

# %%
pd.DataFrame(stats["labels"]).T[["positives", "negatives", "unknown", "unknown_rate"]]

# %%
from curation.views import distribution_figure

distribution = project.reports.class_distribution()
distribution_figure(distribution)
