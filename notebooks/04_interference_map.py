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
# # 04 · Interference map
#
# What this is for: where labels collide. Colour the map by a label, a pair, the model's errors, seed, batch, origin, split or review status; draw a lasso (or pick a cluster, or click a heatmap cell) and tag the selection or send it to review.
#
# Meanwhile in Argilla: records you send appear in `error-review` or `batch-review`.

# %%
from workbench import open_project

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)
project

# %%
from workbench.panels import MapPanel

panel = MapPanel(project)
panel

# %%
panel.interference.head(10)

# %%
panel.clusters.head(10)

# %%
# after a lasso or box in the map above (or in code, as here):
frame = panel.map.frame
x0, x1 = frame["x"].quantile([0.25, 0.5])
ids = panel.map.select_box((x0, x1), (frame["y"].min(), frame["y"].max()))
len(panel.selected_ids)

# %%
panel.tag("map-region-notebook")
project.records.tags("map-region-notebook").head()

# %%
# every record is on the map, once
sum(len(t.x) for t in panel.map.figure.data), len(project.records.frame())
