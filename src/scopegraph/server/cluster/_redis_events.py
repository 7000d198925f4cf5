"""Run events in Redis Streams: the building block of multi-process event streams.

Several API processes and workers share a run's events through Redis: the process that
executes a run publishes its events, any process follows them and serves them as SSE,
and a client that reconnects with ``Last-Event-ID`` (to any process) gets exactly the
events it missed. The scale-out server (:mod:`scopegraph.server._cluster`) publishes
through :class:`RedisEventLog` from its workers and follows through a
:class:`FollowHub` in each API process.

Layout: one stream per run, key ``scopegraph:run:<run_id>:events`` (the prefix is
configurable). Each entry has the fields ``event`` (the SSE event name), ``data`` (the
ready-made SSE data, bytes) and, on the run's last entry only, ``end``.

Ids: every entry is appended by one Lua script (:data:`_PUBLISH`, atomic: XADD with
``MAXLEN``, then ``PEXPIRE``) that gives it the id ``<epoch>-<n>``, the SSE ``id:``:

- ``n`` numbers the entries of the stream 1, 2, 3, ... without a hole, so a reader
  knows the id it must see next, and notices the events it cannot get any more
  (trimmed by ``maxlen`` while it was behind): :class:`EventsLostError` instead of a
  silent gap;
- ``epoch`` is the same for every entry of the stream: the Redis server's clock, in
  microseconds, when the stream was created. A stream that was lost (its TTL passed,
  or Redis restarted without persistence) and created again by later events has
  another epoch, so its entries are never taken for the continuation of the old one.

The ids do not tell when an event happened; they only order the events of one run.
A reader that joins with a ``Last-Event-ID`` gets exactly the entries after it, read
with ``XREAD BLOCK`` from that id: no gap, no duplicate, whichever process it asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import socket
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Self

import anyio
import anyio.to_thread

from ... import ScopegraphError
from ..._backend import running_on_asyncio  # private: the sanctioned home of backend detection

if TYPE_CHECKING:
    import redis
    import redis.asyncio

log = logging.getLogger("scopegraph.events")

__all__ = (
    "DEFAULT_MAXLEN",
    "DEFAULT_TTL",
    "EventLogConnectionError",
    "EventLogError",
    "EventsLostError",
    "FollowHub",
    "RedisEventLog",
)

DEFAULT_MAXLEN: Final = 10_000
DEFAULT_TTL: Final = 3600.0
_START: Final = "0-0"
_MAX_ID_PART: Final = 2**64 - 1
_ID = re.compile(r"(\d{1,20})-(\d{1,20})", re.ASCII)

# Appends events to a run's stream with the next ids (see the module docstring), trims
# the stream and refreshes its TTL, atomically (a script runs alone). Refuses to append
# after the run's last entry (the one with the field 'end').
# KEYS[1]: the stream. ARGV: [1] '~' or '=' (approximate or exact trimming), [2] maxlen,
# [3] TTL in milliseconds, [4] '1' if the last event given is the run's last entry, then
# [5], [6], ...: event, data of each event, in order. Returns the id of the last one.
_PUBLISH: Final = """
local key = KEYS[1]
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
local prefix, n
if last then
  local fields = last[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'end' then
      return redis.error_reply('ENDED the event stream has ended')
    end
  end
  local dash = string.find(last[1], '-', 1, true)
  prefix = string.sub(last[1], 1, dash)
  n = tonumber(string.sub(last[1], dash + 1))
else
  local now = redis.call('TIME')
  prefix = now[1] .. string.format('%06d', tonumber(now[2])) .. '-'
  n = 0
end
local id
for i = 5, #ARGV, 2 do
  n = n + 1
  id = prefix .. string.format('%.0f', n)
  if i + 1 == #ARGV and ARGV[4] == '1' then
    redis.call('XADD', key, 'MAXLEN', ARGV[1], ARGV[2], id,
               'event', ARGV[i], 'data', ARGV[i + 1], 'end', '1')
  else
    redis.call('XADD', key, 'MAXLEN', ARGV[1], ARGV[2], id, 'event', ARGV[i], 'data', ARGV[i + 1])
  end
end
redis.call('PEXPIRE', key, ARGV[3])
return id
"""


# Wakes a FollowHub's blocked XREAD: one entry in the hub's own stream, expiring.
_WAKE: Final = """
redis.call('XADD', KEYS[1], 'MAXLEN', '1', '*', 'w', '1')
redis.call('PEXPIRE', KEYS[1], 60000)
"""


class EventLogError(ScopegraphError):
    """An operation of the Redis event log failed."""


class EventLogConnectionError(EventLogError):
    """Redis cannot be reached, or the connection broke; the message names what to check."""


class EventsLostError(EventLogError):
    """Events a reader has not seen are no longer in Redis.

    They were trimmed (``maxlen``) while the reader was behind, or the whole stream is
    gone (its TTL passed, or Redis restarted without persistence). The reader cannot
    continue without a gap; it should start over from the run's state.
    """


class _EndedError(EventLogError):
    """The publish script refused to append after the run's last entry."""


def _parse_id(stream_id: str) -> tuple[int, int]:
    match = _ID.fullmatch(stream_id)
    if match is None:
        raise ValueError(f"not a stream id: {stream_id!r}")
    ms, n = int(match[1]), int(match[2])
    if ms > _MAX_ID_PART or n > _MAX_ID_PART:
        raise ValueError(f"not a stream id: {stream_id!r}")
    return ms, n


def _start(after: str | None) -> tuple[str, int | None]:
    """(cursor, the number of the entry expected next, if the cursor is an entry's id)."""
    if after is None or after.strip() in ("", "0", _START):
        return _START, None
    try:
        ms, n = _parse_id(after.strip())
    except ValueError:
        raise ValueError(
            f"invalid Last-Event-ID {after!r}: expected the id of an event of this stream, "
            "'<epoch>-<number>' (e.g. '1718000000123456-42')"
        ) from None
    return f"{ms}-{n}", n + 1


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _os_error(exc: BaseException) -> OSError | None:
    """The operating system's error behind a redis-py error, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _streams(reply: Any) -> list[tuple[Any, Any]]:
    """(key, entries) of each stream of an XREAD reply (RESP2: a list; RESP3: a dict)."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return list(reply.items())
    return [(key, entries) for key, entries in reply]


def _entries(reply: Any) -> list[tuple[str, Mapping[bytes, bytes]]]:
    """The entries of an XREAD reply for one stream (RESP2: a list; RESP3: a dict)."""
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else [entries for _, entries in reply]
    return [(_text(sid), fields) for entries in streams for sid, fields in entries]


class RedisEventLog:
    """Run events in Redis Streams, shared by processes; see the module docstring.

    Args:
        url: the Redis URL, ``redis://[[user]:password@]host[:port][/db]``,
            ``rediss://...`` (TLS) or ``unix:///path/to/socket?db=0``.
        maxlen: the most entries a run's stream keeps (``XADD MAXLEN``); older ones are
            trimmed, and a reader that was behind by more gets :class:`EventsLostError`.
        approximate: trim with ``MAXLEN ~`` (the default: cheaper, Redis removes whole
            nodes, so a stream may keep up to about ``stream-node-max-entries``, 100 by
            default, more than ``maxlen``), or exactly (``MAXLEN =``).
        ttl: seconds a run's stream is kept after its last event (each publish refreshes
            the stream's TTL).
        connect_timeout: seconds to wait for a connection to Redis.
        socket_timeout: seconds to wait for any reply; a blocking read waits at most a
            second less than this.
        thread_poll_ms: under trio, the longest a blocking read waits in a worker thread
            before the task can notice a cancellation (see below).
        thread_readers: under trio, the most followers whose blocking reads run in
            worker threads at once; more wait their turn (each turn lasts at most
            ``thread_poll_ms``).
        prefix: the first part of the stream keys.
        max_connections: the most connections to Redis the log opens (each blocked
            follower holds one); Redis's own ``maxclients`` must allow them.

    Backends: on asyncio the log uses redis-py's asyncio client (bound to the event loop
    that first uses it). redis-py's asyncio client does not work under trio, so there
    the log runs the sync client's calls in worker threads (``anyio.to_thread``); a
    blocking read in a thread cannot be interrupted, so it blocks for at most
    ``thread_poll_ms`` at a time, and a cancelled follow returns once that read ends.

    A publish is never retried: when the connection breaks during one, the event may or
    may not have been stored, and :class:`EventLogConnectionError` says so. A follow
    that has read from Redis once rides out a broken connection (e.g. Redis
    restarting) for up to ``reconnect_timeout`` seconds: reading again is harmless.

    Every blocked follower holds one Redis connection.
    """

    def __init__(
        self,
        url: str,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        approximate: bool = True,
        ttl: float = DEFAULT_TTL,
        connect_timeout: float = 5.0,
        socket_timeout: float = 10.0,
        reconnect_timeout: float = 10.0,
        thread_poll_ms: int = 100,
        thread_readers: int = 64,
        prefix: str = "scopegraph",
        max_connections: int = 10_000,
    ) -> None:
        try:
            import redis
            import redis.asyncio
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImportError(
                "RedisEventLog needs redis-py: pip install 'scopegraph[redis]'"
            ) from exc
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, got {maxlen}")
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        if socket_timeout < 2:
            raise ValueError(f"socket_timeout must be at least 2 seconds, got {socket_timeout}")
        if thread_poll_ms < 1:
            raise ValueError(f"thread_poll_ms must be at least 1, got {thread_poll_ms}")
        self.maxlen = maxlen
        self.approximate = approximate
        self.ttl = ttl
        self.prefix = prefix
        self._url = url
        self._connect_timeout = connect_timeout
        self._socket_timeout = socket_timeout
        self._reconnect_timeout = reconnect_timeout
        self._thread_poll_ms = thread_poll_ms
        self._thread_readers = thread_readers
        self._max_connections = max_connections
        self._errors: tuple[type[Exception], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        )
        self._auth_error: type[Exception] = redis.exceptions.AuthenticationError
        self._response_error: type[Exception] = redis.exceptions.ResponseError
        try:
            self._sync: redis.Redis = redis.Redis.from_url(url, **self._client_options(False))
        except ValueError as exc:
            raise ValueError(
                f"malformed Redis URL: {exc}; write it as redis://host:port/db, "
                "rediss://host:port/db or unix:///path/to/socket"
            ) from exc
        self._async: redis.asyncio.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._readers: anyio.CapacityLimiter | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<RedisEventLog {self._target()}>"

    def stream_key(self, run_id: str) -> str:
        """The key of ``run_id``'s stream."""
        return f"{self.prefix}:run:{run_id}:events"

    # -- connecting ----------------------------------------------------------------------

    def _client_options(self, on_asyncio: bool) -> dict[str, Any]:
        from redis.backoff import NoBackoff

        retry: Any
        if on_asyncio:
            from redis.asyncio.retry import Retry as AsyncRetry

            retry = AsyncRetry(NoBackoff(), 0)
        else:
            from redis.retry import Retry

            retry = Retry(NoBackoff(), 0)
        return {
            # Our own code decides what to retry: never a publish (it could land twice).
            "retry": retry,
            "socket_connect_timeout": self._connect_timeout,
            "socket_timeout": self._socket_timeout,
            "protocol": 2,
            "client_name": "scopegraph-events",
            # Every blocked follower holds a connection (redis-py's default is 100).
            "max_connections": self._max_connections,
        }

    def _target(self) -> str:
        kwargs = self._sync.connection_pool.connection_kwargs
        db = kwargs.get("db", 0)
        if kwargs.get("path"):
            return f"{kwargs['path']} (db {db})"
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)} (db {db})"

    def _async_client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._async is not None:
            if self._loop is not loop:
                raise EventLogError(
                    "this RedisEventLog's asyncio connections belong to another event loop; "
                    "create one log per event loop"
                )
            return self._async
        import redis.asyncio

        self._async = redis.asyncio.Redis.from_url(self._url, **self._client_options(True))
        self._loop = loop
        return self._async

    def _connection_error(self, exc: Exception, consequence: str = "") -> EventLogConnectionError:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        lowered = message.lower()
        target = self._target()
        if isinstance(exc, self._auth_error) or "noauth" in lowered or "wrongpass" in lowered:
            return EventLogConnectionError(
                f"cannot use Redis at {target}: authentication failed ({message}); check the "
                "user name and password in the Redis URL (redis://user:password@host:port/db)"
            )
        if "connecting to" not in lowered and "timeout connecting" not in lowered:
            return EventLogConnectionError(
                f"lost the connection to Redis at {target}: {message}{consequence}"
            )
        cause = _os_error(exc)
        what, fix = message, "check the Redis URL, and that redis-server is running there"
        if isinstance(cause, ConnectionRefusedError) or "refused" in lowered:
            what = "connection refused"
            fix = (
                "check the host and port in the Redis URL, and that redis-server is running "
                "and listening there"
            )
        elif isinstance(cause, TimeoutError) or "timeout" in lowered or "timed out" in lowered:
            what = f"no answer within {self._connect_timeout:g}s"
            fix = (
                "check the host and port in the Redis URL and the network in between; raise "
                "connect_timeout if the server is slow to answer"
            )
        elif isinstance(cause, socket.gaierror) or "name or service not known" in lowered:
            what, fix = "unknown host name", "check the host in the Redis URL"
        elif isinstance(cause, FileNotFoundError) or "no such file" in lowered:
            what = "no such socket"
            fix = "check the socket path in the Redis URL, and that redis-server is running"
        return EventLogConnectionError(f"cannot connect to Redis at {target}: {what}; {fix}")

    def _check_open(self) -> None:
        if self._closed:
            raise EventLogError("this RedisEventLog is closed; create a new one")

    async def _command(
        self, *args: Any, limiter: anyio.CapacityLimiter | None = None, consequence: str = ""
    ) -> Any:
        """Run one Redis command on the asyncio client, or on the sync one in a thread."""
        self._check_open()
        try:
            if running_on_asyncio():
                return await self._async_client().execute_command(*args)  # type: ignore[no-untyped-call]
            call = functools.partial(self._sync.execute_command, *args)
            return await anyio.to_thread.run_sync(call, limiter=limiter)
        except self._errors as exc:
            if self._closed:
                raise EventLogError("this RedisEventLog was closed during the operation") from exc
            raise self._connection_error(exc, consequence) from exc
        except self._response_error as exc:
            if str(exc).startswith("ENDED"):
                raise _EndedError(str(exc)) from exc
            raise EventLogError(f"Redis refused {args[0]}: {exc}") from exc

    async def ping(self) -> None:
        """Check that Redis answers; raises :class:`EventLogConnectionError` if not."""
        await self._command("PING")

    # -- publishing ----------------------------------------------------------------------

    async def publish(self, run_id: str, event: str, data: bytes) -> str:
        """Append an event to ``run_id``'s stream; return its id (the SSE ``id:``).

        Trims the stream to about ``maxlen`` entries and sets its TTL to ``ttl``.
        Raises :class:`EventLogError` after :meth:`end`.
        """
        return await self._append(run_id, event, data, final=False)

    async def end(self, run_id: str, event: str = "end", data: bytes = b"null") -> str:
        """Append the run's last event (``end`` by default, or e.g. an ``error``); return
        its id. Followers get it, then their follow returns; nothing can be published
        after it."""
        return await self._append(run_id, event, data, final=True)

    def _publish_args(
        self, run_id: str, events: Sequence[tuple[str, bytes]], final: bool
    ) -> list[Any]:
        args: list[Any] = ["EVAL", _PUBLISH, 1, self.stream_key(run_id)]
        args += ["~" if self.approximate else "=", self.maxlen, max(1, round(self.ttl * 1000))]
        args.append("1" if final else "0")
        for event, data in events:
            if not isinstance(data, bytes):
                raise TypeError(f"data must be bytes, got {type(data).__name__}")
            args += [event, data]
        return args

    async def _append(self, run_id: str, event: str, data: bytes, *, final: bool) -> str:
        try:
            stream_id = await self._command(
                *self._publish_args(run_id, [(event, data)], final),
                consequence="; the event may or may not have been stored",
            )
        except _EndedError as exc:
            raise EventLogError(
                f"the events of run {run_id} have ended: nothing can be published after end()"
            ) from exc
        return _text(stream_id)

    async def publish_batch(
        self, batch: Mapping[str, Sequence[tuple[str, bytes]]]
    ) -> dict[str, str | None]:
        """Append the events of several runs, in one round trip (a pipeline of one
        script call per run, each atomic); ``{run_id: id of its last event}``, None for
        a run whose events have ended (nothing was appended to it).

        Raises :class:`EventLogConnectionError` if Redis cannot be reached (the events
        may or may not have been stored)."""
        self._check_open()
        commands = [self._publish_args(run_id, events, False) for run_id, events in batch.items()]
        try:
            if running_on_asyncio():
                pipe = self._async_client().pipeline(transaction=False)
                for command in commands:
                    pipe.execute_command(*command)
                results = await pipe.execute(raise_on_error=False)
            else:

                def send() -> list[Any]:
                    pipe = self._sync.pipeline(transaction=False)
                    for command in commands:
                        pipe.execute_command(*command)  # type: ignore[no-untyped-call]
                    return pipe.execute(raise_on_error=False)

                results = await anyio.to_thread.run_sync(send)
        except self._errors as exc:
            raise self._connection_error(
                exc, "; the events may or may not have been stored"
            ) from exc
        out: dict[str, str | None] = {}
        for run_id, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                if str(result).startswith("ENDED"):
                    out[run_id] = None
                    continue
                raise EventLogError(f"Redis refused the events of run {run_id}: {result}")
            out[run_id] = _text(result)
        return out

    # -- following -----------------------------------------------------------------------

    async def last_id(self, run_id: str) -> str | None:
        """The id of the newest event of ``run_id``'s stream, or None if it has none."""
        last = await self._command("XREVRANGE", self.stream_key(run_id), "+", "-", "COUNT", 1)
        return _text(last[0][0]) if last else None

    async def follow_batches(
        self,
        run_id: str,
        after: str | None = None,
        *,
        block_ms: int = 5000,
        count: int = 100,
        until: Callable[[], Awaitable[bool]] | None = None,
        via: FollowHub | None = None,
    ) -> AsyncGenerator[list[tuple[str, str, bytes]], None]:
        """``(id, event, data)`` of ``run_id``'s events, in order, until its last one; a
        list of those that came together (one read) at a time.

        ``after``: the id of the last event the reader has (a ``Last-Event-ID``): the
        events after it, exactly, or :class:`EventsLostError` if some of them are gone.
        ``None`` (or ``"0"``): from the oldest event the stream keeps. A follow waits for
        a stream that does not exist yet (the run has published nothing) unless
        ``after`` names one of its events; bound the wait with a timeout if needed.

        Waits with ``XREAD BLOCK`` for at most ``block_ms`` at a time, then checks that
        the stream is still there (an expired stream raises :class:`EventsLostError`).
        ``count``: the most events read at once. ``until``: called after each wait of
        ``block_ms`` that brought nothing; the follow returns (without the last event)
        when it returns True, e.g. when the run turns out to have ended without one.
        ``via``: a running :class:`FollowHub` that reads this stream together with the
        process's other followed streams (one blocking read for all of them) instead of
        on a connection of its own. Use it as ``async with
        contextlib.aclosing(log.follow(...)) as events``; stopping or cancelling it
        leaves nothing behind.
        """
        if block_ms < 1:
            raise ValueError(f"block_ms must be at least 1, got {block_ms}")
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        key = self.stream_key(run_id)
        cursor, expect = _start(after)
        epoch = _parse_id(cursor)[0] if expect is not None else None
        reader = _Reader(self)
        if expect is not None:
            # A cursor past the stream's last entry (of the same stream) is clamped to
            # that entry: the reader gets what comes next, not a gap it never had.
            last = await reader.call("XREVRANGE", key, "+", "-", "COUNT", 1)
            if last:
                last_id = _text(last[0][0])
                last_epoch, last_n = _parse_id(last_id)
                if last_epoch == epoch and (last_epoch, last_n) < _parse_id(cursor):
                    cursor, expect = last_id, last_n + 1
        sub = via.subscribe(key, cursor) if via is not None else None
        inner = self._follow(
            run_id, key, cursor, expect, epoch, reader, sub, via, block_ms, count, until
        )
        try:
            async with contextlib.aclosing(inner):
                async for batch in inner:
                    yield batch
        finally:
            if sub is not None and via is not None:
                via.unsubscribe(sub)

    async def _follow(
        self,
        run_id: str,
        key: str,
        cursor: str,
        expect: int | None,
        epoch: int | None,
        reader: _Reader,
        sub: _Subscription | None,
        via: FollowHub | None,
        block_ms: int,
        count: int,
        until: Callable[[], Awaitable[bool]] | None,
    ) -> AsyncGenerator[list[tuple[str, str, bytes]], None]:
        look = True
        while True:
            if look:
                # Before waiting (on joining, then after every block_ms without news or a
                # reconnection), look at the stream's last entry: is the stream still the
                # one the cursor belongs to, and did it end already?
                last = await reader.call("XREVRANGE", key, "+", "-", "COUNT", 1)
                if expect is not None:
                    if not last:
                        raise self._lost(run_id, cursor, "its stream does not exist any more")
                    if _parse_id(_text(last[0][0]))[0] != epoch:
                        raise self._lost(run_id, cursor, "its stream was lost and started again")
                ended = bool(last) and b"end" in last[0][1]
                if ended and _parse_id(_text(last[0][0])) <= _parse_id(cursor):
                    return
                look = False
            entries: Sequence[tuple[str, Mapping[bytes, bytes]]]
            if sub is not None and via is not None:
                entries = await via.wait(sub, block_ms)
                reconnected = sub.reconnected
                sub.reconnected = False
            else:
                entries = await reader.wait(key, cursor, block_ms, count)
                reconnected = reader.reconnected
            if not entries:
                if until is not None and not reconnected and await until():
                    return
                look = True
                continue
            batch: list[tuple[str, str, bytes]] = []
            for stream_id, fields in entries:
                this_epoch, n = _parse_id(stream_id)
                if expect is not None and this_epoch != epoch:
                    raise self._lost(run_id, cursor, "its stream was lost and started again")
                if expect is not None and n != expect:
                    raise EventsLostError(
                        f"events of run {run_id} after {cursor} are gone: the next one kept "
                        f"is {stream_id}, number {n}, but the reader needs number {expect}; "
                        f"they were trimmed (maxlen={self.maxlen}) while the reader was behind"
                    )
                cursor, epoch, expect = stream_id, this_epoch, n + 1
                batch.append((stream_id, _text(fields[b"event"]), fields[b"data"]))
                if b"end" in fields:
                    yield batch
                    return
            yield batch

    async def follow(
        self,
        run_id: str,
        after: str | None = None,
        *,
        block_ms: int = 5000,
        count: int = 100,
        until: Callable[[], Awaitable[bool]] | None = None,
        via: FollowHub | None = None,
    ) -> AsyncGenerator[tuple[str, str, bytes], None]:
        """:meth:`follow_batches`, one event at a time."""
        batches = self.follow_batches(
            run_id, after, block_ms=block_ms, count=count, until=until, via=via
        )
        async with contextlib.aclosing(batches):
            async for batch in batches:
                for entry in batch:
                    yield entry

    def _lost(self, run_id: str, cursor: str, what: str) -> EventsLostError:
        return EventsLostError(
            f"the events of run {run_id} after {cursor} are gone: {what} (key "
            f"{self.stream_key(run_id)!r}; its TTL of {self.ttl:g}s passed, or Redis "
            "restarted without persistence)"
        )

    # -- closing -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections; the log is unusable afterwards."""
        self._closed = True
        client, self._async = self._async, None
        if client is not None and running_on_asyncio() and self._loop is asyncio.get_running_loop():
            await client.aclose()
        # An asyncio client of another event loop (or seen from trio) cannot be closed
        # here: its connections close when it is garbage-collected.
        await anyio.to_thread.run_sync(self._sync.close)

    async def __aenter__(self) -> Self:
        await self.ping()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Reader:
    """The Redis calls of one follow. Once it has read from Redis, it rides out a broken
    connection: it waits (up to ``reconnect_timeout``) until Redis answers again."""

    def __init__(self, log: RedisEventLog) -> None:
        self.log = log
        self.connected = False
        self.reconnected = False

    async def call(
        self, *args: Any, limiter: anyio.CapacityLimiter | None = None, retry: bool = True
    ) -> Any:
        """Run a command; after a reconnection, run it again, or return None if not
        ``retry`` (a blocking read: the caller looks at the stream afresh instead)."""
        try:
            result = await self.log._command(*args, limiter=limiter)
        except EventLogConnectionError:
            if not self.connected:
                raise
            await self._reconnect()
            if not retry:
                return None
            result = await self.log._command(*args, limiter=limiter)
        self.connected = True
        return result

    async def _reconnect(self) -> None:
        delay = 0.05
        deadline = anyio.current_time() + self.log._reconnect_timeout
        while True:
            try:
                await self.log._command("PING")
            except EventLogConnectionError:
                if anyio.current_time() + delay > deadline:
                    raise
                await anyio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            self.reconnected = True
            return

    async def wait(
        self, key: str, cursor: str, block_ms: int, count: int
    ) -> Sequence[tuple[str, Mapping[bytes, bytes]]]:
        """The entries after ``cursor``, waiting up to ``block_ms`` for one to come; none
        at once after a reconnection."""
        log = self.log
        self.reconnected = False
        if running_on_asyncio():
            block = min(block_ms, round(log._socket_timeout * 1000) - 1000)
            reply = await self.call(
                "XREAD", "COUNT", count, "BLOCK", block, "STREAMS", key, cursor, retry=False
            )
            return _entries(reply)
        # A blocking read in a worker thread cannot be interrupted: short reads, so that a
        # cancellation is noticed within thread_poll_ms.
        if log._readers is None:
            log._readers = anyio.CapacityLimiter(log._thread_readers)
        deadline = anyio.current_time() + block_ms / 1000
        while True:
            remaining = round((deadline - anyio.current_time()) * 1000)
            block = max(1, min(remaining, log._thread_poll_ms))  # BLOCK 0 would be forever
            reply = await self.call(
                "XREAD",
                "COUNT",
                count,
                "BLOCK",
                block,
                "STREAMS",
                key,
                cursor,
                limiter=log._readers,
                retry=False,
            )
            entries = _entries(reply)
            if entries or remaining <= block or self.reconnected:
                return entries


