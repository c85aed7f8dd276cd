"""Streamlit pages: widgets and calls into core, nothing else."""
