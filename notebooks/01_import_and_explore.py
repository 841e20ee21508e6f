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
# # 01 · Import and explore
#
# What this is for: what an import did — sources, splits, the distribution report, unknown rates per label and whether calib and holdout look alike.
#
# Meanwhile in Argilla: nothing; data comes in through `workbench import` or `project.records.import_file`.

# %%
from workbench import open_project

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)
project

# %%
import pandas as pd

stats = project.reports.stats()
pd.DataFrame({"records": pd.Series(stats["by_source"])})

# %%
report = project.reports.split_report()
report["label_rates"]

# %%
report["calib_vs_holdout"]

# %%
from curation.views import distribution_figure

distribution_figure(project.reports.class_distribution(), title="Train split: positives per label")
