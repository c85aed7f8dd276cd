"""Training: the one loop, batching, distributed runs, background jobs, presets, checkpoints and cards."""
