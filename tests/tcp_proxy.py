"""A loopback TCP proxy that a test cuts and restores, as an outage would.

A live server whose DATABASE_URL names the proxy reaches PostgreSQL through it.
``cut()`` drops every connection at once (a reset, as when the database crashes or a
link fails) and then either refuses new ones (nothing listens: the database is down)
or, with ``hold=True``, accepts them and passes nothing (a black hole: a partition, a
stalled failover). ``freeze()`` resets nothing: open connections go silent mid-query and
new ones are held, as when the database host vanishes without a reset. ``restore()`` ends
the outage; held connections then go through,
late, as they would when a partition heals.

The proxy runs its own event loop on a thread, so a test may block its own loop
(``LiveServer.wait_ready``) without stalling the traffic it forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

ConnectionHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class LoopThread:
    """An asyncio event loop on a daemon thread, driven from any other thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class TcpServer:
    """A loopback listener on its own loop thread that tracks (and can end) its connections."""

    def __init__(self, handle: ConnectionHandler, *, name: str) -> None:
        self._handle = handle
        self._thread = LoopThread(name)
        self._listener: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.run(self.listen())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._thread.run(coroutine)

    @property
    def listening(self) -> bool:
        return self._listener is not None

    async def listen(self) -> None:
        """Listen on ``port`` (a free one the first time)."""
        self._listener = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._listener.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        """New connections are refused; open ones go on."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the peer went away or spoke nonsense: nothing to do
        finally:
            # Flushes what was written, then closes; a no-op after transport.abort().
            writer.close()
            await _closed(writer)
            self._tasks.discard(task)

    async def _shutdown(self) -> None:
        await self.stop_listening()
        # Twice, a moment apart: a connection accepted just before the listener closed
        # starts its task on a later turn of the loop, after the first round was ended.
        for _ in range(2):
            await asyncio.sleep(0.05)
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=10)
        # A task cancelled while its upstream connection was being made closes that
        # transport with a callback scheduled on this loop (asyncio's
        # _create_connection_transport): let it run before the loop stops, or the socket
        # is left for the garbage collector, whose ResourceWarning fails a later test.
        await asyncio.sleep(0.05)

    def close(self) -> None:
        self.run(self._shutdown())
        self._thread.stop()


class TcpProxy:
    """Forwards loopback connections on ``port`` to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        # Set while traffic flows; cleared by a cut. Touched only on the proxy's loop.
        self._flowing = asyncio.Event()
        self._flowing.set()
        # Cleared by a freeze: open connections keep their sockets but pass no bytes.
        self._passing = asyncio.Event()
        self._passing.set()
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.connections = 0  # forwarded to the target since the start
        self.dropped = 0  # connections a cut reset
        self._server = TcpServer(self._forward, name="tcp-proxy")

    @property
    def port(self) -> int:
        return self._server.port

    def cut(self, *, hold: bool = False) -> None:
        """Reset every connection; then refuse new ones, or hold them silent (``hold``)."""
        self._server.run(self._cut(hold=hold))

    def freeze(self) -> None:
        """Pass nothing and close nothing: every connection hangs, open or new."""
        self._server.run(self._freeze())

    def restore(self) -> None:
        """Listen and forward again; held connections go through now."""
        self._server.run(self._restore())

    async def _cut(self, *, hold: bool) -> None:
        self._flowing.clear()
        if not hold:
            await self._server.stop_listening()
        for client, upstream in list(self._links):
            # abort() sends a reset and drops unsent data: neither side gets a clean goodbye.
            client.transport.abort()
            upstream.transport.abort()
            self.dropped += 1
        self._links.clear()

    async def _freeze(self) -> None:
        self._flowing.clear()
        self._passing.clear()

    async def _restore(self) -> None:
        if not self._server.listening:
            await self._server.listen()
        self._passing.set()
        self._flowing.set()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A held connection waits here, its bytes kept in ``reader``, until restore().
        await self._flowing.wait()
        up_reader, up_writer = await _connect(*self.target)
        if not self._flowing.is_set():  # cut while connecting
            up_writer.transport.abort()
            await _closed(up_writer)
            return
        link = (writer, up_writer)
        self._links.add(link)
        self.connections += 1
        pumps = [
            asyncio.create_task(_pump(reader, up_writer, self._passing)),
            asyncio.create_task(_pump(up_reader, writer, self._passing)),
        ]
        try:
            # Either side closing ends the pair, as a real connection through a NAT would.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._links.discard(link)
            up_writer.close()
            await _closed(up_writer)

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """open_connection, whose socket is closed even when the proxy closes mid-connect (a
    connection a freeze held, let go by restore() just before close()): cancelled while
    its transport is being made, asyncio only schedules the socket's release, which the
    loop, stopped next, would never run."""
    connecting = asyncio.ensure_future(asyncio.open_connection(host, port))
    try:
        return await asyncio.shield(connecting)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            _, writer = await asyncio.wait_for(connecting, timeout=5)
            writer.transport.abort()
            await _closed(writer)
        raise


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, passing: asyncio.Event
) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(64 * 1024):
            await passing.wait()  # a frozen link keeps what it read, and sends it on restore
            writer.write(data)
            await writer.drain()


async def _closed(writer: asyncio.StreamWriter) -> None:
    """Wait until the transport has really let go of its socket. close() only schedules
    that on the loop; a loop stopped first leaves the socket open, and its ResourceWarning
    then fails whichever later test the garbage collector happens to run in."""
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(writer.wait_closed(), timeout=5)
