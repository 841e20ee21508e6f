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
# # 08 · Production monitoring: drift, feedback and recalibration after the model ships
#
# What this is for: the loop does not end at `promote`. Import what the shipped model scored in production and what moderators and users said about it, watch each label's score distribution and decision rate against calib (alerts at the tier's limits), pick the posts worth a person's time, and re-tune the thresholds on labelled production posts without retraining.
#
# Meanwhile in Argilla: `workbench review push-sample DIR --model M --strategy mixed` sends the picked posts to **sample-review**; `workbench review pull DIR` labels them in the pool. From a terminal or cron: `workbench monitor DIR --model M --recalibrate-if-drift --out M2`.

# %%
from workbench import open_project
from workbench._demo import demo_data_dir

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)

# %%
from training import TrainSpec, train_model

shipped = train_model(project, project.root / "models" / "shipped", TrainSpec(recipe="tfidf", mix=False))

# %% [markdown]
# Two weeks of production: the first week is prompts like the OpenAI moderation set, the second tweets like Davidson's (the style shift). A third of the posts went through a moderators' audit; some were reported by users (a signal, never a label).

# %%
log = demo_data_dir() / "production_log.jsonl"
summary = project.import_production(log, models={shipped.root.name: shipped.labels})
len(project.production()), project.feedback()["type"].value_counts().to_dict()

# %%
from training import monitor, monitor_table

result = monitor(shipped, project.production(), project.feedback(), window="7d")
table = monitor_table(result)
table[table["label"].isin(["hate", "offensive", "harassment"])]

# %%
from workbench.panels import monitor_figure

monitor_figure(result, labels=["hate", "offensive", "harassment"])

# %%
# the alerts of the shifted week, with why
alerts = table[table["alert"] != ""]
sorted(set(alerts["label"])), alerts["window"].nunique()

# %% [markdown]
# Which posts would a reviewer see? `rare` takes the posts scored highest for the labels that rarely fire, `uncertainty` those nearest a threshold, `diverse` spreads over the embedding space (k-centre), `mixed` a third of each.

# %%
import pandas as pd

from training import production_scores, select_for_review

pool = project.production()
scores = production_scores(shipped, pool)
picks = select_for_review(scores, shipped.thresholds, shipped.labels, 30, strategy="rare")
pd.DataFrame({"why": [why for _, why in picks], "text": [pool["text"][i][:80] for i, _ in picks]}).head(10)

# %% [markdown]
# Recalibration from the moderators' audit: new thresholds on the audited posts of the `production_calib` split (half tunes, half checks), weighted to the decision rates of the latest week; the same weights, gated on the original holdout and the check half.

# %%
from training import recalibrate, recalibration_table

recalibrated = recalibrate(
    shipped, project, project.root / "models" / "shipped-recalibrated", source="feedback", overwrite=True
)
recalibration_table(recalibrated).loc[["hate", "offensive"]]

# %%
rec = recalibrated.card.recalibration
rec.retuned, rec.calibration_sets
