"""Compose's shared pieces: a tune opened by its link, the refusals of one press, the variation cards.

A link ``?tune=ID`` opens the tune for anyone: its owner gets it back to work on (a reload), anyone else sees
it read-only, read from disk (no model runs, nothing is rendered): on a public server a stranger costs the
server a file read, never a composition.
"""

from __future__ import annotations

import streamlit as st

from core.data import tune_store
from core.errors import UserError
from core.generation.rescue import NoPlayableTune
from core.server import beyond_loopback
from pages.common.library import copy_link, owner_token, restore
from pages.common.tunes import caption, show, show_audio, show_pictures


def may_compose() -> bool:
    """Whether this session may spend the server's CPU: anyone at the machine, only the admin on a public one."""
    return not beyond_loopback(st.get_option("server.address")) or bool(st.session_state.get("admin"))


def _work_on_copy(tune: dict) -> None:
    from pages.common.workbench import pick

    pick(tune)


def shared_view(tune: dict, can_compose: bool) -> None:
    """Someone else's tune, read-only: what made it, audio, score, ABC, downloads, its link."""
    st.title(tune["title"])
    origin = f" · made from [{tune['parent']}](?tune={tune['parent']})" if tune.get("parent") else ""
    st.caption(f"A shared tune · {tune.get('kind', 'generated')} · model {tune.get('model') or 'unknown'}{origin}. "
               "Read-only: only the person who made it can change or delete it.")
    show(tune, "shared")
    copy_link(tune["id"], "copy-shared")
    if can_compose:
        st.button("Work on a copy", key="work_on_copy", on_click=_work_on_copy, args=(tune,), type="primary",
                  help="Edits are saved as new tunes of yours; this one stays as it is.")


def linked_tune() -> None:
    """Act on ``?tune=ID``: the owner's tune becomes the one worked on (after a reload); anyone else's shows
    read-only above the page (alone, and the page stops, for a visitor who may not compose). Without a link,
    a new visit gets back the tune it last made."""
    tune_id = st.query_params.get("tune")
    current = st.session_state.get("current") or {}
    if not tune_id and not current and "synced_link" not in st.session_state and may_compose():
        newest = tune_store.owned_by(owner_token(), 1)  # a new visit: the tune last worked on comes back
        st.session_state.synced_link = None
        if newest:
            _work_on_copy(restore(newest[0].id))
        return
    if not tune_id or tune_id in (current.get("id"), st.session_state.get("synced_link")):
        return  # no link, or the page's own (the address bar follows the tune worked on: sync_link)
    can_compose = may_compose()
    try:
        tune = restore(tune_id)
    except UserError as exc:
        st.error(str(exc))
        if not can_compose:
            st.stop()
        return
    if can_compose and not current and tune_store.is_owner(tune_id, owner_token()):
        _work_on_copy(tune)
        return
    shared_view(tune, can_compose)
    if not can_compose:
        st.stop()
    st.divider()


def sync_link() -> None:
    """Keep the address bar on the tune worked on, so that a reload (or a copied address) opens it."""
    tune_id = (st.session_state.get("current") or {}).get("id")
    if tune_id and st.query_params.get("tune") != tune_id:
        st.query_params["tune"] = tune_id
        st.session_state.synced_link = tune_id


def failure_messages(failures: list[tuple[int, UserError]], n: int) -> list[str]:
    """One message per cause, naming the seeds it stopped (never the same refusal once per variation)."""
    seeds: dict[str, list[int]] = {}
    first: dict[str, str] = {}
    for seed, exc in failures:
        cause = "no playable tune" if isinstance(exc, NoPlayableTune) else str(exc)
        seeds.setdefault(cause, []).append(seed)
        first.setdefault(cause, str(exc))
    if n == 1:
        return list(first.values())
    return [f"{'Seed' if len(s) == 1 else 'Seeds'} {', '.join(map(str, s))}: {first[cause]}"
            for cause, s in seeds.items()]


@st.dialog("Score", width="large")
def _enlarge(tune: dict) -> None:
    st.markdown(f"**{tune['title']}** · seed {tune['seed']}")
    with st.container():
        show_audio(tune)
        show_pictures(tune, "enlarged-score", staffwidth=900)


def show_variations(pick) -> None:
    """The last press's variations side by side, each with its player, score (enlarged on click) and seed."""
    tunes = st.session_state.get("variation_tunes") or []
    if not tunes:
        return
    st.subheader(f"{len(tunes)} variations")
    for row in range(0, len(tunes), 2):
        for column, tune in zip(st.columns(2), tunes[row: row + 2], strict=False):
            with column.container(border=True):
                st.markdown(f"**{tune['title']}** · seed {tune['seed']}")
                st.caption(tune["label"] if tune.get("broken_bars") else caption(tune))
                show_audio(tune)
                show_pictures(tune, f"card-{tune['seed']}", staffwidth=420)
                c1, c2 = st.columns(2)
                c1.button("Work on this one", key=f"pick-{tune['seed']}", on_click=pick, args=(tune,))
                if tune.get("abc") and c2.button("Enlarge score", key=f"enlarge-{tune['seed']}"):
                    _enlarge(tune)
