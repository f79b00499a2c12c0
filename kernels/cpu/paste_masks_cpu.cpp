// paste_masks CPU driver: filled in by the paste_masks implementation.
