// watershed CPU driver: filled in by the watershed implementation.
