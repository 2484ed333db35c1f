"""Training and search loops, hooks and optimiser pieces."""
