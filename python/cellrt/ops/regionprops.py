"""Placeholder until this op lands; replaced by its implementation."""



def regionprops(*args, **kwargs):
    raise NotImplementedError("regionprops is not implemented yet")
