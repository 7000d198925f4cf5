"""Crons: runs made on a schedule, on a thread or each on a new thread (stateless).

As LangGraph's server: a cron has a ``schedule`` (cron syntax, parsed by ``croniter``; a
sixth field is seconds), a ``timezone`` (IANA; UTC by default), an ``end_time``, an
``enabled`` flag and the run it makes (its ``payload``: input, config, context, metadata,
webhook...). Its ``next_run_date`` is the schedule's next time after its creation (or
after the update that changed its schedule).

:func:`schedule_forever` looks every ``interval`` seconds for the crons that are due
(enabled, ``next_run_date`` passed, ``end_time`` not passed), makes each one's run, then
moves its ``next_run_date`` to the schedule's next time after *now*: a cron whose ticks
were missed while no server ran fires once, not once per missed tick.

In scale-out mode every API process runs the scheduler on the shared table; each tick
still makes exactly one run: the run's id is derived from the cron and the tick
(``uuid5``), and queueing a run id again returns the run already queued; the tick is
then moved on with a compare-and-set on ``next_run_date``, so a process that dies
between the two leaves the cron due, and the next scheduler makes (finds) the same run
and moves it on.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import orjson

from ._assistants import Assistants
from ._errors import BadRequestError, InvalidRequestError, NotFoundError
from ._graphs import check_id
from ._models import CRON_RUN_FIELDS, CronCreate, CronPatch, RunCreate
from ._store import CRONS, Documents, MetadataFilter, SqlOp, metadata_condition, one_page
from ._wire import dumps, now_iso

__all__ = ("Crons", "cron_run_id", "run_request", "schedule_forever")

log = logging.getLogger("scopegraph.server")

_COLUMNS = (
    "cron_id",
    "assistant_id",
    "thread_id",
    "enabled",
    "next_run_date",
    "end_time",
    "metadata",
    "created_at",
    "updated_at",
    "body",
)


_THREAD_KEEPS = (
    "on_run_completed is for stateless crons (POST /runs/crons): a thread cron's runs are "
    "on its thread, which is kept; leave it out"
)


def _croniter() -> Any:
    try:
        import croniter
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise InvalidRequestError(
            "crons need croniter: pip install 'scopegraph[crons]'", code="CronsUnavailable"
        ) from exc
    return croniter


def _zone(timezone: str | None) -> datetime.tzinfo:
    if timezone is None:
        return datetime.UTC
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidRequestError(
            f"Invalid timezone: {timezone!r}. Use IANA timezone format (e.g. 'America/New_York').",
            code="InvalidCron",
        ) from None


def next_date(schedule: str, after: datetime.datetime, timezone: str | None) -> str:
    """The schedule's first time after ``after``, in UTC, as ISO 8601."""
    croniter = _croniter()
    try:
        found = croniter.croniter(schedule, after.astimezone(_zone(timezone)))
        moment: datetime.datetime = found.get_next(datetime.datetime)
    except (ValueError, KeyError, croniter.CroniterError) as exc:
        raise InvalidRequestError(
            f"schedule {schedule!r} is not a cron schedule ({exc}); e.g. '0 9 * * 1-5' "
            "(minute hour day month weekday, and an optional sixth field for seconds)",
            code="InvalidCron",
        ) from exc
    return moment.astimezone(datetime.UTC).isoformat()


def cron_run_id(cron_id: str, tick: str) -> str:
    """The id of the run a cron makes at a tick (the same in every process)."""
    return str(uuid.uuid5(uuid.UUID(cron_id), tick))


def run_request(cron: Mapping[str, Any]) -> RunCreate:
    """The run a cron makes: its payload, its metadata under the payload's, and for a
    stateless cron with ``on_run_completed='keep'`` a thread that is kept."""
    payload = dict(cron["payload"])
    payload["metadata"] = {**cron["metadata"], **(payload.get("metadata") or {})}
    if cron["thread_id"] is None and cron.get("on_run_completed") == "keep":
        payload.setdefault("on_completion", "keep")
    # its config is the cron's, with the user it was made by (which validating would drop)
    return RunCreate.model_validate(payload).model_copy(update={"config": payload.get("config")})


