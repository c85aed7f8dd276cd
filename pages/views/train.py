"""Train: learn a new model from a built-in corpus or your own ABC or MIDI files, in the background."""

from pathlib import PurePosixPath

import pandas as pd
import streamlit as st

from core.data.corpus import list_corpora, load_corpus, save_uploads, upload_folder
from core.data.midi_corpus import import_corpus, list_midi_corpora
from core.data.uploads import check_upload_sizes, save_music_uploads
from core.errors import UserError
from core.training import jobs
from core.training.batching import check_pairing
from core.training.config import OPTIMIZERS, TRAIN_DEFAULTS, TrainConfig
from core.training.presets import PRESETS
from pages.common.admin import require_admin
from pages.common.learn_votes import learn_from_votes_form

QUICK_CHARS = 50_000
UPLOAD_TYPES = ["abc", "mid", "midi", "xml", "mxl", "musicxml", "krn", "zip"]
BATCH_LABELS = {"char_rnn": "Parallel streams", "transformer": "Sequences per batch",
                "note_rnn": "Windows per batch", "autoencoder": "Piano-roll chunks per batch"}
LOSS_UNITS = {"abc": "nats/char", "tokens": "nats/token", "roll": "binary cross-entropy per cell"}

require_admin()  # training and uploads spend the server's CPU and disk
st.title("Train")
st.caption("Training runs in the background on this machine: you can leave the page or reload it. "
           "Every finished model appears on Compose with its held-out figures.")

if "_select_corpus" in st.session_state:  # a corpus imported on the last run
    st.session_state["corpus"] = st.session_state.pop("_select_corpus")
if "_import_note" in st.session_state:
    st.success(st.session_state.pop("_import_note"))

abc_corpora, midi_corpora = list_corpora(), list_midi_corpora()
corpora = {**{n: f"ABC · {d}" for n, d in abc_corpora.items()}, **{n: f"MIDI · {d}" for n, d in midi_corpora.items()}}
corpus = st.selectbox("Corpus", list(corpora), format_func=lambda n: f"{n}: {corpora[n]}", key="corpus")
uploads = st.file_uploader(
    "…or your own music: ABC files (they replace the corpus for this run), or MIDI, MusicXML, kern files or a "
    "zip of them (imported as a MIDI corpus you name, which then joins the list above)",
    type=UPLOAD_TYPES, accept_multiple_files=True, key="uploads")

files = [(f.name, f.getvalue()) for f in uploads or []]
abc_files = [(n, d) for n, d in files if PurePosixPath(n).suffix.lower() == ".abc"]
music_files = [(n, d) for n, d in files if PurePosixPath(n).suffix.lower() != ".abc"]
source = corpus
try:
    check_upload_sizes(files)
    if abc_files and music_files:
        raise UserError("Upload either ABC files or MIDI, MusicXML and zip files, not both at once.")
    if abc_files:
        source = str(upload_folder(abc_files))  # named by the content's hash; written only when training starts
except UserError as exc:
    st.error(str(exc))
    abc_files = music_files = []


def import_music() -> None:
    """Import the uploaded MIDI/score files as a named MIDI corpus, then select it."""
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.text_input("Name of the new MIDI corpus (letters, digits, '.', '_', '-')", key="import_name",
                         max_chars=64, placeholder="e.g. my-chorales")
    if not c2.button("Import", key="import"):
        return
    try:
        folder = save_music_uploads(music_files)
        bar = st.progress(0.0, text="Importing…")
        imported = import_corpus(str(folder), name.strip(), progress=lambda done, total: bar.progress(
            done / max(total, 1), text=f"Importing: file {done} of {total}"))
        bar.empty()
    except UserError as exc:
        st.error(str(exc))
        return
    problems = [*imported.failed, *imported.filtered]
    if not imported.pieces:
        first = f" ({problems[0].file}: {problems[0].reason})" if problems else ""
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        st.error(f"Nothing could be imported from the upload{first}{more}.")
        return
    left_out = f"; {len(problems)} file(s) left out: " + "; ".join(
        f"{p.file}: {p.reason}" for p in problems[:5]) if problems else ""
    st.session_state["_import_note"] = f"Imported {len(imported.pieces)} pieces as {imported.name}{left_out}."
    st.session_state["_select_corpus"] = imported.name
    st.rerun()


