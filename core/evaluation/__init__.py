"""Evaluation: validity, novelty (copy check), music metrics, set comparison and the model table."""
