"""An audio player that tells the server when it was played and whether it played to the end.

A Streamlit component (``st.components.v2``, no network, no build step): its JavaScript renders an ``<audio>``
element, whose source is served by Streamlit's media endpoint as ``st.audio``'s is (a URL in the page, the WAV
fetched over HTTP: a data URL made every script run cost a megabyte of base64, JSON and hashing), and reports
the element's ``play`` and ``ended`` events as the component's state (how often Play was pressed, whether it
reached the end). The server notes the time it first hears of a play, so listening time
counts from pressing Play, not from when the clip appeared. Without JavaScript (AppTest) no event arrives.
"""

from __future__ import annotations

import base64
import time

import streamlit as st

JS = """
export default function(component) {
  const { data, setStateValue, parentElement } = component;
  let root = parentElement.querySelector('.tl-player');
  if (!root) {
    root = document.createElement('div');
    root.className = 'tl-player';
    parentElement.appendChild(root);
  }
  if (root.dataset.id === data.id) return;
  root.dataset.id = data.id;
  root.innerHTML = '';
  const audio = document.createElement('audio');
  audio.controls = true;
  audio.preload = 'auto';
  audio.src = data.src;
  audio.setAttribute('aria-label', data.label);
  audio.dataset.player = data.label;
  audio.style.width = '100%';
  let plays = 0, ended = false;
  const report = () => setStateValue('events', { id: data.id, plays: plays, ended: ended });
  audio.addEventListener('play', () => { plays += 1; report(); });
  audio.addEventListener('ended', () => { ended = true; report(); });
  root.appendChild(audio);
}
"""

_PLAYER = st.components.v2.component("tunelab_player", js=JS, isolate_styles=False)


def media_url(wav: bytes, key: str) -> str:
    """``wav`` registered with Streamlit's media files for this session (as ``st.audio`` does): its URL, under
    the server's base path; a data URL where no runtime serves media (bare mode)."""
    from streamlit import runtime

    if not runtime.exists():
        return "data:audio/wav;base64," + base64.b64encode(wav).decode()
    url = runtime.get_instance().media_file_mgr.add(wav, "audio/wav", f"tunelab_player.{key}")
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{url}" if base else url


def player(wav: bytes, label: str, key: str) -> dict:
    """Show a player for ``wav``; returns {"plays", "ended", "first_play"} as reported so far (first_play: the
    server's monotonic time when it first heard of a play, None before). ``key`` names this clip in this visit."""
    src = media_url(wav, key)
    result = _PLAYER(key=key, data={"id": key, "src": src, "label": label}, default={"events": None},
                     on_events_change=lambda: None)
    events = getattr(result, "events", None) or {}
    if events.get("id") != key:
        events = {}
    plays = int(events.get("plays") or 0)
    first = st.session_state.get(f"{key}_first_play")
    if plays and first is None:
        first = st.session_state[f"{key}_first_play"] = time.monotonic()
    return {"plays": plays, "ended": bool(events.get("ended")), "first_play": first}


def listening_ms(reports: list[dict], shown_at: float) -> int:
    """Milliseconds from the first Play among ``reports`` to now; from ``shown_at`` when no play was reported
    (a browser without JavaScript), so an answer is never stored with a made-up zero."""
    starts = [r["first_play"] for r in reports if r["first_play"] is not None]
    return int((time.monotonic() - (min(starts) if starts else shown_at)) * 1000)
