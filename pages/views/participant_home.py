"""The participant-only server's main page ("/"): the survey page itself, so that both ``/?s=...`` and the
documented ``/survey?s=...`` open the survey (a script listed twice in the navigation would make Streamlit say
"Page not found" for one of its two paths)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("survey.py")))
