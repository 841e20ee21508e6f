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
# # 03 · Batch review: generate, review a sample, accept or reject
#
# What this is for: a seed makes a batch; a stratified sample of it is reviewed; a sampling plan accepts the batch only when the sample shows its error rate is below the limit, rejects it, or asks for N more reviews. The story here: a *poisoned* seed calls hateful posts harmless banter. Its batch is rejected in review and the seed is quarantined, so it poisons nothing.
#
# Meanwhile in Argilla: open **batch-review**; for each record say whether it is valid and which labels apply.

# %%
from workbench import open_project

project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)
project

# %%
project.seeds.add(
    "seed-banter",
    kind="hard_negative",
    status="approved",
    target_labels=["hate", "offensive"],
    text="Just friendly banter between mates, nobody means any of it, relax.",
)
project.seeds.frame().set_index("id").loc["seed-banter", ["kind", "status"]]

# %%
from workbench.generate import generate, make_provider

summaries = generate(project, make_provider(project, "retrieval"), labels=["hate", "offensive"], n=10, progress=True)
[(s.seed_id, s.batch_id, s.stored) for s in summaries]

# %%
from workbench.panels import ReviewPanel, SeedsPanel

review = ReviewPanel(project)
review.push_batches()
review

# %% [markdown]
# **Now in Argilla**: review the batch-review sample, then run the cells below.

# %%
review.pull()
project.batches.frame()[["id", "seed_id", "status"]]

# %%
seeds = SeedsPanel(project)
seeds.quarantine_rejected()
seeds

# %%
banter = project.seeds.frame().set_index("id").loc["seed-banter"]
bool(banter["quarantined"]), banter["quarantine_reason"]