if music_files:
    import_music()


def _fits(preset_name: str) -> bool:
    preset = PRESETS[preset_name]
    try:
        check_pairing(preset.family, preset.tokenizer.get("kind", "abc_chars"), source)
    except UserError:
        return False
    return True


fitting = [name for name in PRESETS if _fits(name)]
others = [name for name in PRESETS if name not in fitting]


def _preset_label(name: str) -> str:
    p = PRESETS[name]
    label = f"{name} · {p.family} · {p.description}"
    return label if name in fitting else f"{label} (does not fit this corpus)"


if st.session_state.get("_presets_for") != source:  # another corpus: keep the preset only where it fits
    st.session_state["_presets_for"] = source
    if st.session_state.get("preset") not in fitting and fitting:
        st.session_state["preset"] = fitting[0]
preset = st.selectbox("Network", fitting + others, format_func=_preset_label, key="preset",
                      help="The presets that can learn from the chosen corpus come first.")
chosen = PRESETS[preset]
defaults = {**TRAIN_DEFAULTS, **chosen.train}
if st.session_state.get("_defaults_of") != preset:  # a new preset: its hyper-parameters become the form's
    st.session_state["_defaults_of"] = preset
    st.session_state.update(lr=float(defaults["lr"]), batch_size=int(defaults["batch_size"]),
                            seq_len=int(defaults["seq_len"]), optimizer=defaults["optimizer"],
                            min_count=int(chosen.tokenizer.get("min_count", 1)))
abc_source = source not in midi_corpora

with st.form("train"):
    name = st.text_input("Model name (letters, digits, '.', '_', '-')", key="name", max_chars=64,
                         placeholder="e.g. my-reels-lstm")
    c1, c2, c3, c4 = st.columns(4)
    epochs = c1.number_input("Epochs", 1, 500, 10, key="epochs")
    lr = c2.number_input("Learning rate", 1e-6, 1.0, step=1e-4, format="%.5f", key="lr")
    batch = c3.number_input(BATCH_LABELS.get(chosen.family, "Batch size"), 1, 1024, key="batch_size")
    seq_len = None
    if chosen.family == "char_rnn":
        seq_len = c4.number_input("Characters per step", 2, 4096, key="seq_len")
    elif chosen.family == "transformer":
        seq_len = c4.number_input("Tokens per sequence (context)", 2, int(chosen.model.get("block_size", 4096)),
                                  key="seq_len")
    elif "window" in chosen.model:
        c4.caption(f"Window: {chosen.model['window']} tokens, fixed by the preset.")
    min_count = None
    if chosen.tokenizer.get("kind") == "note_chord":
        min_count = st.number_input(
            "Drop notes and chords seen fewer times than this in the training pieces", 1, 1000, key="min_count",
            help="R2's frequency threshold (it kept 249 of 723 tokens at 30). Dropped tokens are left out of the "
                 "sequences; 1 keeps every token.")
    c1, c2, c3 = st.columns(3)
    optimizer = c1.selectbox("Optimizer", list(OPTIMIZERS), key="optimizer")
    patience = c2.number_input("Patience (epochs without a better validation loss; 0: never stop early)", 0, 100, 0,
                               key="patience")
    quick = abc_source and c3.checkbox(f"Quick try: only the first {QUICK_CHARS:,} training characters", key="quick")
    submitted = st.form_submit_button("Start training", type="primary")

