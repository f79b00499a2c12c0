// nms CUDA launchers: filled in by the nms implementation.
