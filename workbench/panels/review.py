"""Review: per Argilla dataset, what was pushed and what the annotators did; push and pull buttons;
agreement per label and the records annotators disagree on."""

from __future__ import annotations

import pandas as pd

from curation import Project, WorkbenchError

from ._base import Panel, table_html

__all__ = ["ReviewPanel"]


class ReviewPanel(Panel):
    """State: ``last_status`` (``workbench.review.review_status``) and ``last_result`` (what the last
    push or pull returned). ``client`` defaults to ``workbench.review.connect(home)``: the running
    stack of ``ARGILLA_API_URL`` / ``ARGILLA_API_KEY``, else the default home's."""

    def __init__(self, project: Project, client=None, *, home=None, workspace: str | None = None, model=None):
        import ipywidgets as w

        super().__init__()
        self.project, self.workspace, self.model = project, workspace, model
        self._client, self._home = client, home
        self.buttons = {
            name: w.Button(description=label)
            for name, label in [
                ("push_seeds", "Push seeds"),
                ("push_batches", "Push batches"),
                ("push_errors", "Push errors"),
                ("pull", "Pull answers"),
                ("refresh", "Refresh"),
            ]
        }
        self.buttons["push_errors"].disabled = model is None
        self.buttons["push_errors"].tooltip = "needs a model" if model is None else ""
        for name, b in self.buttons.items():
            b.on_click(lambda _, name=name: self._guarded(getattr(self, name)))
        self.view = w.HTML()
        self.widget = w.VBox([w.HBox(list(self.buttons.values())), self._message, self.view])
        self.last_status: dict | None = None
        self.last_result: dict | None = None

    @property
    def client(self):
        if self._client is None:
            from workbench.review import connect

            self._client = connect(self._home)
        return self._client

    def _did(self, what: str, result: dict) -> dict:
        self.last_result = result
        self.say(f"{what}: " + ", ".join(f"{k} {v}" for k, v in result.items() if isinstance(v, (int, float))))
        self.refresh()
        return result

    def push_seeds(self) -> dict:
        from workbench.review import push_seeds

        return self._did("seeds pushed", push_seeds(self.project, self.client, workspace=self.workspace))

    def push_batches(self) -> dict:
        from workbench.review import push_batches

        return self._did("batches pushed", push_batches(self.project, self.client, workspace=self.workspace))

    def push_errors(self) -> dict:
        from workbench.review import push_errors

        if self.model is None:
            raise WorkbenchError("push errors", expected="a model", got="none", fix="ReviewPanel(..., model=MODEL)")
        return self._did("errors pushed", push_errors(self.project, self.client, self.model, workspace=self.workspace))

    def pull(self) -> dict:
        from workbench.review import pull

        result = pull(self.project, self.client, workspace=self.workspace)
        self.last_result = result
        applied = result.get("applied", {})
        self.say("pulled: " + ", ".join(f"{k} {v}" for k, v in applied.items()) if applied else "pulled: nothing new")
        self.refresh()
        return result

    def refresh(self) -> dict:
        from workbench.review import review_status

        st = review_status(self.project, self.client, workspace=self.workspace)
        self.last_status = st
        parts = []
        counts = pd.DataFrame(
            {
                name: {k: v for k, v in info.items() if isinstance(v, (int, float))}
                for name, info in st.items()
                if name not in ("batches", "annotators", "prescreen")
            }
        ).T
        parts.append(table_html(counts.fillna(0).astype(int) if len(counts) else counts, caption="datasets"))
        for name, info in st.items():
            if name in ("batches", "annotators", "prescreen") or "agreement" not in info:
                continue
            agree = info["agreement"]
            if isinstance(agree, dict) and agree:
                frame = (
                    pd.DataFrame(agree).T
                    if isinstance(next(iter(agree.values())), dict)
                    else pd.DataFrame({"agreement": agree})
                )
                parts.append(table_html(frame, caption=f"{name}: agreement per label"))
            if info.get("conflicts"):
                parts.append(
                    f"<p><b>{name}: annotators disagree on</b> {', '.join(map(str, info['conflicts'][:20]))}"
                    f"{' ...' if len(info['conflicts']) > 20 else ''}</p>"
                )
        batches = pd.Series(st.get("batches", {}), name="status").value_counts()
        parts.append(table_html(batches.to_frame("batches"), caption="batches by status"))
        if st.get("annotators"):
            parts.append(
                table_html(annotator_table(st["annotators"]), caption="annotators (flagged ones count for nothing)")
            )
        self.view.value = "".join(parts)
        return st


def annotator_table(annotators: dict) -> pd.DataFrame:
    """One row per annotator of ``review_status``'s ``annotators``: answers, gold and overlap accuracy with
    their intervals, weight, flag and why."""

    def interval(ci) -> str:
        return f"{ci[0]:.2f}-{ci[1]:.2f}" if ci else ""

    rows = {
        user: {
            "answered": q["answered"],
            "gold answered": q["gold_answered"],
            "gold accuracy": q["gold_accuracy"],
            "gold 95 % CI": interval(q["gold_accuracy_ci"]),
            "overlap accuracy": q["overlap_accuracy"],
            "overlap 95 % CI": interval(q["overlap_accuracy_ci"]),
            "weight": q["weight"],
            "flagged": "yes" if q["flagged"] else "",
            "why": q["reason"] or "",
        }
        for user, q in annotators.items()
    }
    return pd.DataFrame(rows).T
