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
# # 05 · Retrain and gate
#
# What this is for: the one-click cell. Pick a recipe and a label group, click **Retrain and gate**: snapshot → mix → train → thresholds on calib → holdout → gates → ONNX export, a bar a step; then the gate table per label and **Promote** (enabled only when the gate passed).
#
# Meanwhile in Argilla: answers pulled before this click are in the snapshot it trains on.

# %%
from workbench import open_project

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)
project

# %%
from workbench.panels import RetrainPanel

panel = RetrainPanel(project, recipe="heads", group="safety")
panel

# %%
# the same as clicking the button
model = panel.run()
panel.gate_table

# %%
panel.last_verdict["passed"], panel.last_verdict["best_variant"], panel.seconds

# %%
# one gate row per label of the model
len(panel.gate_table), len(model.labels)
