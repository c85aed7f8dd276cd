"""Inputs: ABC tune books, MIDI and score sources, parsing, stores, uploads and the Piece that flows on."""
