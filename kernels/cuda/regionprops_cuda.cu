// regionprops CUDA launchers: filled in by the regionprops implementation.
