"""Survey persistence: the blind listening tests' surveys, clips, participants and votes."""
