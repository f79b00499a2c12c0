// paste_masks CUDA launchers: filled in by the paste_masks implementation.
