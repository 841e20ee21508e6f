"""Write the notebooks of notebooks/ from the cell texts below (outputs empty; the notebooks stay thin:
every cell calls the library). Run after editing a cell: python tools/make_notebooks.py"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parents[1] / "notebooks"
SETUP = ("from workbench import open_project\n"
         "project = open_project()  # $WORKBENCH_PROJECT, else build/demo (built on first use)\n"
         "project")

NOTEBOOKS = {
    "00_quickstart": [
        ("md", "# 00 · Quick start\n\nWhat this is for: a first look at the demo project — what is in the store, "
               "how its labels are spread, and the loop the other notebooks walk through "
               "(import → review → generate → review → train → gate → error review).\n\n"
               "Meanwhile in Argilla: nothing yet; `02_seed_review` pushes the first dataset."),
        ("code", SETUP),
        ("code", "import pandas as pd\nstats = project.stats()\n"
                 "pd.Series({k: stats[k] for k in ('snapshot_id', 'n_records', 'n_active', 'n_quarantined')})"),
        ("code", "pd.DataFrame(stats['labels']).T[['positives', 'negatives', 'unknown', 'unknown_rate']]"),
        ("code", "from curation import distribution_figure\n"
                 "distribution = project.class_distribution()\n"
                 "distribution_figure(distribution)"),
    ],
    "01_import_and_explore": [
        ("md", "# 01 · Import and explore\n\nWhat this is for: what an import did — sources, splits, the "
               "distribution report, unknown rates per label and whether calib and holdout look alike.\n\n"
               "Meanwhile in Argilla: nothing; data comes in through `workbench import` or `project.import_file`."),
        ("code", SETUP),
        ("code", "import pandas as pd\nstats = project.stats()\n"
                 "pd.DataFrame({'records': pd.Series(stats['by_source'])})"),
        ("code", "report = project.split_report()\nreport['label_rates']"),
        ("code", "report['calib_vs_holdout']"),
        ("code", "from curation import distribution_figure\n"
                 "distribution_figure(project.class_distribution(), title='Train split: positives per label')"),
    ],
    "02_seed_review": [
        ("md", "# 02 · Seed review\n\nWhat this is for: seeds are reviewed before they generate anything. Push "
               "them to Argilla, let annotators approve or reject them (a rejection needs a reason), pull the "
               "verdicts back: a rejected seed is quarantined with everything it generated.\n\n"
               "Meanwhile in Argilla: open the **seed-review** dataset, answer *verdict* (and *reason*) per seed."),
        ("code", SETUP),
        ("code", "from workbench.panels import ReviewPanel, SeedsPanel\n"
                 "review = ReviewPanel(project)  # finds the running stack ($ARGILLA_API_URL / $ARGILLA_API_KEY)\n"
                 "review.push_seeds()\nreview"),
        ("md", "**Now in Argilla**: answer the seed-review records, then run the cells below."),
        ("code", "review.pull()\nreview.last_result['applied']"),
        ("code", "seeds = SeedsPanel(project)\nseeds"),
        ("code", "seeds.table[['status', 'quarantined', 'reason']]"),
    ],
    "03_batch_review": [
        ("md", "# 03 · Batch review: generate, review a sample, accept or reject\n\nWhat this is for: a seed makes "
               "a batch; a stratified sample of it is reviewed; the batch is accepted or rejected on the sample's "
               "error rate. The story here: a *poisoned* seed calls hateful posts harmless banter. Its batch is "
               "rejected in review and the seed is quarantined, so it poisons nothing.\n\n"
               "Meanwhile in Argilla: open **batch-review**; for each record say whether it is valid and which "
               "labels apply."),
        ("code", SETUP),
        ("code", "project.add_seed('seed-banter', kind='hard_negative', status='approved', target_labels=['hate', "
                 "'offensive'],\n                 text='Just friendly banter between mates, nobody means any of it, "
                 "relax.')\nproject.seeds().set_index('id').loc['seed-banter', ['kind', 'status']]"),
        ("code", "from workbench.generate import generate, make_provider\n"
                 "summaries = generate(project, make_provider(project, 'retrieval'), labels=['hate', 'offensive'], "
                 "n=10, progress=True)\n[(s.seed_id, s.batch_id, s.stored) for s in summaries]"),
        ("code", "from workbench.panels import ReviewPanel, SeedsPanel\nreview = ReviewPanel(project)\n"
                 "review.push_batches()\nreview"),
        ("md", "**Now in Argilla**: review the batch-review sample, then run the cells below."),
        ("code", "review.pull()\nproject.batches()[['id', 'seed_id', 'status']]"),
        ("code", "seeds = SeedsPanel(project)\nseeds.quarantine_rejected()\nseeds"),
        ("code", "banter = project.seeds().set_index('id').loc['seed-banter']\n"
                 "bool(banter['quarantined']), banter['quarantine_reason']"),
    ],
    "04_interference_map": [
        ("md", "# 04 · Interference map\n\nWhat this is for: where labels collide. Colour the map by a label, a "
               "pair, the model's errors, seed, batch, origin, split or review status; draw a lasso (or pick a "
               "cluster, or click a heatmap cell) and tag the selection or send it to review.\n\n"
               "Meanwhile in Argilla: records you send appear in `error-review` or `batch-review`."),
        ("code", SETUP),
        ("code", "from workbench.panels import MapPanel\npanel = MapPanel(project)\npanel"),
        ("code", "panel.interference.head(10)"),
        ("code", "panel.clusters.head(10)"),
        ("code", "# after a lasso or box in the map above (or in code, as here):\n"
                 "frame = panel.map.frame\n"
                 "x0, x1 = frame['x'].quantile([0.25, 0.5])\n"
                 "ids = panel.map.select_box((x0, x1), (frame['y'].min(), frame['y'].max()))\n"
                 "len(panel.selected_ids)"),
        ("code", "panel.tag('map-region-notebook')\nproject.tags('map-region-notebook').head()"),
        ("code", "# every record is on the map, once\n"
                 "sum(len(t.x) for t in panel.map.figure.data), len(project.frame())"),
    ],
    "05_retrain_and_gate": [
        ("md", "# 05 · Retrain and gate\n\nWhat this is for: the one-click cell. Pick a recipe and a label group, "
               "click **Retrain and gate**: snapshot → mix → train → thresholds on calib → holdout → gates → "
               "ONNX export, a bar a step; then the gate table per label and **Promote** (enabled only when the "
               "gate passed).\n\nMeanwhile in Argilla: answers pulled before this click are in the snapshot it "
               "trains on."),
        ("code", SETUP),
        ("code", "from workbench.panels import RetrainPanel\n"
                 "panel = RetrainPanel(project, recipe='heads', group='safety')\npanel"),
        ("code", "# the same as clicking the button\nmodel = panel.run()\npanel.gate_table"),
        ("code", "panel.last_verdict['passed'], panel.last_verdict['best_variant'], panel.seconds"),
        ("code", "# one gate row per label of the model\nlen(panel.gate_table), len(model.labels)"),
    ],
    "06_error_review": [
        ("md", "# 06 · Error review\n\nWhat this is for: what the model gets wrong or is unsure of (train, valid "
               "and calib — never holdout) goes to annotators, worst first; their corrections come back as labels "
               "and the next retrain uses them.\n\nMeanwhile in Argilla: open **error-review**, correct the labels."),
        ("code", SETUP),
        ("code", "from training import TrainSpec, train_model\nfrom curation import utc_now\n"
                 "model = train_model(project, project.root / 'models' / f\"errors-{utc_now()[:19].replace(':', '')}\", "
                 "TrainSpec(recipe='heads', group='safety', mix=False))\nmodel.labels"),
        ("code", "from workbench.panels import ReviewPanel\nreview = ReviewPanel(project, model=model)\n"
                 "review.push_errors()\nreview"),
        ("md", "**Now in Argilla**: correct the error-review records, then run the cells below."),
        ("code", "snapshot_before = project.snapshot_id()\nreview.pull()\nreview.last_result['applied']"),
        ("code", "snapshot_before, project.snapshot_id()"),
    ],
}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = nbf.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbf.v4.new_markdown_cell(t) if kind == "md" else nbf.v4.new_code_cell(t) for kind, t in cells]
        for i, cell in enumerate(nb.cells):  # ids as nbstripout writes them: rewriting changes nothing
            cell["id"] = str(i)
        nbf.write(nb, HERE / f"{name}.ipynb")
        print(HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
