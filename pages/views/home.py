"""Home: what TuneLab is, whether audio works here, and the models on offer."""

import shutil

import streamlit as st

st.title("TuneLab")
st.write(
    "Compose folk tunes with neural networks trained on the great tune books "
    "(O'Neill's *Music of Ireland*, Ryan's *Mammoth Collection*, …) and hear them at once. "
    "Pick a model on **Compose**, set a seed, a temperature and a length, and press Generate."
)
st.page_link("pages/views/compose.py", label="Go to Compose", icon=":material/music_note:")

# The page shows the above at once on a fresh server; the checks below import audio, torch and the database.
from core.audio.render import fluidsynth_status  # noqa: E402
from core.training.checkpoint import list_models  # noqa: E402
from survey_db.store import database_status  # noqa: E402

st.subheader("This machine")
audio_ok, audio_msg = fluidsynth_status()
(st.success if audio_ok else st.error)(audio_msg)
if shutil.which("abc2midi"):
    st.success("abc2midi ready: ABC becomes MIDI in milliseconds.")
else:
    st.warning("abc2midi is not installed: ABC is converted with music21 (slower). Install the abcmidi package.")

db_ok, db_msg = database_status()
(st.success if db_ok else st.error)(db_msg)

st.subheader("Models")
rows = [card.summary() for card in list_models()]
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
else:
    st.info("No trained models yet: train one with `python -m core train --preset r1-lstm`.")
