"""TuneLab core: corpus -> tokenizer -> model -> checkpoint + card -> sampler -> piece -> audio."""

import contextlib
import io

# pyfluidsynth prints where it found its library to stdout whenever the CI variable is set,
# which would corrupt the CLI's JSON output; importing it once here, quietly, keeps stdout clean
# (pretty_midi imports it too). A missing library is reported when audio is asked for.
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(ImportError):
    import fluidsynth  # noqa: F401
