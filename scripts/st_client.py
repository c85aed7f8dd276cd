"""A light client of Streamlit's websocket protocol: a participant without a browser, for load tests.

It speaks what the browser speaks (Streamlit's own protobufs, ``streamlit.proto``) over
``/_stcore/stream``: a ``BackMsg`` with ``rerun_script`` (query string, page, widget states) goes up;
``ForwardMsg``s come down (``new_session``, ``delta`` elements, ``page_info_changed`` when the script sets
query parameters, ``script_finished``). No JavaScript runs, so it costs a fraction of a headless browser:
enough to put 50 participants on a 2-core machine. It also fetches each clip's audio over HTTP, as a browser
would, keeping a cookie jar so a proxy's sticky-session cookie works.
"""

from __future__ import annotations

import asyncio
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


@dataclass
class Page:
    """What one script run showed: elements in order as (kind, proto) pairs."""

    elements: list[tuple[str, object]] = field(default_factory=list)

    def of(self, kind: str) -> list:
        return [proto for k, proto in self.elements if k == kind]

    def texts(self) -> str:
        """Headings, markdown, alerts and code as one text."""
        out = []
        for kind, proto in self.elements:
            if kind in ("heading", "markdown", "alert", "code"):
                out.append(getattr(proto, "body", "") or getattr(proto, "code_text", ""))
        return "\n".join(out)

    def button(self, label: str):
        """The first button (or form submit button) with this label; None when there is none."""
        return next((b for b in self.of("button") if b.label == label), None)


class StreamlitClient:
    """One browser tab: a websocket session on ``base_url`` showing the page at ``path`` with ``query``."""

    def __init__(self, base_url: str, path: str = "", query: str = "", cookies: CookieJar | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.path, self.query = path, query
        self.cookies = cookies if cookies is not None else CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.ws = None
        self.headers: dict = {}  # of the last HTTP response (a proxy may name the replica there)
        self.page_hash = ""  # the page's script hash, learnt from the first run's navigation message

    def _cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)

    def fetch(self, url_path: str, timeout: float = 30) -> bytes:
        """GET a path of the server (the page, a media file), with the cookie jar."""
        with self._opener.open(f"{self.base_url}{url_path}", timeout=timeout) as response:
            self.headers = dict(response.headers)
            return response.read()

    async def connect(self, timeout: float = 30) -> None:
        """Load the page over HTTP (as a browser does first: a proxy sets its cookie there), then open the socket."""
        await asyncio.to_thread(self.fetch, f"/{self.path}?{self.query}" if self.query else f"/{self.path}")
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        headers = {"Cookie": self._cookie_header()} if len(self.cookies) else {}
        self.ws = await websockets.connect(
            f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream", subprotocols=["streamlit"],
            additional_headers=headers, open_timeout=timeout, max_size=2**26, ping_interval=None)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def run(self, widgets: list[WidgetState] | None = None, timeout: float = 60) -> Page:
        """Send a rerun with these widget states; returns the page once the script has finished.

        Query parameters the script sets (``page_info_changed``) are kept for the next run, as the browser's
        address bar keeps them. Raises ConnectionError when the server goes away, TimeoutError after ``timeout``.
        """
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_name = "" if self.page_hash else self.path  # the browser's way: by hash once it knows it
        state.page_script_hash = self.page_hash
        state.widget_states.widgets.extend(widgets or [])
        try:
            await self.ws.send(msg.SerializeToString())
            return await asyncio.wait_for(self._collect(), timeout)
        except websockets.ConnectionClosed as exc:
            raise ConnectionError(f"the server closed the session ({exc})") from None

    async def _collect(self) -> Page:
        elements: dict[tuple, tuple[str, object]] = {}
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                elements.clear()
            elif kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string
            elif kind == "navigation":
                self.page_hash = fwd.navigation.page_script_hash
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                which = element.WhichOneof("type")
                elements[tuple(fwd.metadata.delta_path)] = (which, getattr(element, which))
            elif kind == "script_finished" and fwd.script_finished in FINISHED:
                return Page([elements[k] for k in sorted(elements)])


def trigger(button) -> WidgetState:
    """The widget state of a click on ``button``."""
    state = WidgetState(id=button.id)
    state.trigger_value = True
    return state


def choose(radio, option: str) -> WidgetState:
    """The widget state of choosing ``option`` (its label) in ``radio``."""
    state = WidgetState(id=radio.id)
    state.string_value = option
    return state


async def _open_once(base_url: str, path: str, timeout: float) -> None:
    client = StreamlitClient(base_url, path)
    try:
        await client.connect(timeout)
        await client.run(timeout=timeout)
    finally:
        await client.close()


def warm_session(base_url: str, path: str = "survey", timeout: float = 60) -> None:
    """Open one session on ``path`` and run its page once. A fresh Streamlit process answers its first session's
    request for a non-default page with a "Page not found" dialog (seen with Streamlit 1.67); after one session,
    never again. serve.py does this itself at start; launchers that wait for a server call it too."""
    asyncio.run(_open_once(base_url, path, timeout))