def _iso(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).isoformat()


class Crons:
    """The server's crons (in its store); see the module docstring."""

    def __init__(self, assistants: Assistants, docs: Documents) -> None:
        self.assistants = assistants
        self.docs = docs
        d = docs.dialect
        self._m = d.m
        self._json = d.json
        self._contains = d.contains.format(col="metadata")

    # -- rows ----------------------------------------------------------------------------

    @staticmethod
    def _doc(row: Any) -> dict[str, Any]:
        body = row[-1]
        doc: dict[str, Any] = orjson.loads(bytes(body) if isinstance(body, memoryview) else body)
        doc["enabled"] = bool(row[3])
        doc["next_run_date"] = row[4]
        doc["end_time"] = row[5]
        return doc

    def _write(self, doc: dict[str, Any], *, insert: bool) -> SqlOp[None]:
        m, j = self._m, self._json
        body = {k: v for k, v in doc.items() if k not in ("enabled", "next_run_date", "end_time")}
        values = (
            doc["cron_id"],
            doc["assistant_id"],
            doc["thread_id"],
            int(doc["enabled"]),
            doc["next_run_date"],
            doc["end_time"],
            dumps(doc["metadata"]).decode(),
            doc["created_at"],
            doc["updated_at"],
            dumps(body),
        )
        if insert:
            yield (
                f"INSERT INTO {CRONS} ({', '.join(_COLUMNS)}) VALUES ({m}, {m}, {m}, {m}, {m}, "
                f"{m}, {j}, {m}, {m}, {m})",
                values,
            )
        else:
            yield (
                f"UPDATE {CRONS} SET enabled = {m}, next_run_date = {m}, end_time = {m}, "
                f"metadata = {j}, updated_at = {m}, body = {m} WHERE cron_id = {m}",
                (values[3], values[4], values[5], values[6], values[8], values[9], values[0]),
            )

    def _get(self, cron_id: str) -> SqlOp[dict[str, Any] | None]:
        found = yield (
            f"SELECT {', '.join(_COLUMNS)} FROM {CRONS} WHERE cron_id = {self._m}",
            (cron_id,),
        )
        return self._doc(found.rows[0]) if found.rows else None

    # -- the API -------------------------------------------------------------------------

    async def create(
        self, body: CronCreate, thread_id: str | None, *, user_id: str | None = None
    ) -> dict[str, Any]:
        """A new cron (on ``thread_id``, else stateless); ``user_id``: the identity of
        the custom auth user who made it (its record shows it, as LangGraph's does)."""
        if thread_id is not None and body.on_run_completed is not None:
            raise InvalidRequestError(_THREAD_KEEPS, code="InvalidCron")
        assistant = await self.assistants.get(body.assistant_id)
        now = datetime.datetime.now(datetime.UTC)
        cron_id = str(uuid.uuid4())
        payload = body.model_dump(include=set(CRON_RUN_FIELDS), exclude_none=True)
        payload["assistant_id"] = assistant["assistant_id"]
        config = payload.setdefault("config", {})
        config["configurable"] = {**(config.get("configurable") or {}), "cron_id": cron_id}
        stamp = now.isoformat()
        doc = {
            "cron_id": cron_id,
            "assistant_id": assistant["assistant_id"],
            "thread_id": thread_id,
            "on_run_completed": None if thread_id else body.on_run_completed or "delete",
            "end_time": _iso(body.end_time),
            "schedule": body.schedule,
            "timezone": body.timezone,
            "created_at": stamp,
            "updated_at": stamp,
            "payload": payload,
            "user_id": user_id,
            "next_run_date": next_date(body.schedule, now, body.timezone),
            "metadata": body.metadata or {},
            "enabled": body.enabled,
        }
        await self.docs.op(lambda: self._write(doc, insert=True))
        return doc

    async def get(self, cron_id: str) -> dict[str, Any]:
        cid = check_id(cron_id, "cron_id")
        found = await self.docs.op(lambda: self._get(cid))
        if found is None:
            raise NotFoundError(f"Cron '{cid}' not found")
        return found

    async def update(self, cron_id: str, body: CronPatch) -> dict[str, Any]:
        """LangGraph's cron update: the fields given replace theirs (``metadata`` and
        the run's fields are merged into the current ones); ``end_time: null`` clears it."""
        cid = check_id(cron_id, "cron_id")
        given = body.model_fields_set
        if not given:
            raise BadRequestError("No fields to update")
        if body.schedule is not None or body.timezone is not None:
            _zone(body.timezone)
        now = datetime.datetime.now(datetime.UTC)

        def op() -> SqlOp[dict[str, Any] | None]:
            cron = yield from self._get(cid)
            if cron is None:
                return None
            if body.timezone is not None:
                cron["timezone"] = body.timezone
            if body.schedule is not None:
                cron["schedule"] = body.schedule
            if body.schedule is not None or body.timezone is not None:
                cron["next_run_date"] = next_date(cron["schedule"], now, cron["timezone"])
            if "end_time" in given:
                cron["end_time"] = _iso(body.end_time)
            if body.enabled is not None:
                cron["enabled"] = body.enabled
            if body.on_run_completed is not None:
                if cron["thread_id"] is not None:
                    raise InvalidRequestError(_THREAD_KEEPS, code="InvalidCron")
                cron["on_run_completed"] = body.on_run_completed
            if body.metadata is not None:
                cron["metadata"] = {**cron["metadata"], **body.metadata}
            changes = body.model_dump(include=set(CRON_RUN_FIELDS) & given, exclude_none=True)
            if changes:
                payload = {**cron["payload"], **changes}
                config = dict(payload.get("config") or {})
                config["configurable"] = {**(config.get("configurable") or {}), "cron_id": cid}
                payload["config"] = config
                payload["assistant_id"] = cron["payload"]["assistant_id"]
                cron["payload"] = payload
            cron["updated_at"] = now.isoformat()
            yield from self._write(cron, insert=False)
            return cron

        found = await self.docs.op(op, transaction=True)
        if found is None:
            raise NotFoundError(f"Cron '{cid}' not found")
        return found

    async def delete(self, cron_id: str) -> None:
        cid = check_id(cron_id, "cron_id")

        def op() -> SqlOp[bool]:
            gone = yield f"DELETE FROM {CRONS} WHERE cron_id = {self._m}", (cid,)
            return bool(gone.rowcount)

        if not await self.docs.op(op):
            raise NotFoundError(f"Cron '{cid}' not found")

    async def delete_for_assistant(self, assistant_id: str) -> None:
        """Delete the assistant's crons (the assistant was deleted)."""

        def op() -> SqlOp[None]:
            yield f"DELETE FROM {CRONS} WHERE assistant_id = {self._m}", (assistant_id,)

        await self.docs.op(op)

    async def delete_for_thread(self, thread_id: str) -> None:
        """Delete the thread's crons (the thread is being deleted)."""

        def op() -> SqlOp[None]:
            yield f"DELETE FROM {CRONS} WHERE thread_id = {self._m}", (thread_id,)

        await self.docs.op(op)

    def _where(
        self,
        assistant_id: str | None,
        thread_id: str | None,
        metadata: MetadataFilter | None,
        enabled: bool | None,
    ) -> tuple[str, list[Any]]:
        m = self._m
        where = ["1 = 1"]
        params: list[Any] = []
        aid = None if assistant_id is None else self.assistants.id_of(assistant_id)
        for condition, value in (
            (f"assistant_id = {m}", aid),
            (f"thread_id = {m}", None if thread_id is None else check_id(thread_id, "thread_id")),
            (f"enabled = {m}", None if enabled is None else int(enabled)),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        wanted = metadata_condition(self._contains, metadata)
        if wanted is not None:
            where.append(wanted[0])
            params.extend(wanted[1])
        return " AND ".join(where), params

    async def search(
        self,
        *,
        assistant_id: str | None,
        thread_id: str | None,
        enabled: bool | None,
        metadata: MetadataFilter | None,
        limit: int,
        offset: int,
        sort_by: str | None,
        sort_order: str | None,
        select: list[str] | None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of crons (newest first by default) and the next page's offset."""
        where, params = self._where(assistant_id, thread_id, metadata, enabled)
        order = "ASC" if (sort_order or "desc").lower() == "asc" else "DESC"
        statement = (
            f"SELECT {', '.join(_COLUMNS)} FROM {CRONS} WHERE {where} "
            f"ORDER BY {sort_by or 'created_at'} {order}, cron_id {order} "
            f"LIMIT {self._m} OFFSET {self._m}"
        )
        values = (*params, limit + 1, offset)

        def op() -> SqlOp[list[dict[str, Any]]]:
            found = yield statement, values
            return [self._doc(row) for row in found.rows]

        return one_page(await self.docs.op(op), limit, offset, select)

    async def count(
        self, *, assistant_id: str | None, thread_id: str | None, metadata: MetadataFilter | None
    ) -> int:
        where, params = self._where(assistant_id, thread_id, metadata, None)
        statement = f"SELECT count(*) FROM {CRONS} WHERE {where}"

        def op() -> SqlOp[int]:
            found = yield statement, tuple(params)
            return int(found.rows[0][0])

        return await self.docs.op(op)

    # -- the scheduler -------------------------------------------------------------------

    async def due(self, limit: int = 100) -> list[dict[str, Any]]:
        """The crons that are due now, oldest tick first."""
        now = now_iso()
        m = self._m
        statement = (
            f"SELECT {', '.join(_COLUMNS)} FROM {CRONS} WHERE enabled = 1 AND next_run_date <= {m} "
            f"AND (end_time IS NULL OR end_time >= {m}) ORDER BY next_run_date LIMIT {m}"
        )

        def op() -> SqlOp[list[dict[str, Any]]]:
            found = yield statement, (now, now, limit)
            return [self._doc(row) for row in found.rows]

        return await self.docs.op(op)

    async def advance(self, cron: Mapping[str, Any], tick: str) -> bool:
        """Move the cron's ``next_run_date`` from ``tick`` to the schedule's next time
        after now; False if another process moved it first."""
        following = next_date(
            cron["schedule"], datetime.datetime.now(datetime.UTC), cron["timezone"]
        )
        m = self._m

        def op() -> SqlOp[bool]:
            moved = yield (
                f"UPDATE {CRONS} SET next_run_date = {m} WHERE cron_id = {m} "
                f"AND next_run_date = {m}",
                (following, cron["cron_id"], tick),
            )
            return bool(moved.rowcount)

        return await self.docs.op(op)


async def schedule_forever(
    crons: Crons, fire: Callable[[dict[str, Any], str], Awaitable[None]], interval: float
) -> None:
    """Every ``interval`` seconds, ``fire(cron, tick)`` each due cron (make its run), then
    move its next tick on. A cron whose run cannot be made (its thread is gone, busy with
    ``multitask_strategy='reject'``...) is logged and moved on; a failing store is logged
    and tried again next round."""
    while True:
        try:
            for cron in await crons.due():
                tick = str(cron["next_run_date"])
                try:
                    await fire(cron, tick)
                except Exception as exc:
                    log.warning(
                        "cron %s: its run at %s was not made: %s", cron["cron_id"], tick, exc
                    )
                await crons.advance(cron, tick)
        except Exception as exc:
            log.warning("cron scheduler failed (tried again in %s s): %s", interval, exc)
        await anyio.sleep(interval)
