"""Listening surveys: clips, building a survey, response import/export and statistics."""
