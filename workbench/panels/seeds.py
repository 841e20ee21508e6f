"""Seeds: their status and batch acceptance, quarantine / release with a reason, and what each action
did to the snapshot training reads (its id before and after, records leaving or returning)."""

from __future__ import annotations

import pandas as pd

from curation import Project, WorkbenchError

from ._base import Panel, table_html

__all__ = ["SeedsPanel"]


class SeedsPanel(Panel):
    """State: ``table`` (one row per seed version, with the model's pre-screen flag rate of its hard-negative
    batches when one was measured) and ``last_effect`` (``action``, ``seed``, ``records``,
    ``snapshot_before``, ``snapshot_after``, ``active_before``, ``active_after``)."""

    def __init__(self, project: Project):
        import ipywidgets as w

        super().__init__()
        self.project = project
        self.seed = w.Dropdown(description="seed")
        self.reason = w.Text(placeholder="why (required to quarantine)", description="reason")
        self.quarantine_button = w.Button(description="Quarantine", button_style="danger", icon="ban")
        self.release_button = w.Button(description="Release", icon="undo")
        self.quarantine_button.on_click(lambda _: self._guarded(self.quarantine))
        self.release_button.on_click(lambda _: self._guarded(self.release))
        self.view = w.HTML()
        self.widget = w.VBox(
            [
                self.view,
                w.HBox([self.seed, self.reason]),
                w.HBox([self.quarantine_button, self.release_button]),
                self._message,
            ]
        )
        self.table: pd.DataFrame | None = None
        self.last_effect: dict | None = None
        self.refresh()

    def refresh(self) -> pd.DataFrame:
        seeds = self.project.seeds.frame()
        batches = self.project.batches.frame()
        frame = self.project.records.frame()
        per_seed = batches.groupby("seed_id")["status"].value_counts().unstack(fill_value=0) if len(batches) else None
        # the model's pre-screen of each seed's batches (push-batches with a promoted model): the highest rate
        flags: dict[str, float] = {}
        for b in batches.to_dict(orient="records"):
            rate = (b["summary"].get("prescreen") or {}).get("hard_negative_flag_rate")
            if rate is not None:
                flags[b["seed_id"]] = max(rate, flags.get(b["seed_id"], 0.0))
        rows = []
        for s in seeds.to_dict(orient="records"):
            counts = per_seed.loc[s["id"]].to_dict() if per_seed is not None and s["id"] in per_seed.index else {}
            records = frame[frame["seed_id"] == s["id"]]
            rows.append(
                {
                    "seed": s["id"],
                    "kind": s["kind"],
                    "status": s["status"],
                    "quarantined": bool(s["quarantined"]),
                    "reason": s.get("quarantine_reason") or "",
                    "targets": ", ".join(s["target_labels"])
                    if isinstance(s["target_labels"], list)
                    else str(s["target_labels"]),
                    "batches accepted / pending / rejected": f"{counts.get('accepted', 0)} / "
                    f"{counts.get('pending', 0)} / {counts.get('rejected', 0)}",
                    "records in views": int((records["status"] == "active").sum()),
                    "model flags (hard negatives)": "" if s["id"] not in flags else f"{flags[s['id']]:.0%}",
                }
            )
        self.table = pd.DataFrame(rows).set_index("seed") if rows else pd.DataFrame()
        suspicious = (
            self.table["quarantined"] | self.table.index.isin([k for k, v in flags.items() if v >= 0.2])
            if rows
            else None
        )
        self.view.value = table_html(
            self.table,
            red=suspicious,
            caption=f"{len(rows)} seed versions (red: quarantined, or a hard-negative "
            "batch the model flags at 20 % or more: review it first)",
        )
        self.seed.options = list(self.table.index)
        return self.table

    def _act(self, action: str, fn) -> dict:
        seed = self.seed.value
        if not seed:
            raise WorkbenchError(action, expected="a seed", got="none chosen", fix="pick one in the list")
        before, active0 = self.project.snapshots.id(), int((self.project.records.frame()["status"] == "active").sum())
        n = fn(seed)
        after, active1 = self.project.snapshots.id(), int((self.project.records.frame()["status"] == "active").sum())
        self.last_effect = {
            "action": action,
            "seed": seed,
            "records": n,
            "snapshot_before": before,
            "snapshot_after": after,
            "active_before": active0,
            "active_after": active1,
        }
        moved = active1 - active0
        self.say(
            f"{action} {seed}: {abs(moved)} records {'returned to' if moved > 0 else 'left'} the training "
            f"views; snapshot {before} -> {after}"
        )
        self.refresh()
        self.seed.value = seed
        return self.last_effect

    def quarantine(self) -> dict:
        reason = self.reason.value.strip()
        if not reason:
            raise WorkbenchError("quarantine", expected="a reason", got="an empty one", fix="say why in 'reason'")
        return self._act("quarantined", lambda s: self.project.seeds.quarantine(s, reason=reason))

    def release(self) -> dict:
        return self._act("released", lambda s: self.project.seeds.unquarantine(s, reason=self.reason.value or None))

    def quarantine_rejected(self) -> list[dict]:
        """Quarantine every seed one of whose batches was rejected in review (a bad seed poisons what it
        generates next time too); returns the effects."""
        batches = self.project.batches.frame()
        seeds = self.project.seeds.frame().set_index("id")
        bad = sorted(set(batches.loc[batches["status"] == "rejected", "seed_id"]))
        effects = []
        for sid in bad:
            if not seeds.loc[sid, "quarantined"]:
                self.seed.value = sid
                ids = batches.loc[(batches["seed_id"] == sid) & (batches["status"] == "rejected"), "id"].tolist()
                self.reason.value = f"batch {', '.join(ids)} rejected in review"
                effects.append(self.quarantine())
        if not effects:
            self.say("no seed with a rejected batch left to quarantine")
        return effects
