"""A score that plays: abcjs engraves the ABC in the browser and follows the page's own audio.

abcjs is vendored from npm at install time (``scripts/vendor-abcjs.sh``, run by ``make setup``) and served by
the app itself (``/app/static/vendor/``): no request leaves the server, and abcjs's own synth (whose sounds
come from another host) is never used. The component finds the ``<audio>`` player just above it (the same
container), highlights the notes sounding at the audio's current time with a cursor line, and a click on a
note moves the audio there and plays. Without JavaScript (AppTest) the component is an unknown element.
"""

from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.generation.edit import set_tempo, split_header

ABC2MIDI_DEFAULT_QPM = 120.0
"""abc2midi's tempo for a tune without a Q: line (abcjs would assume another): the score is told it."""

JS = """
const SRC = 'app/static/vendor/abcjs-basic-min.js';
function loadAbcjs() {
  if (window.ABCJS) return Promise.resolve(window.ABCJS);
  if (!window.__tlAbcjs) {
    window.__tlAbcjs = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = new URL(SRC, document.baseURI).href;
      s.onload = () => resolve(window.ABCJS);
      s.onerror = () => { window.__tlAbcjs = null; reject(new Error('abcjs did not load')); };
      document.head.appendChild(s);
    });
  }
  return window.__tlAbcjs;
}
function findAudio(root) {
  for (let el = root.parentElement; el; el = el.parentElement) {
    const before = [...el.querySelectorAll('audio')].filter(
      a => a.compareDocumentPosition(root) & Node.DOCUMENT_POSITION_FOLLOWING);
    if (before.length) return before[before.length - 1];
  }
  return null;
}
function follow(root, visual, audio) {
  const events = visual.setTiming().filter(e => e.type === 'event');
  root.dataset.events = events.length;
  const svg = root.querySelector('svg');
  const cursor = document.createElementNS('http://www.w3.org/2000/svg', 'line');
  cursor.setAttribute('class', 'tl-cursor');
  cursor.setAttribute('stroke', '#d9480f'); cursor.setAttribute('stroke-width', '2');
  if (svg) svg.appendChild(cursor);
  let shown = -1, frame = null;
  const mark = (i) => {
    if (i === shown) return;
    root.querySelectorAll('.tl-playing').forEach(el => el.classList.remove('tl-playing'));
    shown = i;
    root.dataset.playing = i;
    if (i < 0) { cursor.setAttribute('x1', 0); cursor.setAttribute('x2', 0); cursor.setAttribute('y1', 0);
                 cursor.setAttribute('y2', 0); return; }
    const ev = events[i];
    (ev.elements || []).flat().forEach(el => el && el.classList && el.classList.add('tl-playing'));
    const x = (ev.left || 0) - 2;
    cursor.setAttribute('x1', x); cursor.setAttribute('x2', x);
    cursor.setAttribute('y1', ev.top || 0); cursor.setAttribute('y2', (ev.top || 0) + (ev.height || 0));
  };
  const at = (ms) => {
    let lo = 0, hi = events.length - 1, found = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1;
      if (events[mid].milliseconds <= ms) { found = mid; lo = mid + 1; } else hi = mid - 1; }
    return found;
  };
  const tick = () => { mark(at(audio.currentTime * 1000)); frame = audio.paused ? null : requestAnimationFrame(tick); };
  audio.addEventListener('play', () => { if (!frame) frame = requestAnimationFrame(tick); });
  audio.addEventListener('seeked', tick);
  audio.addEventListener('ended', () => mark(-1));
  return (abcElem) => {
    const ev = events.find(e => e.startChar === abcElem.startChar);
    if (!ev) return;
    audio.currentTime = ev.milliseconds / 1000;
    audio.play();
  };
}
export default function(component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector('.tl-score');
  if (!root) {
    root = document.createElement('div');
    root.className = 'tl-score';
    parentElement.appendChild(root);
  }
  if (root.dataset.key === data.key) return;
  root.dataset.key = data.key;
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', data.alt);
  loadAbcjs().then(ABCJS => {
    root.innerHTML = '';
    const paper = document.createElement('div');
    root.appendChild(paper);
    let onClick = () => {};
    const visual = ABCJS.renderAbc(paper, data.abc, {
      responsive: 'resize', add_classes: true, staffwidth: data.staffwidth, paddingleft: 0, paddingright: 0,
      clickListener: (abcElem) => onClick(abcElem),
    })[0];
    const svg = root.querySelector('svg');
    if (svg) { svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', data.alt); }
    let tries = 0;
    const attach = () => {  // the player above may mount a moment after the score
      const audio = findAudio(root);
      if (audio && visual) { onClick = follow(root, visual, audio); root.dataset.ready = '1'; }
      else if (tries++ < 50) setTimeout(attach, 200);
      else root.dataset.ready = '1';
    };
    attach();
  }).catch(err => { root.textContent = 'The score could not be drawn: ' + err.message; });
}
"""

CSS = """
.tl-score { background: white; }
.tl-score .abcjs-note, .tl-score .abcjs-rest { cursor: pointer; }
.tl-score .tl-playing { fill: #d9480f; }
"""

_SCORE = st.components.v2.component("tunelab_score", js=JS, css=CSS, isolate_styles=False)


def score_abc(abc: str, qpm: float | None) -> str:
    """The ABC the score draws: with a Q: line (the tempo the audio was rendered at) so that the
    highlighted notes keep time with the audio."""
    try:
        fields, _ = split_header(abc)
        if "Q" in fields:
            return abc
        return set_tempo(abc, float(qpm or ABC2MIDI_DEFAULT_QPM))
    except UserError:
        return abc  # abcjs shows what it can of a tune the checks refuse


def alt_text(tune: dict) -> str:
    """What a screen reader says for the score: title, meter, key, length, and how to use it."""
    try:
        fields, _ = split_header(tune["abc"])
    except UserError:
        fields = {}
    bits = [f"meter {fields['M']}" if "M" in fields else "", f"key {fields['K']}" if "K" in fields else "",
            f"{tune.get('duration', 0):.0f} seconds"]
    described = ", ".join(b for b in bits if b)
    return f"Score of {tune['title']} ({described}). The notes playing are highlighted; click a note to play " \
           "from there."


def show_score(tune: dict, key: str, staffwidth: int = 740) -> None:
    """The tune's ABC engraved by abcjs, following the audio player shown just before it."""
    abc = score_abc(tune["abc"], tune.get("audio_qpm") or tune.get("qpm"))
    _SCORE(key=key, data={"key": f"{key}:{tune.get('id') or hash(abc)}:{staffwidth}", "abc": abc,
                          "alt": alt_text(tune), "staffwidth": staffwidth})
