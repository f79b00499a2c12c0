"""Model packages and the backends that run them."""