class _Subscription:
    """One stream followed through a :class:`FollowHub`."""

    __slots__ = ("cursor", "entries", "key", "ready", "reconnected")

    def __init__(self, key: str, cursor: str) -> None:
        self.key = key
        self.cursor = cursor
        self.entries: list[tuple[str, Mapping[bytes, bytes]]] = []
        self.ready = anyio.Event()
        self.reconnected = False


class FollowHub:
    """One blocking ``XREAD`` for every stream that the process follows.

    A follow of its own holds a Redis connection in ``XREAD BLOCK`` and costs a round
    trip for each batch of each stream; with hundreds of streams that dominates an API
    process's work and Redis's. A hub reads every followed stream with one ``XREAD``
    (one connection), hands each follower its entries, and reads again at once.

    Run :meth:`run` in a task group for as long as followers use it
    (``follow_batches(..., via=hub)``). A follower that joins while the hub waits in
    ``XREAD`` wakes it by appending to the hub's own wake stream (``<prefix>:hub:<id>``,
    one entry, expiring), so that the next read includes the new stream. The checks of a
    follow (gaps, a stream lost or started again, the end) stay with each follower. A
    stream followed twice at once is read through the hub only by the first follower;
    the second reads on a connection of its own.
    """

    def __init__(self, log: RedisEventLog, *, block_ms: int = 5000, count: int = 100) -> None:
        self.log = log
        self.block_ms = block_ms
        self.count = count
        self.subscriptions: dict[str, _Subscription] = {}
        self.reads = 0
        """XREAD calls made (a measure of the hub's batching)."""
        self._wake_key = f"{log.prefix}:hub:{uuid.uuid4()}"
        self._wake_cursor = _START
        self._changed = anyio.Event()
        self._reading: frozenset[_Subscription] = frozenset()
        """The subscriptions the XREAD in flight reads (at their cursors then)."""
        self._down_since: float | None = None
        self._running = False

    def subscribe(self, key: str, cursor: str) -> _Subscription | None:
        if not self._running or key in self.subscriptions:
            return None
        sub = _Subscription(key, cursor)
        self.subscriptions[key] = sub
        self._changed.set()
        return sub

    def unsubscribe(self, sub: _Subscription) -> None:
        if self.subscriptions.get(sub.key) is sub:
            del self.subscriptions[sub.key]

    async def wait(
        self, sub: _Subscription, block_ms: int
    ) -> list[tuple[str, Mapping[bytes, bytes]]]:
        """The entries read for ``sub`` since the last call, waiting up to ``block_ms``
        for some; none at once after a reconnection (``sub.reconnected``)."""
        if not sub.entries and not sub.reconnected:
            # A new subscription, even of a stream the read in flight reads for an
            # earlier follower (from that one's cursor), wakes it to read again.
            if sub not in self._reading and self._reading:
                await self._wake()
            with anyio.move_on_after(block_ms / 1000):
                await sub.ready.wait()
        sub.ready = anyio.Event()
        entries, sub.entries = sub.entries, []
        down = self._down_since
        if (
            not entries
            and down is not None
            and (anyio.current_time() - down > self.log._reconnect_timeout)
        ):
            raise EventLogConnectionError(
                f"lost the connection to Redis at {self.log._target()} for more than "
                f"{self.log._reconnect_timeout:g}s"
            )
        return entries

    async def _wake(self) -> None:
        with contextlib.suppress(EventLogError):
            await self.log._command("EVAL", _WAKE, 1, self._wake_key)

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Read and hand out entries until cancelled; ``started`` once followers can
        subscribe (``await task_group.start(hub.run)``)."""
        self._running = True
        task_status.started()
        delay = 0.05
        try:
            while True:
                if not self.subscriptions:
                    await self._changed.wait()
                    self._changed = anyio.Event()
                    continue
                self._changed = anyio.Event()
                subs = list(self.subscriptions.values())
                keys = [self._wake_key, *(sub.key for sub in subs)]
                ids = [self._wake_cursor, *(sub.cursor for sub in subs)]
                # a second under the socket timeout, as in a follow of its own
                block = min(self.block_ms, round(self.log._socket_timeout * 1000) - 1000)
                if not running_on_asyncio():
                    block = min(block, self.log._thread_poll_ms)  # a thread cannot be cut short
                self._reading = frozenset(subs)
                try:
                    reply = await self.log._command(
                        "XREAD", "COUNT", self.count, "BLOCK", block, "STREAMS", *keys, *ids
                    )
                except EventLogConnectionError as exc:
                    if self._down_since is None:
                        self._down_since = anyio.current_time()
                        log.warning("follow hub: %s; reconnecting", exc)
                    await anyio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                finally:
                    self._reading = frozenset()
                self.reads += 1
                if self._down_since is not None:
                    self._down_since = None
                    delay = 0.05
                    for sub in self.subscriptions.values():
                        sub.reconnected = True
                        sub.ready.set()
                for raw_key, entries in _streams(reply):
                    if not entries:
                        continue
                    key = _text(raw_key)
                    last = _text(entries[-1][0])
                    if key == self._wake_key:
                        self._wake_cursor = last
                        continue
                    found = self.subscriptions.get(key)
                    if found is None:
                        continue
                    found.entries.extend((_text(i), f) for i, f in entries)
                    found.cursor = last
                    found.ready.set()
        finally:
            self._running = False
            for sub in self.subscriptions.values():
                sub.ready.set()
            with anyio.CancelScope(shield=True), contextlib.suppress(EventLogError):
                await self.log._command("DEL", self._wake_key)
