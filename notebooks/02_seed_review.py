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
# # 02 · Seed review
#
# What this is for: seeds are reviewed before they generate anything. Push them to Argilla, let annotators approve or reject them (a rejection needs a reason), pull the verdicts back: a rejected seed is quarantined with everything it generated.
#
# Meanwhile in Argilla: open the **seed-review** dataset, answer *verdict* (and *reason*) per seed.

# %%
from workbench import open_project

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)
project

# %%
from workbench.panels import ReviewPanel, SeedsPanel

review = ReviewPanel(project)  # finds the running stack ($ARGILLA_API_URL / $ARGILLA_API_KEY)
review.push_seeds()
review

# %% [markdown]
# **Now in Argilla**: answer the seed-review records, then run the cells below.

# %%
review.pull()
review.last_result["applied"]

# %%
seeds = SeedsPanel(project)
seeds

# %%
seeds.table[["status", "quarantined", "reason"]]
