"""Does the search index agree with Argilla's database? Rebuild the datasets where it does not.

Argilla commits to its database first and writes the search index second, so a process killed between
the two leaves the index behind. The database is the source of truth: for every dataset we compare the
records (id, status), the responses (id, status, user) and the number of vectors per record, and rebuild
a dataset's index from the database when anything differs. Index rows of datasets that no longer exist
are dropped.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload


async def _database_view(db, dataset_id) -> tuple[set, set, set]:
    from argilla_server.models import Record, Response, Vector

    records = {
        (str(i), getattr(s, "value", s))
        for i, s in (await db.execute(select(Record.id, Record.status).filter_by(dataset_id=dataset_id))).all()
    }
    responses = {
        (str(i), getattr(s, "value", s), str(u))
        for i, s, u in (
            await db.execute(
                select(Response.id, Response.status, Response.user_id)
                .join(Record, Record.id == Response.record_id)
                .where(Record.dataset_id == dataset_id)
            )
        ).all()
    }
    vectors = {
        (str(r), n)
        for r, n in (
            await db.execute(
                select(Vector.record_id, func.count(Vector.id))
                .join(Record, Record.id == Vector.record_id)
                .where(Record.dataset_id == dataset_id)
                .group_by(Vector.record_id)
            )
        ).all()
    }
    return records, responses, vectors


def _index_view(conn, dataset_id: str) -> tuple[set, set, set]:
    records = set(conn.execute("SELECT id, status FROM idx_records WHERE dataset_id = ?", (dataset_id,)).fetchall())
    responses = set(
        conn.execute(
            "SELECT rs.id, rs.status, rs.user_id FROM idx_responses rs JOIN idx_records r ON r.seq = rs.record_seq "
            "WHERE r.dataset_id = ?",
            (dataset_id,),
        ).fetchall()
    )
    vectors = set(
        conn.execute(
            "SELECT r.id, count(*) FROM idx_vectors v JOIN idx_records r ON r.seq = v.record_seq "
            "WHERE r.dataset_id = ? GROUP BY r.id",
            (dataset_id,),
        ).fetchall()
    )
    return records, responses, vectors


async def check_and_repair(rebuild_all: bool = False, repair: bool = True) -> dict:
    """Compare (and optionally rebuild) every dataset; returns a JSON-able report.

    ``rebuild_all`` rebuilds every dataset whatever the comparison says; ``repair`` rebuilds those that
    disagree. With neither, nothing is written. ``orphaned`` lists the datasets the index holds and the
    database does not (a crash between the two writes, a restored database); ``dropped`` those of them
    removed from the index.
    """
    from argilla_server.cli.search_engine.reindex import Reindexer
    from argilla_server.database import AsyncSessionLocal
    from argilla_server.models import Dataset

    from foundation import immediate_transaction

    from .engine import SQLiteSearchEngine
    from .engine.writes import delete_dataset

    engine = SQLiteSearchEngine()
    report = {"datasets": 0, "disagreeing": [], "rebuilt": [], "orphaned": [], "dropped": [], "details": {}}
    try:
        async with AsyncSessionLocal() as db:
            datasets = (
                (
                    await db.execute(
                        select(Dataset).options(
                            selectinload(Dataset.fields),
                            selectinload(Dataset.questions),
                            selectinload(Dataset.metadata_properties),
                            selectinload(Dataset.vectors_settings),
                        )
                    )
                )
                .scalars()
                .all()
            )
            report["datasets"] = len(datasets)
            known = {str(d.id) for d in datasets}
            for dataset in datasets:
                want = await _database_view(db, dataset.id)
                have = _index_view(engine.conn, str(dataset.id))
                differences = {
                    name: {"database_only": len(w - h), "index_only": len(h - w)}
                    for name, w, h in zip(("records", "responses", "vectors"), want, have)
                    if w != h
                }
                if differences:
                    report["disagreeing"].append(str(dataset.id))
                    report["details"][str(dataset.id)] = differences
                if rebuild_all or (repair and differences):
                    await Reindexer.reindex_dataset(db, engine, dataset.id)
                    async for _ in Reindexer.reindex_dataset_records(db, engine, dataset):
                        pass
                    report["rebuilt"].append(str(dataset.id))
            indexed = {
                r[0]
                for r in engine.conn.execute(
                    "SELECT id FROM idx_datasets UNION SELECT DISTINCT dataset_id FROM idx_records"
                )
            }
            report["orphaned"] = sorted(indexed - known)
            for orphan in report["orphaned"]:
                if repair or rebuild_all:
                    with immediate_transaction(engine.conn) as c:
                        delete_dataset(c, orphan)
                    report["dropped"].append(orphan)
    finally:
        await engine.close()
    return report
