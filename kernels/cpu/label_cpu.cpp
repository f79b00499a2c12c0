// label CPU driver: filled in by the label implementation.
