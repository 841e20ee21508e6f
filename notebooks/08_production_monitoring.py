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
# # 08 · The production loop: drift → review sample → retrain → compare on the week the model never saw
#
# What this is for: the loop does not end at `promote`. Import what the shipped model scored in production (and what moderators and users said), watch each label against calib, send the posts worth a person's time to review, and let the reviewed posts train the next model — then check it on the *next* week, which no model here has seen.
#
# Everything goes through one front door, `training.production_loop.watch` (the panel's buttons and `workbench watch DIR --model M [--budget N | --retrain --out M2]` call the same).

# %%
from workbench import open_project
from workbench import demo_data_dir

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)

# %%
from training import TrainSpec, train_model

shipped = train_model(project, project.layout.models / "shipped", TrainSpec(recipe="tfidf", mix=False))

# %% [markdown]
# Two weeks of production: week 1 is like the demo's data (Davidson tweets, some OpenAI moderation prompts), week 2 prompts only (the style shift). A moderators' audit labelled some posts; users reported some (a signal, never a label).

# %%
summary = project.production.import_log(
    demo_data_dir() / "production_log.jsonl", models={shipped.root.name: shipped.labels}
)
len(project.production.posts()), project.production.feedback()["type"].value_counts().to_dict()

# %%
from training.production_loop import monitor_table, watch

seen = watch(project, shipped, window="7d")
table = monitor_table(seen.drift)
table[table["label"].isin(["hate", "offensive", "harassment"])]

# %%
from workbench.panels import monitor_figure

monitor_figure(seen.drift, labels=["hate", "offensive", "harassment"])

# %%
# the labels alerting in the latest window, and what the loop suggests
sorted(seen.alerting), seen.next

# %% [markdown]
# The latest week alerts: send a review sample. `mixed` takes a third each of the posts nearest a threshold (`uncertainty`), the highest scored for the rarely firing labels (`rare`) and a spread over the embedding space (`diverse`).

# %%
from workbench.review import SampleReviewLoop, connect

review = SampleReviewLoop(connect())
sampled = watch(project, shipped, window="7d", budget=150, strategy="mixed", review=review)
sampled.sample["selected"], sampled.sample["reasons"]

# %% [markdown]
# **Now in Argilla**: open **sample-review** and label the posts (the shipped model's probabilities are the suggestions), then run the cells below.

# %%
retrained = watch(project, shipped, window="7d", review=review, retrain=True, out=project.layout.models / "retrained")
retrained.labelled, retrained.production["mix"]["posts"]

# %%
import pandas as pd

# the candidate's gate on both slices: the curated holdout and the team's own posts (production_holdout)
pd.DataFrame(retrained.gate["production"]["labels"]).T[["status", "positives", "recall", "precision", "fpr"]]

# %% [markdown]
# The week after the pool (week 3: prompts again, never imported, never reviewed): the shipped model and the retrained one side by side.

# %%
from training.production_loop import compare_on_posts
from training.artifacts import load_model

week3 = pd.read_json(demo_data_dir() / "production_week3.jsonl", lines=True)
candidate = load_model(retrained.candidate)
compared = compare_on_posts(
    {"shipped": shipped, "retrained": candidate},
    week3,
    labels=["hate", "harassment", "violence", "sexual", "self_harm"],
)
compared.pivot(index="label", columns="model", values="ap").round(3)

# %%
import plotly.express as px

px.bar(compared, x="label", y="ap", color="model", barmode="group", title="week 3: average precision per label")

# %%
ap = compared.pivot(index="label", columns="model", values="ap")
round(float(ap.loc["hate", "shipped"]), 3), round(float(ap.loc["hate", "retrained"]), 3)
