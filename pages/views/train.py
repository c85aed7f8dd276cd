"""Train: learn a new model from a built-in tune book or your own ABC files, in the background."""

import pandas as pd
import streamlit as st

from core import jobs
from core.corpus import list_corpora, save_uploads
from core.errors import UserError
from core.presets import PRESETS
from core.training import TrainConfig

CHAR_PRESETS = [name for name, preset in PRESETS.items() if preset.family == "char_rnn"]
QUICK_CHARS = 50_000

st.title("Train")
st.caption("Training runs in the background on this machine: you can leave the page or reload it. "
           "Every finished model appears on Compose with its held-out figures.")

corpora = list_corpora()
with st.form("train"):
    corpus = st.selectbox("Tune book", list(corpora), format_func=lambda n: f"{n}: {corpora[n]}", key="corpus")
    uploads = st.file_uploader("…or your own ABC files (they replace the tune book)", type=["abc"],
                               accept_multiple_files=True, key="uploads")
    preset = st.selectbox("Network", CHAR_PRESETS, format_func=lambda n: f"{n}: {PRESETS[n].description}",
                          key="preset")
    name = st.text_input("Model name (letters, digits, '.', '_', '-')", key="name", max_chars=64,
                         placeholder="e.g. my-reels-lstm")
    c1, c2, c3, c4 = st.columns(4)
    epochs = c1.number_input("Epochs", 1, 500, 10, key="epochs")
    lr = c2.number_input("Learning rate (0: the preset's)", 0.0, 1.0, 0.0, format="%.4f", key="lr")
    batch = c3.number_input("Parallel streams", 1, 256, 16, key="batch_size")
    seq_len = c4.number_input("Characters per step", 8, 1024, 64, key="seq_len")
    quick = st.checkbox(f"Quick try: only the first {QUICK_CHARS:,} training characters", key="quick")
    submitted = st.form_submit_button("Start training", type="primary")

if submitted:
    try:
        source = str(save_uploads([(f.name, f.getvalue()) for f in uploads])) if uploads else corpus
        job = jobs.start(TrainConfig(
            preset=preset, corpus=source, name=name.strip() or None, epochs=int(epochs), lr=lr or None,
            batch_size=int(batch), seq_len=int(seq_len), max_train_chars=QUICK_CHARS if quick else None,
            command="Train page",
        ))
        st.success(f"Training {job.name} started.")
    except UserError as exc:
        st.error(str(exc))

running = any(job.state == jobs.RUNNING for job in jobs.list_jobs())


@st.fragment(run_every=2 if running else None)
def runs() -> None:
    all_jobs = jobs.list_jobs()
    if not all_jobs:
        st.info("No training runs yet.")
        return
    for job in all_jobs:
        with st.container(border=True):
            st.markdown(f"**{job.name}** · {job.config.get('preset')} on {job.config.get('corpus')} · {job.state}")
            if job.state == jobs.RUNNING:
                loss = f", loss {job.loss:.3f}" if job.loss is not None else ""
                st.progress(job.progress, text=f"epoch {job.epoch + 1} of {job.epochs}, "
                                               f"batch {job.batch} of {job.batches or '?'}{loss}")
                if st.button("Cancel", key=f"cancel-{job.id}"):
                    jobs.cancel(job.id)
                    st.rerun(scope="fragment")
            elif job.state == jobs.DONE:
                m = job.metrics
                st.success(f"Model {job.model} is ready: {m.get('test_bpc', float('nan')):.3f} bits per character "
                           f"and {m.get('test_accuracy', float('nan')):.1%} accuracy on held-out tunes.")
                st.page_link("pages/views/compose.py", label="Compose with it", icon=":material/music_note:")
            elif job.state == jobs.CANCELLED:
                st.warning("Cancelled: no model was saved.")
            else:
                st.error(job.error or "The run stopped.")
            if job.history:
                curves = pd.DataFrame(job.history).set_index("epoch")
                st.line_chart(curves[["train_loss", "valid_loss"]], x_label="epoch", y_label="loss (nats/char)")


st.subheader("Runs")
runs()
