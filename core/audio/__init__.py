"""Audio and pictures of a piece: FluidSynth rendering, notation (verovio) and piano rolls."""
