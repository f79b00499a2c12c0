// nms CPU driver: filled in by the nms implementation.
