// regionprops CPU driver: filled in by the regionprops implementation.