if submitted:
    cfg = TrainConfig(
        preset=preset, corpus=source, name=name.strip() or None, epochs=int(epochs), lr=float(lr),
        batch_size=int(batch), seq_len=None if seq_len is None else int(seq_len), optimizer=optimizer,
        patience=int(patience), max_train_chars=QUICK_CHARS if quick else None,
        min_count=None if min_count is None else int(min_count), command="Train page",
    )
    try:
        cfg.resolved()  # a preset that does not fit the corpus, or a bad setting: one sentence, nothing started
        if abc_files:
            save_uploads(abc_files)
            try:
                load_corpus(source)  # refuse uploads without tunes here, not in the background run
            except UserError as exc:
                raise UserError(str(exc).replace(source, "your upload")) from None
        job = jobs.start(cfg)
        st.success(f"Training {job.name} started.")
    except UserError as exc:
        st.error(str(exc))

running = any(job.state == jobs.RUNNING for job in jobs.list_jobs())


def _kind(job: jobs.JobStatus) -> str:
    """What the run learns from: ABC characters, MIDI tokens, or piano rolls."""
    preset = PRESETS.get(job.config.get("preset"))
    kind = preset.tokenizer.get("kind", "abc_chars") if preset else "abc_chars"
    return "abc" if kind == "abc_chars" else "roll" if kind == "pianoroll" else "tokens"


def _ready(job: jobs.JobStatus) -> str:
    """The DONE message with the held-out figure that fits the model."""
    m, nan = job.metrics, float("nan")
    acc = m.get("test_accuracy", nan)
    if "test_bpc" in m:
        return (f"Model {job.model} is ready: {m['test_bpc']:.3f} bits per character "
                f"and {acc:.1%} accuracy on held-out tunes.")
    loss = m.get("test_loss", nan)
    if _kind(job) == "roll":
        f1, silent = m.get("test_note_f1"), m.get("test_silent_accuracy")
        notes = f", note F1 {f1:.2f}" if f1 is not None else ""
        baseline = f"; silence everywhere gets {silent:.1%}" if silent is not None else ""
        return (f"Model {job.model} is ready: test loss {loss:.4f} (binary cross-entropy per piano-roll cell){notes} "
                f"and {acc:.1%} of cells right on held-out pieces{baseline}.")
    bits = m.get("test_bits_per_token", nan)
    return (f"Model {job.model} is ready: test loss {loss:.3f} nats per token ({bits:.3f} bits) "
            f"and {acc:.1%} accuracy per token on held-out pieces.")


@st.fragment(run_every=2 if running else None)
def runs() -> None:
    all_jobs = jobs.list_jobs()
    if not all_jobs:
        st.info("No training runs yet.")
        return
    for job in all_jobs:
        with st.container(border=True):
            votes = job.config.get("kind") == "preferences"
            corpus = str(job.config.get("corpus"))
            where = f"survey #{corpus}" if votes else PurePosixPath(corpus).name
            st.markdown(f"**{job.name}** · {job.config.get('preset')} on {where} · {job.state}")
            if job.state == jobs.RUNNING:
                loss = f", loss {job.loss:.3f}" if job.loss is not None else ""
                where_in = f"step {job.batch} of {job.batches or '?'}" if votes else (
                    f"epoch {job.epoch + 1} of {job.epochs}, batch {job.batch} of {job.batches or '?'}")
                st.progress(job.progress, text=f"{where_in}{loss}")
                if st.button("Cancel", key=f"cancel-{job.id}"):
                    jobs.cancel(job.id)
                    st.rerun(scope="fragment")
            elif job.state == jobs.DONE:
                st.success(_ready(job))
                st.page_link("pages/views/compose.py", label="Compose with it", icon=":material/music_note:")
            elif job.state == jobs.CANCELLED:
                st.warning("Cancelled: no model was saved.")
            else:
                st.error(job.error or "The run stopped.")
            if votes:
                st.caption(f"From survey #{job.config.get('corpus')}: {job.config.get('method', '').upper()}, "
                           f"beta {job.config.get('beta')}, {job.config.get('epochs')} epoch(s).")
            if job.history:
                curves = pd.DataFrame(job.history).set_index("epoch")
                st.line_chart(curves[["train_loss", "valid_loss"]], x_label="epoch",
                              y_label=f"loss ({LOSS_UNITS[_kind(job)]})")


learn_from_votes_form()
st.subheader("Runs")
runs()
