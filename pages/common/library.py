"""Compose's tunes that last: who this browser is, saving every tune, its link, "My tunes", a shared tune.

The work is core.data.tune_store; this keeps the page's tune dicts (pages.common.tunes.tune_view) in it and
lays out the controls. Whoever opens ``?tune=ID`` sees the tune read-only, from disk: no model, no rendering.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.data import tune_store
from core.errors import UserError

OWNER_COOKIE = "tunelab_owner"
BYTES = ("midi", "wav", "roll")
HISTORY = 10

_COOKIE_JS = """
export default function(component) {
  const { data } = component;
  const name = data.name + '=';
  if (!document.cookie.split('; ').some(c => c.startsWith(name)))
    document.cookie = name + data.token + '; path=/; max-age=31536000; SameSite=Lax';
}
"""
_LINK_JS = """
export default function(component) {
  const { data, parentElement } = component;
  let button = parentElement.querySelector('button.tl-copy');
  if (!button) {
    button = document.createElement('button');
    button.className = 'tl-copy';
    button.type = 'button';
    button.style.cssText = 'padding:0.25rem 0.75rem;border:1px solid #ccc;border-radius:0.5rem;background:white;';
    parentElement.appendChild(button);
  }
  const url = new URL(window.location.pathname + '?tune=' + data.id, window.location.origin).href;
  button.textContent = 'Copy link';
  button.dataset.url = url;
  button.onclick = async () => {
    try { await navigator.clipboard.writeText(url); button.textContent = 'Link copied'; }
    catch (e) { window.prompt('Copy this link:', url); }
  };
}
"""
_COOKIE = st.components.v2.component("tunelab_owner", js=_COOKIE_JS, isolate_styles=False)
_LINK = st.components.v2.component("tunelab_copy_link", js=_LINK_JS, isolate_styles=False)


def owner_token() -> str:
    """This browser's owner token: its cookie, else one made for this session (and given to the browser
    by :func:`remember_owner`, so that a reload keeps it)."""
    cookie = (st.context.cookies or {}).get(OWNER_COOKIE)
    if tune_store.valid_token(cookie):
        st.session_state.owner = cookie
    return st.session_state.setdefault("owner", tune_store.new_owner_token())


def remember_owner(token: str) -> None:
    """Ask the browser to keep ``token`` in a cookie (set once; a year)."""
    _COOKIE(key="owner_cookie", data={"name": OWNER_COOKIE, "token": token})


def copy_link(tune_id: str, key: str) -> None:
    """A "Copy link" button for ``?tune=ID`` on this page."""
    _LINK(key=key, data={"id": tune_id})


def keep(tune: dict, kind: str, parent: str | None = None) -> dict:
    """Save ``tune`` (a tune_view dict) under this browser's owner; returns it with ``id``, ``kind`` and
    ``parent``. A full disk costs the link only: the tune still shows, with a warning."""
    fields = {k: v for k, v in tune.items() if k not in (*BYTES, "svgs", "id", "kind", "parent", "press")}
    try:
        tune_id = tune_store.save(fields, {k: tune.get(k) for k in BYTES}, owner_token(), kind, parent,
                                  tune.get("svgs"))
    except (UserError, OSError) as exc:
        st.warning(f"The tune could not be saved, so it has no link: {exc}")
        return {**tune, "kind": kind, "parent": parent}
    return {**tune, "id": tune_id, "kind": kind, "parent": parent}


@st.cache_data(show_spinner=False, max_entries=64)
def restore(tune_id: str) -> dict:
    """A saved tune as the page's tune dict (tunes never change once saved: cached); UserError if none."""
    record = tune_store.load(tune_id)
    record.pop("owner", None)
    record.pop("starred", None)
    return record


def mine(limit: int | None = None) -> list[tune_store.TuneInfo]:
    """This browser's tunes, newest first."""
    return tune_store.owned_by(owner_token(), limit)


def _when(info: tune_store.TuneInfo) -> str:
    return dt.datetime.fromtimestamp(info.created).strftime("%d %b %H:%M")


def _act(action, done: str) -> None:
    """Run a store action from a button; its refusal is one sentence on the page."""
    try:
        action()
    except UserError as exc:
        st.session_state.library_message = ("error", str(exc))
    else:
        st.session_state.library_message = ("success", done)


def _delete(tune_id: str) -> None:
    _act(lambda: tune_store.delete(tune_id, owner_token()), "Deleted: its link no longer opens it.")
    restore.clear()  # the cached copy must not outlive the tune
    if (st.session_state.get("current") or {}).get("id") == tune_id:
        st.session_state.pop("current", None)
        st.query_params.pop("tune", None)


def _star(tune_id: str, starred: bool) -> None:
    _act(lambda: tune_store.set_star(tune_id, owner_token(), starred),
         "Starred: kept when the server makes room." if starred else "Unstarred.")


def my_tunes(open_tune) -> None:
    """The "My tunes" list: open, star (kept past the quota) or delete each of this browser's tunes."""
    tunes = mine()
    kind, text = st.session_state.pop("library_message", ("", ""))
    if text:
        getattr(st, kind)(text)
    with st.expander(f"My tunes ({len(tunes)})", expanded=False):
        if not tunes:
            st.caption("Every tune you make is kept here with a link; none yet.")
        for info in tunes[:50]:
            c1, c2, c3, c4 = st.columns([5, 1, 1, 1], vertical_alignment="center")
            origin = f" · from {info.parent}" if info.parent else ""
            c1.markdown(f"**{info.title}** · {info.kind} · {info.model or ''} · seed {info.seed} · "
                        f"{_when(info)}{origin} · `{info.id}`")
            c2.button("Open", key=f"open-{info.id}", on_click=open_tune, args=(info.id,))
            c3.button("Unstar" if info.starred else "Star", key=f"star-{info.id}", on_click=_star,
                      args=(info.id, not info.starred), help="Starred tunes are never removed to make room.")
            c4.button("Delete", key=f"delete-{info.id}", on_click=_delete, args=(info.id,))
        if len(tunes) > 50:
            st.caption(f"The newest 50 of {len(tunes)} are listed.")
        st.caption(f"The server keeps {tune_store.quota_bytes() / 2**20:,.0f} MB of tunes; past that the oldest "
                   "unstarred ones go first.")
