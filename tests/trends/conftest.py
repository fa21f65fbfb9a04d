"""Small prepared trend data: seven events whose counts are easy to compute by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from models import (
    DEFAULT_DATASET,
    DEMO_DATASET,
    ConflictEvent,
    DataQualityMetric,
    PipelineRun,
    ValidationIssue,
    bump_version,
)

# (date, state, lga, region, actors, crisis type, counts, source, precision, lat, lon, derived, issues)
EVENTS = [
    (
        date(2024, 1, 5),
        "Kano",
        "Kano Municipal",
        "North West",
        ("Bandits", "Police"),
        "Banditry",
        {"total_deaths": 3, "gsa_casualties": 1, "civilian_casualties": 2, "injured": 1, "kidnapped": 0},
        "Daily Post",
        "lga",
        12.0,
        8.5,
        False,
        [],
    ),
    (
        date(2024, 1, 20),
        "Kano",
        "Kano Municipal",
        "North West",
        ("Bandits",),
        "Banditry",
        {"total_deaths": 2, "civilian_casualties": 2, "kidnapped": 5},
        "Punch",
        "ward",
        12.2,
        8.7,
        True,
        [("casualty_arithmetic", "error")],
    ),
    (
        date(2024, 2, 3),
        "Lagos",
        "Ikeja",
        "South West",
        ("Cultists",),
        "Cult Clash",
        {"total_deaths": 1, "civilian_casualties": 1, "injured": 4},
        "Punch",
        "state",
        6.5,
        3.4,
        False,
        [],
    ),
    (
        date(2024, 2, 10),
        "Lagos",
        None,
        "South West",
        ("Police", "Cultists"),
        "Cult Clash",
        {"total_deaths": 0, "injured": 2},
        "Daily Post",
        "none",
        None,
        None,
        False,
        [("required_fields", "error"), ("url_form", "warning")],
    ),
    (
        date(2024, 3, 15),
        "Borno",
        "Maiduguri",
        "North East",
        ("Boko Haram", "Military"),
        "Insurgency",
        {"total_deaths": 10, "gsa_casualties": 4, "civilian_casualties": 6, "displaced": 100},
        "Premium Times",
        "lga",
        11.8,
        13.1,
        True,
        [],
    ),
    (
        date(2024, 3, 16),
        "Borno",
        "Maiduguri",
        "North East",
        ("Boko Haram",),
        "Insurgency",
        {"total_deaths": 5, "civilian_casualties": 5, "kidnapped": 3},
        "Premium Times",
        "lga",
        11.9,
        13.2,
        False,
        [],
    ),
    (
        None,
        "Kano",
        None,
        "North West",
        ("Bandits",),
        "Banditry",
        {},
        "Daily Post",
        "none",
        None,
        None,
        False,
        [("required_fields", "error")],
    ),
]


def insert_events(engine: Engine, dataset: str = DEFAULT_DATASET) -> list[int]:
    """Insert the prepared events into ``dataset``, their issues and two runs' metrics; return the row ids.

    Their public ids are the dataset's name, upper case, and their position from 1 (``NVCD1`` ... ``NVCD7``).
    """
    ids = []
    with Session(engine) as session:
        run = PipelineRun(status="succeeded", trigger="cli", dataset=dataset)
        session.add(run)
        session.flush()
        for n, (
            day,
            state,
            lga,
            region,
            actors,
            crisis,
            counts,
            source,
            precision,
            lat,
            lon,
            derived,
            issues,
        ) in enumerate(EVENTS):
            event = ConflictEvent(
                event_id=f"{dataset.upper()}{n + 1}",
                dataset=dataset,
                fingerprint=f"fp{n}",
                content_hash=f"h{n}",
                event_date=day,
                state=state,
                lga=lga,
                region=region,
                actor1=actors[0],
                actor2=actors[1] if len(actors) > 1 else None,
                crisis_type=crisis,
                source=source,
                geo_precision=precision,
                latitude=lat,
                longitude=lon,
                is_derived=derived,
                error_count=sum(1 for _, severity in issues if severity == "error"),
                warning_count=sum(1 for _, severity in issues if severity == "warning"),
                run_id=run.id,
                **counts,
            )
            session.add(event)
            session.flush()
            ids.append(event.id)
            for rule, severity in issues:
                session.add(
                    ValidationIssue(
                        event_id=event.id,
                        run_id=run.id,
                        rule=rule,
                        severity=severity,
                        field="state",
                        detail=f"{rule} failed",
                    )
                )
        start = datetime(2024, 4, 1, tzinfo=UTC)
        for k, (geo, valid) in enumerate([(0.5, 0.6), (0.7, 0.8)]):
            session.add(
                DataQualityMetric(
                    timestamp=start + timedelta(days=k),
                    metric_type="aggregate",
                    status="healthy",
                    run_id=run.id,
                    events=7,
                    geocoding_success_rate=geo,
                    validation_pass_rate=valid,
                    completeness=0.9,
                )
            )
        session.add(
            DataQualityMetric(
                timestamp=start,
                metric_type="source",
                source="Punch",
                status="warning",
                run_id=run.id,
                events=2,
                geocoding_success_rate=1.0,
                validation_pass_rate=0.5,
            )
        )
        bump_version(session)
        session.commit()
    return ids


def withdraw(engine: Engine, ids: list[int]) -> None:
    """Mark events withdrawn as a snapshot run does (the pipeline's own path: ``load_living``)."""
    with Session(engine) as session:
        run = PipelineRun(status="succeeded", trigger="cli", mode="snapshot")
        session.add(run)
        session.flush()
        stamp = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        session.execute(
            update(ConflictEvent).where(ConflictEvent.id.in_(ids)).values(withdrawn_run_id=run.id, withdrawn_at=stamp)
        )
        bump_version(session)
        session.commit()


def load_living(engine: Engine, nvcd: bool = True, demo: bool = True) -> dict[str, list[str]]:
    """Through the pipeline: 12 generated nvcd events, then a snapshot of 8 of them (withdrawing the rest); 5 demo.

    Return the public ids by kind: ``live`` (nvcd), ``withdrawn`` (nvcd) and ``demo``.
    """
    from pipeline.demo.generate import generate_records
    from pipeline.load import Target
    from pipeline.runner import run_pipeline

    if nvcd:
        records = generate_records(12, seed=21)
        run_pipeline(engine, records, trigger="cli")
        run_pipeline(engine, records[:8], trigger="cli", target=Target(snapshot=True, force=True))
    if demo:
        run_pipeline(engine, generate_records(5, seed=22), trigger="replay", target=Target(dataset=DEMO_DATASET))
    E = ConflictEvent  # noqa: N806 - table alias
    kinds = {"live": E.withdrawn_run_id.is_(None), "withdrawn": E.withdrawn_run_id.is_not(None)}
    with Session(engine) as session:
        found = {
            kind: list(session.scalars(select(E.event_id).where(E.dataset == DEFAULT_DATASET, only).order_by(E.id)))
            for kind, only in kinds.items()
        }
        found["demo"] = list(session.scalars(select(E.event_id).where(E.dataset == DEMO_DATASET).order_by(E.id)))
    return found


@pytest.fixture
def trend_data(engine: Engine) -> list[int]:
    """Load the prepared events into the test database."""
    return insert_events(engine)
