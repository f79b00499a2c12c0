"""Placeholder until this op lands; replaced by its implementation."""



def roi_align(*args, **kwargs):
    raise NotImplementedError("roi_align is not implemented yet")


def multilevel_roi_align(*args, **kwargs):
    raise NotImplementedError("multilevel_roi_align is not implemented yet")
